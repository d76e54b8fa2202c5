import type { SqlExecutor } from '../../../database/database';

/** Limits up to this many a second send one at a time, evenly spaced; see rateLimitShape. */
export const EVENLY_SPACED_UP_TO = 20;
/** Wait after the limiter's own query failed, before trying again. */
const STORE_ERROR_RETRY_MS = 1000;

export interface RateLimitShape {
  /** Seconds between two sends, on average: 1/limit. */
  intervalSeconds: number;
  /** How many sends may go back to back after a quiet spell. */
  burst: number;
}

/**
 * Up to EVENLY_SPACED_UP_TO a second, no burst: two sends of an app are always at least 1/limit
 * seconds apart, so no second ever holds more than the limit. Above that, a burst of limit/20
 * (50 ms worth) lets several workers send at once; any second then holds at most limit + burst - 1.
 */
export function rateLimitShape(limitPerSecond: number): RateLimitShape {
  if (!(limitPerSecond > 0)) throw new Error('a rate limit must be a positive number a second');
  return {
    intervalSeconds: 1 / limitPerSecond,
    burst: limitPerSecond <= EVENLY_SPACED_UP_TO ? 1 : Math.ceil(limitPerSecond / EVENLY_SPACED_UP_TO),
  };
}

export type Permit = { granted: true } | { granted: false; retryInMs: number };

/**
 * The generic cell rate algorithm on one row per app: `tat` is when the app's bucket is empty
 * again. A send is allowed when pushing `tat` on by one interval keeps it within `burst`
 * intervals of now; the row lock orders concurrent senders and the database's clock times them,
 * so the limit holds across workers, instances and hosts whatever their own clocks say.
 */
const ACQUIRE_SQL = `
  WITH taken AS (
    INSERT INTO whatsapp_rate_buckets AS b (key, tat)
    VALUES ($1, clock_timestamp() + make_interval(secs => $2))
    ON CONFLICT (key) DO UPDATE
       SET tat = greatest(b.tat, clock_timestamp()) + make_interval(secs => $2)
     WHERE greatest(b.tat, clock_timestamp()) + make_interval(secs => $2) <= clock_timestamp() + make_interval(secs => $3)
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM taken) AS granted,
         (SELECT extract(epoch FROM b.tat + make_interval(secs => $2 - $3) - clock_timestamp()) * 1000
            FROM whatsapp_rate_buckets b WHERE b.key = $1) AS wait_ms`;

/** GUPSHUP_RATE_LIMIT messages a second per app, shared by every worker of every instance. */
export class AppRateLimiter {
  readonly shape?: RateLimitShape;

  constructor(
    private readonly db: SqlExecutor,
    limitPerSecond: number,
  ) {
    if (limitPerSecond > 0) this.shape = rateLimitShape(limitPerSecond);
  }

  /** One send for the app now, or how long to wait before asking again. */
  async tryAcquire(appId: string): Promise<Permit> {
    if (!this.shape) return { granted: true };
    const { intervalSeconds, burst } = this.shape;
    try {
      const [row] = await this.db.query<{ granted: boolean; wait_ms: number | null }>(ACQUIRE_SQL, [
        `gupshup_whatsapp:${appId}`,
        intervalSeconds,
        intervalSeconds * burst,
      ]);
      if (row.granted) return { granted: true };
      return { granted: false, retryInMs: Math.max(1, Math.ceil(Number(row.wait_ms ?? 1))) };
    } catch {
      // The database is unreachable: hold the send rather than exceed the limit.
      return { granted: false, retryInMs: STORE_ERROR_RETRY_MS };
    }
  }
}
