import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Database, type SqlExecutor } from '../database/database';
import { EventStore } from '../event-store/event-store';
import { generateApiKey, generateApiSecret, hashSecret, verifySecret } from './app-credentials';
import { AppCreated, appStreamId } from './app-events';
import { VerifiedCredentialsCache } from './auth/verified-credentials-cache';
import { CallbackTokenService } from './callback-tokens/callback-token.service';

/** The app a request authenticated as. */
export interface AuthenticatedApp {
  id: string;
  name: string;
  apiKey: string;
}

/** An app as listed: no secret, so no callback URL (it holds the callback token). */
export interface AppSummary extends AuthenticatedApp {
  createdAt: string;
}

/** What creating an app answers: the only time its secret is ever shown. */
export interface CreatedApp {
  id: string;
  name: string;
  apiKey: string;
  apiSecret: string;
  callbackUrl: string;
  createdAt: string;
}

interface AppRow {
  id: string;
  name: string;
  api_key: string;
  created_at: Date;
}

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class AppsService {
  private readonly verified = new VerifiedCredentialsCache<AuthenticatedApp>();
  /** Checks under way, so that a burst of requests with the same new pair runs scrypt once. */
  private readonly inFlight = new Map<string, Promise<AuthenticatedApp | null>>();
  /** Compared against when the API key is unknown, so that an unknown key costs the same time as a wrong secret. */
  private unknownKeyHash?: Promise<string>;

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly callbackTokens: CallbackTokenService,
  ) {}

  /**
   * Creates an app with a fresh API key and secret and its first callback token. The row, its
   * token and their events commit together; only a scrypt hash of the secret is stored.
   */
  async create(name: string, via: 'admin-api' | 'cli' | 'command-bus' = 'admin-api'): Promise<CreatedApp> {
    const apiSecret = generateApiSecret();
    const secretHash = await hashSecret(apiSecret);
    for (let attempt = 1; ; attempt++) {
      const id = randomUUID();
      const apiKey = generateApiKey();
      try {
        const { createdAt, callbackToken } = await this.db.transaction(async (tx) => {
          const [row] = await tx.query<{ created_at: Date }>(
            'INSERT INTO apps (id, name, api_key, secret_hash) VALUES ($1, $2, $3, $4) RETURNING created_at',
            [id, name, apiKey, secretHash],
          );
          const createdAt = row.created_at.toISOString();
          await this.store.append(appStreamId(id), [new AppCreated({ appId: id, name, apiKey, createdAt, via })], {
            expectedVersion: 'no_stream',
            tx,
          });
          const callbackToken = await this.callbackTokens.issueFirst(tx, id, via === 'cli' ? { type: 'system' } : { type: 'admin' });
          return { createdAt, callbackToken };
        });
        return { id, name, apiKey, apiSecret, callbackUrl: this.callbackTokens.callbackUrlWith(apiKey, callbackToken), createdAt };
      } catch (error) {
        // 192 random bits make a clash practically impossible; should one happen, draw again.
        if ((error as { code?: string }).code !== UNIQUE_VIOLATION || attempt >= 3) throw error;
      }
    }
  }

  async list(): Promise<AppSummary[]> {
    const rows = await this.db.query<AppRow>('SELECT id, name, api_key, created_at FROM apps ORDER BY created_at, id');
    return rows.map((row) => ({ ...toApp(row), createdAt: row.created_at.toISOString() }));
  }

  async findByApiKey(apiKey: string, tx?: SqlExecutor): Promise<AuthenticatedApp | null> {
    const [row] = await (tx ?? this.db).query<AppRow>('SELECT id, name, api_key, created_at FROM apps WHERE api_key = $1', [apiKey]);
    return row ? toApp(row) : null;
  }

  async findById(id: string, tx?: SqlExecutor): Promise<AuthenticatedApp | null> {
    const [row] = await (tx ?? this.db).query<AppRow>('SELECT id, name, api_key, created_at FROM apps WHERE id = $1', [id]);
    return row ? toApp(row) : null;
  }

  /**
   * The app these credentials belong to, or null. The secret is checked with scrypt and a
   * constant-time comparison of the hashes, also when the key is unknown (against a dummy hash),
   * so the answer's timing tells nothing about which part was wrong.
   */
  async authenticate(apiKey: string, apiSecret: string): Promise<AuthenticatedApp | null> {
    const cacheKey = VerifiedCredentialsCache.keyOf(apiKey, apiSecret);
    const cached = this.verified.get(cacheKey);
    if (cached) return cached;
    let check = this.inFlight.get(cacheKey);
    if (!check) {
      check = this.verify(apiKey, apiSecret).finally(() => this.inFlight.delete(cacheKey));
      this.inFlight.set(cacheKey, check);
    }
    const app = await check;
    if (app) this.verified.set(cacheKey, app);
    return app;
  }

  private async verify(apiKey: string, apiSecret: string): Promise<AuthenticatedApp | null> {
    const [row] = await this.db.query<AppRow & { secret_hash: string }>(
      'SELECT id, name, api_key, secret_hash, created_at FROM apps WHERE api_key = $1',
      [apiKey],
    );
    this.unknownKeyHash ??= hashSecret(generateApiSecret());
    const matches = await verifySecret(apiSecret, row?.secret_hash ?? (await this.unknownKeyHash));
    return row && matches ? toApp(row) : null;
  }
}

function toApp(row: AppRow): AuthenticatedApp {
  return { id: row.id, name: row.name, apiKey: row.api_key };
}
