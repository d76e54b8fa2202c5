import type { SqlExecutor } from '../../database/database';
import { eventTypeOf, StreamVersionConflictError, type StoreEvent } from '../../event-store';

export interface StreamAppend {
  streamId: string;
  events: readonly StoreEvent<object>[];
  /** `no_stream`: the stream must not exist yet (a new message); `any`: no check. */
  expectedVersion: 'no_stream' | 'any';
}

/**
 * Appends to many streams in one statement instead of one round trip per stream: the store's own
 * es_append, called once per stream, so the locking, version check and idempotency by event id
 * are EventStore.append's. Streams are taken in id order, so that two writers touching the same
 * streams lock them in the same order. Throws StreamVersionConflictError for the first stream
 * whose expected version did not hold (the caller's transaction then rolls back).
 */
export async function appendToStreams(tx: SqlExecutor, appends: readonly StreamAppend[]): Promise<void> {
  const rows = appends
    .filter((append) => append.events.length > 0)
    .sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0))
    .map(({ streamId, events, expectedVersion }) => {
      const types = events.map((event) => eventTypeOf(event.constructor as never));
      return {
        stream_id: streamId,
        stream_type: streamId.slice(0, Math.max(0, streamId.indexOf('-'))) || streamId,
        expected: expectedVersion === 'no_stream' ? 0 : -1,
        event_ids: events.map((event) => event.eventId),
        types: types.map((type) => type.type),
        schema_versions: types.map((type) => type.schemaVersion),
        data: events.map((event) => event.data),
        metadata: events.map((event) => event.metadata),
      };
    });
  if (rows.length === 0) return;
  const conflicts = await tx.query<{ stream_id: string; stream_version: string; expected: string }>(
    `SELECT s.stream_id, r.stream_version, s.expected
       FROM jsonb_to_recordset($1::jsonb) AS s (stream_id text, stream_type text, expected bigint, event_ids uuid[],
                                                types text[], schema_versions integer[], data jsonb[], metadata jsonb[])
      CROSS JOIN LATERAL es_append(s.stream_id, s.stream_type, s.expected, s.event_ids, s.types, s.schema_versions, s.data, s.metadata) AS r
      WHERE r.outcome = 'conflict'`,
    [JSON.stringify(rows)],
  );
  if (conflicts.length > 0) {
    const [first] = conflicts;
    throw new StreamVersionConflictError(first.stream_id, Number(first.expected) === 0 ? 'no_stream' : 'any', Number(first.stream_version));
  }
}
