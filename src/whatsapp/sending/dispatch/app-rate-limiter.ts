import type { Provider } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { Database, type SqlExecutor } from '../../../database/database';

/** Limits up to this many a second send one at a time, evenly spaced; see rateLimitShape. */
export const EVENLY_SPACED_UP_TO = 20;
/**
 * Room left for the time between a grant and the request's arrival at Gupshup (marking the
 * attempt started, the network): limit + 1 sends are at least 1 s plus this apart, so a request
 * held up by less than this cannot make a second at Gupshup hold one send too many.
 */
export const ARRIVAL_MARGIN_SECONDS = 0.05;
/** Wait after the limiter's own query failed, before trying again. */
const STORE_ERROR_RETRY_MS = 1000;

export interface RateLimitShape {
  /** Seconds between two sends, on average. */
  intervalSeconds: number;
  /** How many sends may go back to back after a quiet spell. */
  burst: number;
}

/**
 * Up to EVENLY_SPACED_UP_TO a second, no burst: two sends of an app are always at least
 * (1 s + margin) / limit apart. Above that, a burst of limit/20 (50 ms worth) lets several workers
 * send at once, and the spacing leaves room for it: any 1 s + margin still holds at most the limit.
 */
export function rateLimitShape(limitPerSecond: number): RateLimitShape {
  if (!(limitPerSecond > 0)) throw new Error('a rate limit must be a positive number a second');
  const burst = limitPerSecond <= EVENLY_SPACED_UP_TO ? 1 : Math.ceil(limitPerSecond / EVENLY_SPACED_UP_TO);
  // In a window of the limit + margin: the burst, then one send per interval after it.
  const spaced = burst === 1 ? limitPerSecond : limitPerSecond - burst + 1;
  return { intervalSeconds: (1 + ARRIVAL_MARGIN_SECONDS) / spaced, burst };
}

/** How many sends may go now; when none, how long to wait before asking again. */
export interface Permit {
  granted: number;
  retryInMs: number;
  /**
   * The slot each granted send was given on the database's clock (epoch ms): with a limit, n
   * sends an interval apart; none without. What the limit promises holds at these times exactly;
   * at Gupshup, within the margin the network and the process take.
   */
  slots: number[];
}

/**
 * The generic cell rate algorithm on one row per app: `tat` is when the app's bucket is empty
 * again. A send is allowed when pushing `tat` on by one interval keeps it within `burst`
 * intervals of now; the row lock orders concurrent senders and the database's clock times them,
 * so the limit holds across workers, instances and hosts whatever their own clocks say.
 * Up to `$4` sends are taken at once, as many as that rule allows at this instant: the same as
 * asking for them one after the other, in one round trip. "Now" is read from the locked row's
 * CTE, so after any wait for the lock, never before.
 * A bucket update lost in a crash had moved `tat` at most a burst past the crash, and the server
 * takes longer than that to come back: the statement's commit need not wait for its WAL flush.
 */
const ACQUIRE_SQL = `
  WITH locked AS MATERIALIZED (
    SELECT b.tat FROM whatsapp_rate_buckets b WHERE b.key = $1 FOR UPDATE),
  clock AS MATERIALIZED (
    SELECT l.tat, clock_timestamp() AS now, set_config('synchronous_commit', 'off', true) AS async_commit FROM locked l),
  offer AS MATERIALIZED (
    SELECT free_from, now,
           least($4::int, floor(extract(epoch FROM now + make_interval(secs => $3) - free_from) / extract(epoch FROM make_interval(secs => $2))))::int AS n
      FROM (SELECT greatest(tat, now) AS free_from, now FROM clock) AS c),
  taken AS (
    UPDATE whatsapp_rate_buckets b
       SET tat = o.free_from + make_interval(secs => $2) * o.n
      FROM offer o
     WHERE b.key = $1 AND o.n >= 1 AND o.free_from + make_interval(secs => $2) * o.n <= o.now + make_interval(secs => $3)
    RETURNING o.n)
  SELECT EXISTS (SELECT 1 FROM locked) AS found,
         coalesce((SELECT n FROM taken), 0) AS granted,
         (SELECT extract(epoch FROM free_from) * 1000 FROM offer)::float8 AS first_slot_ms,
         (SELECT extract(epoch FROM free_from + make_interval(secs => $2 - $3) - now) * 1000 FROM offer)::float8 AS wait_ms`;

/** An app's first send: its bucket starts empty, so up to a burst may go. */
const CREATE_SQL = `
  INSERT INTO whatsapp_rate_buckets (key, tat)
  VALUES ($1, clock_timestamp() + make_interval(secs => $2) * $3::int)
  ON CONFLICT (key) DO NOTHING
  RETURNING $3::int AS granted, extract(epoch FROM clock_timestamp()) * 1000 AS first_slot_ms`;

/** n slots an interval apart from the first. */
function slotsFrom(firstMs: number, n: number, intervalSeconds: number): number[] {
  return Array.from({ length: n }, (_, k) => firstMs + k * intervalSeconds * 1000);
}

/** GUPSHUP_RATE_LIMIT messages a second per app, shared by every worker of every instance. */
export class AppRateLimiter {
  readonly shape?: RateLimitShape;

  constructor(
    private readonly db: SqlExecutor,
    limitPerSecond: number,
  ) {
    if (limitPerSecond > 0) this.shape = rateLimitShape(limitPerSecond);
  }

  /** Up to `wanted` sends for the app now, or how long to wait before asking again. */
  async tryAcquire(appId: string, wanted = 1): Promise<Permit> {
    if (!this.shape) return { granted: wanted, retryInMs: 0, slots: [] };
    const { intervalSeconds, burst } = this.shape;
    const key = `gupshup_whatsapp:${appId}`;
    try {
      for (;;) {
        const [row] = await this.db.query<{ found: boolean; granted: number; first_slot_ms: number | null; wait_ms: number | null }>(ACQUIRE_SQL, [
          key,
          intervalSeconds,
          intervalSeconds * burst,
          wanted,
        ]);
        if (row.granted > 0) return { granted: row.granted, retryInMs: 0, slots: slotsFrom(Number(row.first_slot_ms), row.granted, intervalSeconds) };
        if (row.found) return { granted: 0, retryInMs: Math.max(1, Math.ceil(Number(row.wait_ms ?? 1))), slots: [] };
        const [created] = await this.db.query<{ granted: number; first_slot_ms: number }>(CREATE_SQL, [key, intervalSeconds, Math.min(wanted, burst)]);
        if (created) return { granted: created.granted, retryInMs: 0, slots: slotsFrom(Number(created.first_slot_ms), created.granted, intervalSeconds) };
        // Another worker created the bucket meanwhile: ask it like any other time.
      }
    } catch {
      // The database is unreachable: hold the send rather than exceed the limit.
      return { granted: 0, retryInMs: STORE_ERROR_RETRY_MS, slots: [] };
    }
  }
}

/** The dispatcher's limiter, at GUPSHUP_RATE_LIMIT. */
export const appRateLimiterProvider: Provider = {
  provide: AppRateLimiter,
  useFactory: (db: Database, config: AppConfig) => new AppRateLimiter(db, config.get('GUPSHUP_RATE_LIMIT')),
  inject: [Database, AppConfig],
};
