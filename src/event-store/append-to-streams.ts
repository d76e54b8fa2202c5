import type { SqlExecutor } from '../database/database';
import { StreamVersionConflictError, type ExpectedVersion } from './errors';
import { eventTypeOf, type StoreEvent } from './event';

/** One stream's share of a multi-stream append. */
export interface StreamAppend {
  streamId: string;
  events: readonly StoreEvent<object>[];
  expectedVersion?: ExpectedVersion;
}

/** es_append's encoding: -1 any, 0 the stream must not exist, n the exact version. */
export function expectedNumberOf(expected: ExpectedVersion): number {
  const n = expected === 'any' ? -1 : expected === 'no_stream' ? 0 : expected;
  if (!Number.isInteger(n) || n < -1) throw new Error(`invalid expected version ${expected}`);
  return n;
}

/** Stream type = the part of the stream id before the first "-", e.g. whatsapp_message. */
export function streamTypeOf(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : streamId;
}

/**
 * Appends to many streams in ONE statement (one round trip for a whole batch), each through the
 * same es_append as `append`: per-stream lock, version check, idempotency by event id. Streams
 * are taken in id order, so two writers touching the same streams lock them in the same order.
 * Throws StreamVersionConflictError for a stream whose expected version did not hold; the
 * caller's transaction must then roll back (the other streams' events are in it). Returns the
 * ids that were already stored and so were skipped.
 * Event ids must be unique across the call.
 */
export async function appendToStreams(tx: SqlExecutor, appends: readonly StreamAppend[]): Promise<{ alreadyStored: Set<string> }> {
  const rows = appends
    .filter((a) => a.events.length > 0)
    .sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0))
    .map(({ streamId, events, expectedVersion }) => {
      const types = events.map((event) => eventTypeOf(event.constructor as never));
      return {
        stream_id: streamId,
        stream_type: streamTypeOf(streamId),
        expected: expectedNumberOf(expectedVersion ?? 'any'),
        event_ids: events.map((event) => event.eventId),
        types: types.map((type) => type.type),
        schema_versions: types.map((type) => type.schemaVersion),
        data: events.map((event) => event.data),
        metadata: events.map((event) => event.metadata),
      };
    });
  if (rows.length === 0) return { alreadyStored: new Set() };
  // The statement's snapshot predates its own inserts, so `existing` is what was stored before.
  const [result] = await tx.query<{ existing: string[]; conflicts: { stream_id: string; version: string; expected: string }[] | null }>(
    `WITH input AS MATERIALIZED (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS s (stream_id text, stream_type text, expected bigint, event_ids uuid[],
                                                        types text[], schema_versions integer[], data jsonb[], metadata jsonb[])
     ),
     existing AS MATERIALIZED (
       SELECT e.event_id FROM es_events e WHERE e.event_id = ANY (ARRAY(SELECT unnest(event_ids) FROM input))
     ),
     appended AS MATERIALIZED (
       SELECT s.stream_id, s.expected, r.outcome, r.stream_version FROM input s
        CROSS JOIN LATERAL es_append(s.stream_id, s.stream_type, s.expected, s.event_ids, s.types, s.schema_versions, s.data, s.metadata) AS r
     )
     SELECT ARRAY(SELECT event_id::text FROM existing) AS existing,
            (SELECT json_agg(json_build_object('stream_id', stream_id, 'version', stream_version, 'expected', expected))
               FROM appended WHERE outcome = 'conflict') AS conflicts`,
    [JSON.stringify(rows)],
  );
  if (result.conflicts?.length) {
    const [first] = result.conflicts;
    const expected = appends.find((a) => a.streamId === first.stream_id)?.expectedVersion ?? 'any';
    throw new StreamVersionConflictError(first.stream_id, expected, Number(first.version));
  }
  return { alreadyStored: new Set(result.existing) };
}
