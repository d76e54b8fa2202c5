import type { SqlExecutor } from '../database/database';

/**
 * Removes whole streams and their events: for data kept only for a while (retention), never for
 * streams a projection still reads. Subscriptions past them are not affected; one that has not
 * read them yet never will. Call it in a transaction. Returns how many streams were removed.
 */
export async function deleteStreams(tx: SqlExecutor, streamIds: readonly string[]): Promise<number> {
  if (streamIds.length === 0) return 0;
  // The stream types name the partitions to look in (see 1764001800000-PartitionedEventLog).
  await tx.query(
    `DELETE FROM es_events WHERE split_part(stream_id, '-', 1) = ANY (ARRAY(SELECT DISTINCT split_part(s, '-', 1) FROM unnest($1::text[]) AS s))
        AND stream_id = ANY ($1::text[])`,
    [streamIds],
  );
  const rows = await tx.query<{ stream_id: string }>('DELETE FROM es_streams WHERE stream_id = ANY ($1::text[]) RETURNING stream_id', [streamIds]);
  return rows.length;
}
