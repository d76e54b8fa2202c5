/**
 * Runs `work` on every item, at most `limit` at a time, and returns the results in the items'
 * order. A test that races operations keeps `limit` within what its connection pool serves at
 * once: more would only queue for a connection, and time out there on a busy machine.
 */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index], index);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
