import type { SqlExecutor } from '../database/database';
import { streamTypeOf } from './append-to-streams';
import { eventTypeOf, type EventClass } from './event';

/** A stream that does not exist yet, with its one first event, whose data is already JSON text. */
export interface NewStreamEvent {
  streamId: string;
  eventId: string;
  /** The event's data as JSON text (an object): written as it is, never parsed or re-serialised here. */
  dataJson: string;
}

/**
 * Creates many streams, each with one event of type `eventClass`, in ONE statement and no
 * function call: the cheapest append there is, for writers that record facts under fresh ids (a
 * stream per fact). There is nothing to lock, version or de-duplicate: a stream id that exists
 * already fails the whole statement (a unique violation), so ids must be new, e.g. random UUIDs.
 * All streams must share one stream type (the part of the id before the first "-").
 *
 * The data goes as one JSON array text, joined here: no per-event escaping into an array literal.
 */
export async function appendNewStreams(db: SqlExecutor, eventClass: EventClass, events: readonly NewStreamEvent[]): Promise<void> {
  if (events.length === 0) return;
  const { type, schemaVersion } = eventTypeOf(eventClass);
  const streamType = streamTypeOf(events[0].streamId);
  const streamIds = new Array<string>(events.length);
  const eventIds = new Array<string>(events.length);
  const data = new Array<string>(events.length);
  events.forEach((event, index) => {
    if (streamTypeOf(event.streamId) !== streamType) throw new Error(`appendNewStreams: streams of two types (${streamType}, ${streamTypeOf(event.streamId)})`);
    streamIds[index] = event.streamId;
    eventIds[index] = event.eventId;
    data[index] = event.dataJson;
  });
  // The events reference their streams: the streams' rows are inserted by the first part of the
  // statement, and the foreign key is checked at its end, when both are there.
  await db.query(
    `WITH streams AS (
       INSERT INTO es_streams (stream_id, stream_type, version) SELECT s, $2, 1 FROM unnest($1::text[]) AS s
     ), events AS (
       INSERT INTO es_events (stream_id, stream_position, event_id, event_type, schema_version, data)
       SELECT x.stream_id, 1, x.event_id, $4, $5, d.value
         FROM unnest($1::text[], $3::uuid[]) WITH ORDINALITY AS x(stream_id, event_id, n)
         JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS d(value, n) ON d.n = x.n
     )
     SELECT pg_notify('es_events_appended', $4)`,
    [streamIds, streamType, eventIds, type, schemaVersion, `[${data.join(',')}]`],
  );
}
