import { Pool } from 'pg';
import { Database } from '../../src/database/database';
import { AppRateLimiter } from '../../src/whatsapp/sending/dispatch/app-rate-limiter';
import { eventually } from '../support/eventually';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/**
 * The limiter hands out several sends in one round trip: as many as asking for them one by one
 * at that instant would give, never more. The bucket's state is set directly, so that what it
 * holds is known; time passing between setting it and asking is allowed for.
 */
describe('dispatch: the rate bucket takes several sends at once', () => {
  let database: TestDatabase;
  let pool: Pool;
  let db: Database;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new Pool({ connectionString: database.url, max: 8 });
    db = new Database(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  /** Sets the app's bucket empty again `msFromNow` from now (negative: full); returns when it was set. */
  async function setBucket(appId: string, msFromNow: number): Promise<number> {
    const setAt = Date.now();
    await db.query(
      `INSERT INTO whatsapp_rate_buckets (key, tat) VALUES ($1, clock_timestamp() + make_interval(secs => $2::float8 / 1000))
       ON CONFLICT (key) DO UPDATE SET tat = EXCLUDED.tat`,
      [`gupshup_whatsapp:${appId}`, msFromNow],
    );
    return setAt;
  }

  async function msUntilEmpty(appId: string): Promise<number> {
    const [row] = await db.query<{ ms: number }>('SELECT (extract(epoch FROM tat - clock_timestamp()) * 1000)::float8 AS ms FROM whatsapp_rate_buckets WHERE key = $1', [
      `gupshup_whatsapp:${appId}`,
    ]);
    return row.ms;
  }

  /** The limiter's spacing in milliseconds: between two sends, and the burst's worth. */
  function spacing(limiter: AppRateLimiter): { intervalMs: number; burst: number; burstMs: number } {
    const { intervalSeconds, burst } = limiter.shape!;
    return { intervalMs: intervalSeconds * 1000, burst, burstMs: intervalSeconds * 1000 * burst };
  }

  it("gives a new app's first request a burst at most", async () => {
    const limiter = new AppRateLimiter(db, 1000); // about one send a millisecond, bursts of 50
    expect(spacing(limiter).burst).toBe(50);
    expect(await limiter.tryAcquire('new-app', 500)).toMatchObject({ granted: 50, retryInMs: 0 });
    expect(await limiter.tryAcquire('new-small', 3)).toMatchObject({ granted: 3, retryInMs: 0 });
  });

  it('takes what the bucket holds, up to the number asked for, and leaves it at most a burst ahead', async () => {
    const limiter = new AppRateLimiter(db, 1000);
    const { intervalMs, burst, burstMs } = spacing(limiter);
    // 30 ms of the burst's worth used: what is left of it, and one more send per interval since.
    const left = Math.floor((burstMs - 30) / intervalMs);
    const setAt = await setBucket('partly-used', 30);
    const permit = await limiter.tryAcquire('partly-used', 500);
    const elapsedMs = Date.now() - setAt;
    expect(permit.granted).toBeGreaterThanOrEqual(left);
    expect(permit.granted).toBeLessThanOrEqual(Math.min(burst, left + Math.ceil(elapsedMs / intervalMs) + 1));
    expect(await msUntilEmpty('partly-used')).toBeLessThanOrEqual(burstMs);

    await setBucket('full', -1000);
    const full = await limiter.tryAcquire('full', 7);
    expect(full).toMatchObject({ granted: 7, retryInMs: 0 });
    // One slot a send, an interval apart.
    expect(full.slots).toHaveLength(7);
    full.slots.slice(1).forEach((slot, i) => expect(slot - full.slots[i]).toBeCloseTo(intervalMs, 2));
  });

  it("gives each send its slot on the database's clock, the next an interval after the last at the earliest", async () => {
    const limiter = new AppRateLimiter(db, 10);
    const { intervalMs } = spacing(limiter);
    await setBucket('slots', -1000);
    const first = await limiter.tryAcquire('slots', 1);
    expect(first.slots).toHaveLength(1);
    // Asked again until granted: refused meanwhile, with no slot.
    const second = await eventually(async () => {
      const permit = await limiter.tryAcquire('slots', 1);
      if (permit.granted === 0) expect(permit.slots).toEqual([]);
      return permit.granted > 0 ? permit : undefined;
    }, 'a second send');
    expect(second.slots[0] - first.slots[0]).toBeGreaterThanOrEqual(intervalMs - 0.001);
    expect((await new AppRateLimiter(db, 0).tryAcquire('no-limit', 3)).slots).toEqual([]);
  });

  it('sends one at a time up to 20 a second, and says how long until the next slot when there is none', async () => {
    const limiter = new AppRateLimiter(db, 10); // one send every 105 ms, no burst
    expect(spacing(limiter).burst).toBe(1);
    await setBucket('slow', -1000);
    expect(await limiter.tryAcquire('slow', 5)).toMatchObject({ granted: 1, retryInMs: 0 });

    const setAt = await setBucket('slow', 500);
    const refused = await limiter.tryAcquire('slow', 5);
    const elapsedMs = Date.now() - setAt;
    expect(refused.granted).toBe(0);
    expect(refused.retryInMs).toBeGreaterThanOrEqual(500 - elapsedMs - 1);
    expect(refused.retryInMs).toBeLessThanOrEqual(501);
  });

  it('never gives more than a burst to many instances asking at once for a new app', async () => {
    const instances = Array.from({ length: 8 }, () => new AppRateLimiter(db, 10));
    const { intervalMs } = spacing(instances[0]);
    const startedAt = Date.now();
    const permits = await Promise.all(instances.map((limiter) => limiter.tryAcquire('raced', 5)));
    const elapsedMs = Date.now() - startedAt;
    const granted = permits.reduce((sum, permit) => sum + permit.granted, 0);
    expect(granted).toBeGreaterThanOrEqual(1);
    expect(granted).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / intervalMs));
  });

  it('grants everything asked for when the limit is off', async () => {
    expect(await new AppRateLimiter(db, 0).tryAcquire('unlimited', 250)).toMatchObject({ granted: 250, retryInMs: 0 });
  });
});
