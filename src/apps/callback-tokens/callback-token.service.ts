import { Injectable, Logger, NotFoundException, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { Database, type SqlExecutor } from '../../database/database';
import { EventStore } from '../../event-store/event-store';
import { appStreamId } from '../app-events';
import { CredentialCipher, CredentialDecryptionError } from '../providers/credential-cipher';
import { callbackTokenFingerprint, generateCallbackToken, hashCallbackToken, matchesOneOf } from './callback-token';
import { CallbackTokenIssued, CallbackTokenRotated, LegacyCallbackUrlSet, type CallbackTokenActor } from './callback-token.events';
import { CallbackTokenMetrics } from './callback-token.metrics';

/**
 * What a callback's URL proves: `authenticated`, it carries a token of the app that is current or
 * within its grace period; `legacy`, it carries no token and the app accepts the old URL;
 * `refused`, anything else.
 */
export type CallbackVerdict = 'authenticated' | 'legacy' | 'refused';

/** The webhook's path for an app; the callback URL adds the token to it. */
export function webhookPath(apiKey: string): string {
  return `/api/v1/apps/${encodeURIComponent(apiKey)}/webhook/gupshup_whatsapp`;
}

/** What the webhook needs of an app, held in memory. */
interface AppTokenState {
  /** Hashes of the tokens that work, each until when (ms since the epoch; Infinity for the current one). */
  tokens: { hash: Buffer; validUntil: number }[];
  acceptLegacy: boolean;
  loadedAt: number;
}

/** Longer than any token this service hands out: refused without hashing. */
const MAX_TOKEN_LENGTH = 200;
/** A refused token is checked against the database again at most this often per app, so a token rotated by another instance works at once. */
const RELOAD_REFUSED_AFTER_MS = 1000;
const MAX_CACHED_APPS = 10_000;

/**
 * Each app's callback tokens: issuing, rotating, the legacy-URL setting, the callback URL, and
 * the check the webhook makes on every callback.
 *
 * The check is answered from memory: the hashes of an app's working tokens are cached for
 * CALLBACK_TOKEN_CACHE_TTL_MS and dropped at once on this instance when they change here. Another
 * instance sees a change within the TTL; a token it does not know yet (rotated elsewhere) makes
 * it look again, at most once a second per app, so that forged callbacks cannot load the database.
 */
@Injectable()
export class CallbackTokenService implements OnApplicationBootstrap {
  private readonly logger = new Logger('CallbackTokens');
  private readonly states = new Map<string, AppTokenState>();
  private readonly loads = new Map<string, Promise<AppTokenState | null>>();
  /** Counts `forget` calls: a load that began before one may have read the state before the change, and is not kept. */
  private changes = 0;
  private readonly graceMs: number;
  private readonly cacheTtlMs: number;

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly cipher: CredentialCipher,
    private readonly metrics: CallbackTokenMetrics,
    private readonly config: AppConfig,
  ) {
    this.graceMs = Math.round(config.get('CALLBACK_TOKEN_GRACE_HOURS') * 3_600_000);
    this.cacheTtlMs = config.get('CALLBACK_TOKEN_CACHE_TTL_MS');
  }

  /** Apps created before callback tokens existed get their first one here (idempotent, safe with several instances starting). */
  async onApplicationBootstrap(): Promise<void> {
    const missing = await this.db.query<{ id: string }>(
      'SELECT a.id FROM apps a WHERE NOT EXISTS (SELECT 1 FROM app_callback_tokens t WHERE t.app_id = a.id AND t.retired_at IS NULL) ORDER BY a.created_at',
    );
    for (const { id } of missing) await this.db.transaction((tx) => this.currentToken(tx, id, 'backfill'));
    if (missing.length) this.logger.log({ message: `issued a callback token to ${missing.length} app(s) created before callback tokens`, apps: missing.length });
  }

  /** `{PUBLIC_BASE_URL}/api/v1/apps/{apiKey}/webhook/gupshup_whatsapp?token={token}`. */
  callbackUrlWith(apiKey: string, token: string): string {
    return `${this.config.publicBaseUrl}${webhookPath(apiKey)}?token=${token}`;
  }

  /** The app's callback URL with its current token (issuing one if it has none yet). */
  async callbackUrl(app: { id: string; apiKey: string }, tx?: SqlExecutor): Promise<string> {
    const token = tx ? await this.currentToken(tx, app.id, 'backfill') : await this.db.transaction((own) => this.currentToken(own, app.id, 'backfill'));
    return this.callbackUrlWith(app.apiKey, token);
  }

  /** Issues the first token of an app just created, in its creating transaction. */
  async issueFirst(tx: SqlExecutor, appId: string, actor: CallbackTokenActor): Promise<string> {
    return this.currentToken(tx, appId, 'app_created', actor);
  }

  /**
   * Replaces the app's current token; the previous one keeps working for
   * CALLBACK_TOKEN_GRACE_HOURS. Answers the new callback URL.
   */
  async rotate(app: { id: string; apiKey: string }, actor: CallbackTokenActor): Promise<string> {
    const token = await this.db.transaction(async (tx) => {
      await this.lockApp(tx, app.id);
      return this.rotateInTransaction(tx, app.id, actor, 'requested');
    });
    this.forget(app.id);
    this.logger.log({ message: 'callback token rotated', appId: app.id, graceHours: this.config.get('CALLBACK_TOKEN_GRACE_HOURS') });
    return this.callbackUrlWith(app.apiKey, token);
  }

  private async rotateInTransaction(tx: SqlExecutor, appId: string, actor: CallbackTokenActor, reason: 'requested' | 'undecryptable'): Promise<string> {
    const [previous] = await tx.query<{ id: string; token_hash: Buffer; retired_at: Date }>(
      'UPDATE app_callback_tokens SET retired_at = now() WHERE app_id = $1 AND retired_at IS NULL RETURNING id::text, token_hash, retired_at',
      [appId],
    );
    const issued = await this.insertToken(tx, appId);
    await this.store.append(appStreamId(appId), [
      new CallbackTokenRotated({
        appId,
        tokenId: issued.id,
        fingerprint: issued.fingerprint,
        previousTokenId: previous?.id ?? null,
        previousFingerprint: previous ? callbackTokenFingerprint(previous.token_hash) : null,
        previousValidUntil: previous ? new Date(previous.retired_at.getTime() + this.graceMs).toISOString() : null,
        reason,
        actor,
        at: issued.createdAt.toISOString(),
      }),
    ], { tx });
    return issued.token;
  }

  /**
   * Whether the app also accepts callbacks on the URL without a token. Runs in the caller's
   * transaction; call `forget` once it has committed. Answers whether the setting changed.
   */
  async setAcceptLegacy(tx: SqlExecutor, appId: string, accept: boolean, actor: CallbackTokenActor): Promise<boolean> {
    const [row] = await tx.query<{ previously: boolean }>('SELECT accept_legacy_callback_url AS previously FROM apps WHERE id = $1 FOR NO KEY UPDATE', [appId]);
    if (!row) throw new NotFoundException(`App ${appId} does not exist`);
    if (row.previously === accept) return false;
    await tx.query('UPDATE apps SET accept_legacy_callback_url = $2 WHERE id = $1', [appId, accept]);
    await this.store.append(appStreamId(appId), [new LegacyCallbackUrlSet({ appId, accept, previously: row.previously, actor, at: new Date().toISOString() })], { tx });
    return true;
  }

  async acceptsLegacy(appId: string, tx?: SqlExecutor): Promise<boolean> {
    const [row] = await (tx ?? this.db).query<{ accept: boolean }>('SELECT accept_legacy_callback_url AS accept FROM apps WHERE id = $1', [appId]);
    return row?.accept ?? false;
  }

  /** Drops what this instance remembers of the app's tokens and settings. */
  forget(appId: string): void {
    this.changes++;
    this.states.delete(appId);
    this.loads.delete(appId);
  }

  /**
   * The check made on every callback of a known app. `token` is the query parameter as parsed
   * (undefined when absent; an array when repeated, which is refused). Answered from memory
   * unless the app's entry is older than the cache TTL.
   */
  async check(appId: string, token: unknown): Promise<CallbackVerdict> {
    let state = await this.stateOf(appId);
    let verdict = state ? judge(state, token, Date.now()) : 'refused';
    if (verdict === 'refused' && typeof token === 'string' && (!state || Date.now() - state.loadedAt >= RELOAD_REFUSED_AFTER_MS)) {
      state = await this.load(appId);
      verdict = state ? judge(state, token, Date.now()) : 'refused';
    }
    this.metrics.count(verdict);
    return verdict;
  }

  private async stateOf(appId: string): Promise<AppTokenState | null> {
    const cached = this.states.get(appId);
    if (cached && Date.now() - cached.loadedAt < this.cacheTtlMs) return cached;
    return this.load(appId);
  }

  /** Concurrent loads of one app share one query. */
  private load(appId: string): Promise<AppTokenState | null> {
    const pending = this.loads.get(appId);
    if (pending) return pending;
    const load: Promise<AppTokenState | null> = this.query(appId).finally(() => {
      if (this.loads.get(appId) === load) this.loads.delete(appId);
    });
    this.loads.set(appId, load);
    return load;
  }

  private async query(appId: string): Promise<AppTokenState | null> {
    const loadedAt = Date.now();
    const changesBefore = this.changes;
    const rows = await this.db.query<{ accept_legacy: boolean; token_hash: Buffer | null; retired_at: Date | null }>(
      `SELECT a.accept_legacy_callback_url AS accept_legacy, t.token_hash, t.retired_at
         FROM apps a
         LEFT JOIN app_callback_tokens t ON t.app_id = a.id AND (t.retired_at IS NULL OR t.retired_at > now() - make_interval(secs => $2::float8 / 1000))
        WHERE a.id = $1`,
      [appId, this.graceMs],
    );
    if (rows.length === 0) return null;
    const state: AppTokenState = {
      acceptLegacy: rows[0].accept_legacy,
      tokens: rows
        .filter((row) => row.token_hash !== null)
        .map((row) => ({ hash: row.token_hash!, validUntil: row.retired_at ? row.retired_at.getTime() + this.graceMs : Infinity })),
      loadedAt,
    };
    if (this.changes !== changesBefore) return state;
    this.states.delete(appId);
    // Maps iterate in insertion order: the first entry is the one stored longest ago.
    if (this.states.size >= MAX_CACHED_APPS) this.states.delete(this.states.keys().next().value!);
    this.states.set(appId, state);
    return state;
  }

  /**
   * The app's current token, decrypted; issued (with its event) when the app has none. A current
   * token that no longer decrypts (SECRET_KEY changed) cannot be shown: it is rotated, and keeps
   * working for the grace period, so that the callback URL can be set again at Gupshup.
   */
  private async currentToken(tx: SqlExecutor, appId: string, reason: 'app_created' | 'backfill', actor: CallbackTokenActor = { type: 'system' }): Promise<string> {
    const current = await this.findCurrent(tx, appId);
    if (current) return this.decryptOrRotate(tx, appId, current.token_encrypted);
    const issued = await this.insertToken(tx, appId, true);
    if (!issued) {
      // Another transaction issued it first (two instances starting at once): that one is the token.
      const winner = await this.findCurrent(tx, appId);
      return this.decryptOrRotate(tx, appId, winner!.token_encrypted);
    }
    await this.store.append(appStreamId(appId), [
      new CallbackTokenIssued({ appId, tokenId: issued.id, fingerprint: issued.fingerprint, reason, actor, at: issued.createdAt.toISOString() }),
    ], { tx });
    return issued.token;
  }

  private async findCurrent(tx: SqlExecutor, appId: string): Promise<{ token_encrypted: string } | undefined> {
    const [row] = await tx.query<{ token_encrypted: string }>('SELECT token_encrypted FROM app_callback_tokens WHERE app_id = $1 AND retired_at IS NULL', [appId]);
    return row;
  }

  private async decryptOrRotate(tx: SqlExecutor, appId: string, encrypted: string): Promise<string> {
    try {
      return this.cipher.decrypt(encrypted, cipherContext(appId));
    } catch (error) {
      if (!(error instanceof CredentialDecryptionError)) throw error;
      this.logger.warn({
        message: `the callback token cannot be decrypted (${error.message}); a new one is issued: set the new callback URL at Gupshup, the old one works for CALLBACK_TOKEN_GRACE_HOURS`,
        appId,
      });
      await this.lockApp(tx, appId);
      const token = await this.rotateInTransaction(tx, appId, { type: 'system' }, 'undecryptable');
      this.forget(appId);
      return token;
    }
  }

  private insertToken(tx: SqlExecutor, appId: string): Promise<IssuedToken>;
  private insertToken(tx: SqlExecutor, appId: string, unlessCurrentExists: true): Promise<IssuedToken | null>;
  private async insertToken(tx: SqlExecutor, appId: string, unlessCurrentExists = false): Promise<IssuedToken | null> {
    const token = generateCallbackToken();
    const hash = hashCallbackToken(token);
    const [row] = await tx.query<{ id: string; created_at: Date }>(
      `INSERT INTO app_callback_tokens (app_id, token_hash, token_encrypted) VALUES ($1, $2, $3)
       ${unlessCurrentExists ? 'ON CONFLICT (app_id) WHERE retired_at IS NULL DO NOTHING' : ''}
       RETURNING id::text, created_at`,
      [appId, hash, this.cipher.encrypt(token, cipherContext(appId))],
    );
    if (!row) return null;
    return { id: row.id, token, fingerprint: callbackTokenFingerprint(hash), createdAt: row.created_at };
  }

  private async lockApp(tx: SqlExecutor, appId: string): Promise<void> {
    const locked = await tx.query('SELECT 1 FROM apps WHERE id = $1 FOR NO KEY UPDATE', [appId]);
    if (!locked.length) throw new NotFoundException(`App ${appId} does not exist`);
  }
}

interface IssuedToken {
  id: string;
  token: string;
  fingerprint: string;
  createdAt: Date;
}

function judge(state: AppTokenState, token: unknown, now: number): CallbackVerdict {
  if (token === undefined) return state.acceptLegacy ? 'legacy' : 'refused';
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return 'refused';
  const working = state.tokens.filter((t) => t.validUntil > now).map((t) => t.hash);
  return matchesOneOf(hashCallbackToken(token), working) ? 'authenticated' : 'refused';
}

/** Binds each encrypted token to its app. */
function cipherContext(appId: string): string {
  return `${appId}:callback_token`;
}
