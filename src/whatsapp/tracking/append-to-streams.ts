import type { SqlExecutor } from '../../database/database';
import { eventTypeOf, type StoreEvent } from '../../event-store';

/**
 * Appends events to many streams in one statement (one round trip for a whole batch of
 * callbacks), through the store's own es_append function: the same per-stream locking, version
 * bump and idempotency by event id as EventStore.append, once per stream. Streams are appended
 * in ascending order so that two batches touching the same streams lock them in the same order.
 *
 * Event ids must be unique across the call. Returns the ids the store already held, which it
 * skipped: the statement's own snapshot does not see the rows its es_append calls insert, so
 * `existing` is what was there before.
 */
export async function appendToStreams(tx: SqlExecutor, eventsByStream: ReadonlyMap<string, readonly StoreEvent<object>[]>): Promise<Set<string>> {
  const streams = [...eventsByStream.keys()].filter((id) => eventsByStream.get(id)!.length > 0).sort();
  if (streams.length === 0) return new Set();
  const rows = streams.map((streamId) => {
    const events = eventsByStream.get(streamId)!;
    const types = events.map((event) => eventTypeOf(event.constructor as never));
    return {
      stream_id: streamId,
      stream_type: streamId.slice(0, Math.max(0, streamId.indexOf('-'))) || streamId,
      event_ids: events.map((event) => event.eventId),
      types: types.map((type) => type.type),
      schema_versions: types.map((type) => type.schemaVersion),
      data: events.map((event) => event.data),
      metadata: events.map((event) => event.metadata),
    };
  });
  const [result] = await tx.query<{ existing: string[] }>(
    `WITH input AS MATERIALIZED (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS s(stream_id text, stream_type text, event_ids uuid[], types text[], schema_versions integer[], data jsonb[], metadata jsonb[])
     ),
     existing AS MATERIALIZED (
       SELECT e.event_id FROM es_events e WHERE e.event_id = ANY (ARRAY(SELECT unnest(event_ids) FROM input))
     ),
     appended AS MATERIALIZED (
       SELECT r.appended FROM input s
        CROSS JOIN LATERAL es_append(s.stream_id, s.stream_type, -1, s.event_ids, s.types, s.schema_versions, s.data, s.metadata) AS r
     )
     SELECT ARRAY(SELECT event_id::text FROM existing) AS existing, (SELECT count(*) FROM appended) AS streams`,
    [JSON.stringify(rows)],
  );
  return new Set(result.existing);
}
