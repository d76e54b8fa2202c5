import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
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

/** Where a credential check is, for the log line of one that is stuck. */
type CheckStage = 'reading the app' | 'hashing the secret';

@Injectable()
export class AppsService {
  private readonly logger = new Logger('Apps');
  private readonly verified = new VerifiedCredentialsCache<AuthenticatedApp>();
  /** Checks under way, so that a burst of requests with the same new pair runs scrypt once. */
  private readonly inFlight = new Map<string, Promise<AuthenticatedApp | null>>();
  /** Compared against when the API key is unknown, so that an unknown key costs the same time as a wrong secret. */
  private unknownKeyHash?: Promise<string>;
  /**
   * A credential check takes milliseconds (one read, one scrypt hash in libuv's thread pool). One
   * still running after this is stuck: the requests sharing it are answered 503, and the next
   * request starts a check of its own rather than wait behind it.
   */
  private readonly checkPatienceMs: number;

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly callbackTokens: CallbackTokenService,
    config: AppConfig,
  ) {
    this.checkPatienceMs = config.get('CREDENTIAL_CHECK_TIMEOUT_MS');
  }

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
      check = this.checkWithPatience(apiKey, apiSecret, cacheKey);
      this.inFlight.set(cacheKey, check);
    }
    const app = await check;
    if (app) this.verified.set(cacheKey, app);
    return app;
  }

  /** verify(), shared by the requests that come while it runs, and given up on when stuck. */
  private checkWithPatience(apiKey: string, apiSecret: string, cacheKey: string): Promise<AuthenticatedApp | null> {
    const progress: { stage: CheckStage; appId?: string } = { stage: 'reading the app' };
    const startedAt = Date.now();
    let stuck = false;
    let timer: NodeJS.Timeout | undefined;
    const verifying = this.verify(apiKey, apiSecret, progress);
    const patience = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stuck = true;
        this.inFlight.delete(cacheKey);
        const { totalCount, idleCount, waitingCount } = this.db.pool;
        this.logger.warn({
          message: `an API credential check has run for over ${this.checkPatienceMs} ms, ${progress.stage}: the requests waiting for it are answered 503, the next one checks again`,
          stage: progress.stage,
          ...(progress.appId && { checkedAppId: progress.appId }),
          pool: { total: totalCount, idle: idleCount, waiting: waitingCount },
        });
        reject(new ServiceUnavailableException('Checking your API credentials is taking too long right now; send the request again shortly'));
      }, this.checkPatienceMs);
    });
    verifying.then(
      () => stuck && this.logger.warn({ message: `a stuck API credential check ended after ${Date.now() - startedAt} ms`, stage: progress.stage }),
      () => undefined,
    );
    return Promise.race([verifying, patience]).finally(() => {
      clearTimeout(timer);
      if (!stuck) this.inFlight.delete(cacheKey);
    });
  }

  private async verify(apiKey: string, apiSecret: string, progress: { stage: CheckStage; appId?: string }): Promise<AuthenticatedApp | null> {
    const [row] = await this.db.query<AppRow & { secret_hash: string }>(
      'SELECT id, name, api_key, secret_hash, created_at FROM apps WHERE api_key = $1',
      [apiKey],
    );
    progress.stage = 'hashing the secret';
    progress.appId = row?.id;
    this.unknownKeyHash ??= hashSecret(generateApiSecret());
    const matches = await verifySecret(apiSecret, row?.secret_hash ?? (await this.unknownKeyHash));
    return row && matches ? toApp(row) : null;
  }
}

function toApp(row: AppRow): AuthenticatedApp {
  return { id: row.id, name: row.name, apiKey: row.api_key };
}
