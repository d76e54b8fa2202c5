import { BadRequestException, Injectable } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { Database, type SqlExecutor } from '../database/database';
import { EventStore } from '../event-store/event-store';
import { UserDeleted, UserProfileUpdated, userStreamId } from './user-events';
import { identifierError } from './user-identifier';
import { applyProfilePatch, parseProfilePatch, profileSizeError, ProfileValidationError, type JsonValue } from './user-profile';

/** A user as the API shows it: identifier, phoneNumber (null when unset), then every other profile field. */
export type User = { identifier: string; phoneNumber: string | null } & Record<string, JsonValue>;

/** A bad identifier or profile: answered 400 with `message` when it reaches an HTTP response. */
export class InvalidUserError extends BadRequestException {}

interface UserRow {
  identifier: string;
  phone_number: string | null;
  profile: Record<string, JsonValue>;
}

function toUser(row: UserRow): User {
  return { identifier: row.identifier, phoneNumber: row.phone_number, ...row.profile } as User;
}

/** The profile as one record, for comparing before and after: phoneNumber as a field when set. */
function withPhone(profile: Record<string, JsonValue>, phoneNumber: string | null): Record<string, JsonValue> {
  return phoneNumber === null ? profile : { ...profile, phoneNumber };
}

@Injectable()
export class UsersService {
  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
  ) {}

  /**
   * Creates or updates a user of the app and returns it as stored. Fields not in `profile` are
   * kept; a field sent as null is removed (`phoneNumber: null` clears the phone number). The row
   * and a UserProfileUpdated event (only when something changed) commit together, in `tx` when
   * given. Throws InvalidUserError (a 400) for a bad identifier or profile; nothing is written then.
   * `appId` must be an existing app.
   */
  async upsert(appId: string, identifier: string, profile: unknown, tx?: SqlExecutor): Promise<User> {
    const badIdentifier = identifierError(identifier);
    if (badIdentifier) throw new InvalidUserError(badIdentifier);
    let patch;
    try {
      patch = parseProfilePatch(profile, identifier);
    } catch (error) {
      if (error instanceof ProfileValidationError) throw new InvalidUserError(error.message);
      throw error;
    }
    const work = async (executor: SqlExecutor): Promise<User> => {
      // Nothing is written before every check passed, so a caller that catches InvalidUserError
      // inside its own transaction is left with no partial user.
      for (;;) {
        const [current] = await executor.query<UserRow>(
          'SELECT identifier, phone_number, profile FROM users WHERE app_id = $1 AND identifier = $2 FOR UPDATE',
          [appId, identifier],
        );
        const base = current ? { phoneNumber: current.phone_number, profile: current.profile } : { phoneNumber: null, profile: {} };
        const next = applyProfilePatch(base, patch);
        const tooBig = profileSizeError(next.profile, next.phoneNumber);
        if (tooBig) throw new InvalidUserError(tooBig);

        const before = withPhone(base.profile, base.phoneNumber);
        const after = withPhone(next.profile, next.phoneNumber);
        const set = Object.fromEntries(Object.entries(after).filter(([name, value]) => !isDeepStrictEqual(before[name], value)));
        const removed = Object.keys(before).filter((name) => !(name in after));
        if (current && Object.keys(set).length === 0 && removed.length === 0) return toUser(current);

        const [saved] = current
          ? await executor.query<UserRow & { updated_at: Date }>(
              `UPDATE users SET phone_number = $3, profile = $4, updated_at = now() WHERE app_id = $1 AND identifier = $2
               RETURNING identifier, phone_number, profile, updated_at`,
              [appId, identifier, next.phoneNumber, JSON.stringify(next.profile)],
            )
          : await executor.query<UserRow & { updated_at: Date }>(
              `INSERT INTO users (app_id, identifier, phone_number, profile) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING RETURNING identifier, phone_number, profile, updated_at`,
              [appId, identifier, next.phoneNumber, JSON.stringify(next.profile)],
            );
        // Created meanwhile by a concurrent request: apply the patch to that user instead.
        if (!saved) continue;
        await this.store.append(
          userStreamId(appId, identifier),
          [new UserProfileUpdated({ appId, identifier, created: !current, set, removed, at: saved.updated_at.toISOString() })],
          { tx: executor },
        );
        return toUser(saved);
      }
    };
    return tx ? work(tx) : this.db.transaction(work);
  }

  /**
   * Deletes the user with its profile; the row and a UserDeleted event commit together. True when
   * there was such a user; deleting one that does not exist changes nothing.
   */
  async delete(appId: string, identifier: string): Promise<boolean> {
    if (identifierError(identifier)) return false;
    return this.db.transaction(async (tx) => {
      const [deleted] = await tx.query<{ deleted_at: Date }>(
        'DELETE FROM users WHERE app_id = $1 AND identifier = $2 RETURNING now() AS deleted_at',
        [appId, identifier],
      );
      if (!deleted) return false;
      await this.store.append(userStreamId(appId, identifier), [new UserDeleted({ appId, identifier, at: deleted.deleted_at.toISOString() })], { tx });
      return true;
    });
  }

  /** The user, or null when the app has no user with this identifier (or the identifier is not a valid one). */
  async get(appId: string, identifier: string, tx?: SqlExecutor): Promise<User | null> {
    if (identifierError(identifier)) return null;
    const [row] = await (tx ?? this.db).query<UserRow>('SELECT identifier, phone_number, profile FROM users WHERE app_id = $1 AND identifier = $2', [
      appId,
      identifier,
    ]);
    return row ? toUser(row) : null;
  }
}
