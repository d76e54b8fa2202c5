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

/** es_append_many's nine arguments for these appends, in its parameter order. */
export type AppendManyArguments = readonly [string[], string[], number[], number[], string[], string[], number[], string, string];

/**
 * The arguments of es_append_many for these appends: streams sorted by id (the lock order of
 * every writer), events flattened in order. For SQL that calls es_append_many as part of a larger
 * statement; appendToStreams is the plain call.
 */
export function appendManyArguments(appends: readonly StreamAppend[]): AppendManyArguments | null {
  const streams = appends
    .filter((a) => a.events.length > 0)
    .sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
  if (streams.length === 0) return null;
  const eventStream: number[] = [];
  const eventIds: string[] = [];
  const types: string[] = [];
  const schemaVersions: number[] = [];
  const data: object[] = [];
  const metadata: object[] = [];
  streams.forEach(({ events }, index) => {
    for (const event of events) {
      const type = eventTypeOf(event.constructor as never);
      eventStream.push(index + 1);
      eventIds.push(event.eventId);
      types.push(type.type);
      schemaVersions.push(type.schemaVersion);
      data.push(event.data);
      metadata.push(event.metadata);
    }
  });
  return [
    streams.map((a) => a.streamId),
    streams.map((a) => streamTypeOf(a.streamId)),
    streams.map((a) => expectedNumberOf(a.expectedVersion ?? 'any')),
    eventStream,
    eventIds,
    types,
    schemaVersions,
    JSON.stringify(data),
    JSON.stringify(metadata),
  ];
}

/** The row es_append_many returns, with its event ids as text. */
export interface AppendManyRow {
  existing: string[];
  conflicts: { stream_id: string; version: string; expected: string }[] | null;
}

/** What an es_append_many row means: the ids skipped as already stored, or the first conflict thrown. */
export function readAppendManyRow(row: AppendManyRow, appends: readonly StreamAppend[]): { alreadyStored: Set<string> } {
  if (row.conflicts?.length) {
    const [first] = row.conflicts;
    const expected = appends.find((a) => a.streamId === first.stream_id)?.expectedVersion ?? 'any';
    throw new StreamVersionConflictError(first.stream_id, expected, Number(first.version));
  }
  return { alreadyStored: new Set(row.existing) };
}

/**
 * Appends to many streams in ONE statement (one round trip for a whole batch) through
 * es_append_many, set-based, with the rules of es_append: per-stream lock, version check,
 * idempotency by event id. Streams are locked in id order, so two writers touching the same
 * streams lock them in the same order. Throws StreamVersionConflictError for a stream whose
 * expected version did not hold (nothing is appended then; the caller's transaction should
 * roll back). Returns the ids that were already stored and so were skipped.
 * Event ids must be unique across the call.
 */
export async function appendToStreams(tx: SqlExecutor, appends: readonly StreamAppend[]): Promise<{ alreadyStored: Set<string> }> {
  const args = appendManyArguments(appends);
  if (!args) return { alreadyStored: new Set() };
  const [row] = await tx.query<AppendManyRow>(
    'SELECT existing::text[] AS existing, conflicts FROM es_append_many($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [...args],
  );
  return readAppendManyRow(row, appends);
}
