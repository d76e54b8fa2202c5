import { GroupCommitBatcher, type GroupCommitOptions } from './group-commit-batcher';

class DatabaseDown extends Error {}

/** A commitBatch that records each call and doubles each item, failing on items named in `failOn`. */
function recorder(options: { failOn?: Set<number>; down?: () => boolean; hold?: () => Promise<void> } = {}) {
  const batches: number[][] = [];
  const commitBatch = async (items: number[]) => {
    batches.push([...items]);
    await options.hold?.();
    if (options.down?.()) throw new DatabaseDown('connection refused');
    if (items.some((item) => options.failOn?.has(item))) throw new Error(`cannot store ${items.join(',')}`);
    return items.map((item) => item * 2);
  };
  return { batches, commitBatch };
}

function batcher(r: ReturnType<typeof recorder>, options: Partial<GroupCommitOptions> = {}) {
  return new GroupCommitBatcher<number, number>(
    { commitBatch: r.commitBatch, retryItemsAlone: (error) => !(error instanceof DatabaseDown) },
    { maxWaitMs: 5, maxBatchSize: 100, maxConcurrentBatches: 2, ...options },
  );
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('GroupCommitBatcher', () => {
  afterEach(() => jest.useRealTimers());

  it('writes items submitted together in one batch and gives each its own result', async () => {
    const r = recorder();
    const b = batcher(r);
    await expect(Promise.all([1, 2, 3].map((item) => b.submit(item)))).resolves.toEqual([2, 4, 6]);
    expect(r.batches).toEqual([[1, 2, 3]]);
  });

  it('waits at most maxWaitMs for company before writing', async () => {
    jest.useFakeTimers();
    const r = recorder();
    const b = batcher(r, { maxWaitMs: 50 });
    const first = b.submit(1);
    await jest.advanceTimersByTimeAsync(49);
    expect(r.batches).toEqual([]);
    const second = b.submit(2);
    await jest.advanceTimersByTimeAsync(1);
    await expect(Promise.all([first, second])).resolves.toEqual([2, 4]);
    expect(r.batches).toEqual([[1, 2]]);
  });

  it('writes at once when maxBatchSize items wait, in batches of at most that size', async () => {
    jest.useFakeTimers();
    const r = recorder();
    const b = batcher(r, { maxWaitMs: 1000, maxBatchSize: 4, maxConcurrentBatches: 10 });
    const results = Promise.all(Array.from({ length: 10 }, (_, i) => b.submit(i)));
    await jest.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    await jest.advanceTimersByTimeAsync(1000);
    await expect(results).resolves.toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
    expect(r.batches[2]).toEqual([8, 9]);
  });

  it('gathers items into a bigger batch while every slot is busy', async () => {
    const gate = deferred();
    let calls = 0;
    const r = recorder({ hold: () => (++calls === 1 ? gate.promise : Promise.resolve()) });
    const b = batcher(r, { maxWaitMs: 0, maxConcurrentBatches: 1 });
    const first = b.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((item) => b.submit(item));
    gate.resolve();
    await expect(Promise.all([first, ...later])).resolves.toEqual([2, 4, 6, 8]);
    expect(r.batches).toEqual([[1], [2, 3, 4]]);
  });

  it('retries a failed batch item by item, so that only the bad item fails', async () => {
    const r = recorder({ failOn: new Set([2]) });
    const b = batcher(r);
    const outcomes = await Promise.allSettled([1, 2, 3].map((item) => b.submit(item)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([2, 'cannot store 2', 6]);
    expect(r.batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('fails every item at once, without retries, when the failure is no item’s fault', async () => {
    const r = recorder({ down: () => true });
    const b = batcher(r);
    const outcomes = await Promise.allSettled([1, 2, 3].map((item) => b.submit(item)));
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof DatabaseDown)).toBe(true);
    expect(r.batches).toEqual([[1, 2, 3]]);
  });

  it('stops retrying item by item as soon as the database goes away', async () => {
    let down = false;
    const r = recorder({ failOn: new Set([1]), down: () => down });
    const b = batcher(r);
    const submitted = [1, 2, 3].map((item) => b.submit(item));
    const outcomes = Promise.allSettled(submitted);
    // The batch fails for item 1; then the database goes down during the retries.
    submitted[0].catch(() => (down = true));
    expect((await outcomes).map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(r.batches).toEqual([[1, 2, 3], [1], [2]]);
  });

  it('flush writes what waits now and resolves when nothing is being written', async () => {
    jest.useFakeTimers();
    const r = recorder();
    const b = batcher(r, { maxWaitMs: 60_000 });
    const result = b.submit(7);
    await b.flush();
    await expect(result).resolves.toBe(14);
    expect(b.pending).toBe(0);
  });
});
