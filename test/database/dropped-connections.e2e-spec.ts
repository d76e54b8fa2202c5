import { eventually } from '../support/eventually';
import { createStoreFixture, type StoreFixture } from '../support/sql';

/**
 * A connection the server terminates must never take the process down, whoever holds it and
 * whether or not they listen for its errors (pg throws an 'error' event nobody hears).
 */
describe('database: connections the server drops', () => {
  let fixture: StoreFixture;
  beforeAll(async () => (fixture = await createStoreFixture(4)));
  afterAll(() => fixture?.close());

  /** Terminates the backend and waits until it is gone (its client has read the termination by then, or will at once). */
  async function terminate(pid: number): Promise<void> {
    const [row] = await fixture.db.query<{ done: boolean }>('SELECT pg_terminate_backend($1) AS done', [pid]);
    expect(row.done).toBe(true);
    await eventually(async () => {
      const [{ count }] = await fixture.db.query<{ count: number }>('SELECT count(*)::int AS count FROM pg_stat_activity WHERE pid = $1', [pid]);
      return count === 0 ? true : undefined;
    }, `backend ${pid} to be gone`);
  }

  it('a connection lent out and idle between statements, without a listener of its holder, fails its next query and is replaced', async () => {
    const client = await fixture.pool.connect();
    const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
    await terminate(pid);
    // The end may be read as the answer to this statement, which then fails: the holder returns it with the error, and the pool closes it.
    const failure = await client.query('SELECT 1').then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    client.release(failure);
    // The pool goes on with new connections.
    expect(await fixture.db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('a transaction whose connection the server ends mid-statement fails, and its connection is not lent again', async () => {
    const pids: number[] = [];
    await expect(
      fixture.db.transaction(async (tx) => {
        const [{ pid }] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        pids.push(pid);
        // Ended by another session while this statement runs.
        await Promise.all([tx.query('SELECT pg_sleep(30)'), terminate(pid)]);
      }, 1),
    ).rejects.toThrow();
    // Every connection of the pool answers, again and again: the ended one was closed, not lent again.
    for (let round = 0; round < 8; round++) {
      await Promise.all(Array.from({ length: 4 }, () => fixture.db.transaction((tx) => tx.query('SELECT 1'))));
    }
  });

  it('a connection idle in the pool is replaced', async () => {
    const pids = new Set<number>();
    await Promise.all(
      Array.from({ length: 3 }, () =>
        fixture.db.transaction(async (tx) => {
          const [{ pid }] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          pids.add(pid);
          await tx.query('SELECT pg_sleep(0.05)');
        }),
      ),
    );
    const [{ pid: own }] = await fixture.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    for (const pid of pids) if (pid !== own) await terminate(pid);
    expect(await fixture.db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
