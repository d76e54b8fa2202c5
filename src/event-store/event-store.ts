import { Injectable } from '@nestjs/common';
import { Database, isRetryableTransactionError, type SqlExecutor } from '../database/database';
import { StreamVersionConflictError, type ExpectedVersion } from './errors';
import { appendToStreams, expectedNumberOf, streamTypeOf, type StreamAppend } from './append-to-streams';
import { eventTypeOf, toStoreEvent, type RecordedEvent, type StoreEvent } from './event';
import type { EventDataMatch } from './subscriptions/subscription';

export interface AppendResult {
  /** The stream's version after the append (its last stream position). */
  version: number;
  /** How many events were new; events whose id was already stored are skipped. */
  appended: number;
}

/** A point in the global log; the log is ordered by (transactionId, globalPosition). */
export interface LogPosition {
  transactionId: string;
  globalPosition: string;
}

export const LOG_START: LogPosition = { transactionId: '0', globalPosition: '0' };

/** One of `count` parts of the log, by a hash of the stream id: a stream's events all fall in one part. */
export interface StreamPartition {
  index: number;
  count: number;
}

/** a < b, = 0, > b in the log's order. */
export function compareLogPositions(a: LogPosition, b: LogPosition): number {
  const byTransaction = BigInt(a.transactionId) - BigInt(b.transactionId);
  if (byTransaction !== 0n) return byTransaction < 0n ? -1 : 1;
  const byPosition = BigInt(a.globalPosition) - BigInt(b.globalPosition);
  return byPosition === 0n ? 0 : byPosition < 0n ? -1 : 1;
}

/**
 * The SQL condition keeping one partition's events, its parameters numbered from `firstParam`;
 * nothing without a partition (or with one part only). The mask keeps hashtext's result
 * non-negative without abs(), which fails on the smallest integer.
 */
function partitionCondition(partition: StreamPartition | undefined, firstParam: number): { sql: string; params: number[] } {
  if (!partition || partition.count <= 1) return { sql: '', params: [] };
  return { sql: ` AND (hashtext(e.stream_id) & 2147483647) % $${firstParam} = $${firstParam + 1}`, params: [partition.count, partition.index] };
}

/**
 * The SQL condition of an event a reader wants: one of `types` ($4), and for a type with
 * filters, data passing one of its tests; their parameters are numbered from `firstParam`.
 */
function wantedCondition(
  types: readonly string[],
  filters: Readonly<Record<string, readonly EventDataMatch[]>> | undefined,
  firstParam: number,
): { sql: string; params: unknown[] } {
  const filtered = Object.entries(filters ?? {}).filter(([type, matches]) => types.includes(type) && matches.length > 0);
  if (filtered.length === 0) return { sql: 'e.event_type = ANY ($4::text[])', params: [] };
  const params: unknown[] = [filtered.map(([type]) => type)];
  const unfiltered = `$${firstParam}::text[]`;
  const tests = filtered.map(([type, matches]) => {
    params.push(type);
    const typeParam = `$${firstParam + params.length - 1}`;
    const contains = matches.flatMap((match) => ('contains' in match ? [JSON.stringify(match.contains)] : []));
    const keys = matches.flatMap((match) => ('hasKey' in match ? [match.hasKey] : []));
    const alternatives: string[] = [];
    if (contains.length > 0) {
      params.push(contains);
      alternatives.push(`e.data @> ANY ($${firstParam + params.length - 1}::jsonb[])`);
    }
    if (keys.length > 0) {
      params.push(keys);
      alternatives.push(`e.data ?| $${firstParam + params.length - 1}::text[]`);
    }
    return `(e.event_type = ${typeParam} AND (${alternatives.join(' OR ')}))`;
  });
  return { sql: `((e.event_type = ANY ($4::text[]) AND NOT e.event_type = ANY (${unfiltered})) OR ${tests.join(' OR ')})`, params };
}

/**
 * Every transaction whose id is below this bound has ended, and none can start below it: the
 * events under it are all there is or will be, and readers keep below it (see readAll).
 */
export const READABLE_BELOW = 'pg_snapshot_xmin(pg_current_snapshot())';

/** logHead counts a backlog up to this many events: enough to tell a lag, cheap to count. */
export const LOG_HEAD_COUNT_LIMIT = 100_000;

/** A window of the log read for a reader of some event types only (see EventStore.readWindow). */
export interface LogWindow {
  /** The window's events of the wanted types, in log order. */
  events: RecordedEvent[];
  /** Events in the window, of any type. */
  size: number;
  /** Position of the window's last event; null for an empty window. */
  last: LogPosition | null;
}

interface EventRow {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_position: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** Milliseconds since the epoch: a number parses far faster than a timestamp's text, for every event read. */
  created_at_ms: number;
}

const EVENT_COLUMNS =
  'global_position, transaction_id::text AS transaction_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata, floor(extract(epoch FROM created_at) * 1000)::float8 AS created_at_ms';

function toRecorded(row: EventRow): RecordedEvent {
  return {
    globalPosition: row.global_position,
    transactionId: row.transaction_id,
    streamId: row.stream_id,
    streamPosition: Number(row.stream_position),
    eventId: row.event_id,
    type: row.event_type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    createdAt: new Date(row.created_at_ms),
  };
}


/** The events of some types in some streams, each stream's in order: what a handler reads of the streams it writes to, in its own transaction. */
export async function readStreamsOfTypes(executor: SqlExecutor, streamIds: readonly string[], types: readonly string[]): Promise<RecordedEvent[]> {
  if (streamIds.length === 0 || types.length === 0) return [];
  const rows = await executor.query<EventRow>(
    // The streams' types name their partitions (see 1764001800000-PartitionedEventLog).
    `SELECT ${EVENT_COLUMNS} FROM es_events e
      WHERE split_part(e.stream_id, '-', 1) = ANY ($3::text[]) AND e.stream_id = ANY ($1::text[]) AND e.event_type = ANY ($2::text[])
      ORDER BY e.stream_id, e.stream_position`,
    [[...new Set(streamIds)], types, [...new Set(streamIds.map(streamTypeOf))]],
  );
  return rows.map(toRecorded);
}

@Injectable()
export class EventStore {
  constructor(private readonly db: Database) {}

  /**
   * Appends events to one stream atomically, in one round trip. Pass `tx` to make the append part
   * of a larger transaction (the events then commit with it).
   */
  async append(
    streamId: string,
    events: readonly StoreEvent<object>[],
    options: { expectedVersion?: ExpectedVersion; tx?: SqlExecutor } = {},
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const expected = options.expectedVersion ?? 'any';
    const expectedNumber = expectedNumberOf(expected);
    const types = events.map((e) => eventTypeOf(e.constructor as never));
    const [row] = await this.runAppend(
      options.tx,
      'SELECT * FROM es_append($1, $2, $3, $4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[])',
      [
        streamId,
        streamTypeOf(streamId),
        expectedNumber,
        events.map((e) => e.eventId),
        types.map((t) => t.type),
        types.map((t) => t.schemaVersion),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.metadata)),
      ],
    );
    const version = Number(row.stream_version);
    if (row.outcome === 'conflict') throw new StreamVersionConflictError(streamId, expected, version);
    return { version, appended: row.appended };
  }

  /** Appends to many streams in one statement; see appendToStreams. Without `tx`, in a transaction of its own. */
  async appendToStreams(appends: readonly StreamAppend[], tx?: SqlExecutor): Promise<{ alreadyStored: Set<string> }> {
    if (!tx) return this.db.transaction((own) => appendToStreams(own, appends));
    return appendToStreams(tx, appends);
  }

  /**
   * Alone (no caller transaction) the append is one statement, its own transaction: a
   * serialization failure is retried here. Inside a caller's transaction the caller retries.
   */
  private async runAppend(tx: SqlExecutor | undefined, sql: string, params: unknown[]) {
    type Row = { outcome: string; stream_version: string; appended: number };
    if (tx) return tx.query<Row>(sql, params);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.query<Row>(sql, params);
      } catch (error) {
        if (attempt >= 10 || !isRetryableTransactionError(error)) throw error;
      }
    }
  }

  /** The events of one stream, in order, from `fromPosition` (1-based, inclusive). */
  async readStream(streamId: string, options: { fromPosition?: number; tx?: SqlExecutor } = {}): Promise<StoreEvent[]> {
    const rows = await (options.tx ?? this.db).query<EventRow>(
      // The stream's type names its partition (see 1764001800000-PartitionedEventLog).
      `SELECT ${EVENT_COLUMNS} FROM es_events e
        WHERE split_part(e.stream_id, '-', 1) = split_part($1, '-', 1) AND e.stream_id = $1 AND e.stream_position >= $2
        ORDER BY e.stream_position`,
      [streamId, options.fromPosition ?? 1],
    );
    return rows.map((row) => toStoreEvent(toRecorded(row)));
  }

  async streamVersion(streamId: string, tx?: SqlExecutor): Promise<number> {
    const rows = await (tx ?? this.db).query<{ version: string }>('SELECT version FROM es_streams WHERE stream_id = $1', [streamId]);
    return rows.length ? Number(rows[0].version) : 0;
  }

  /**
   * Reads the global log after `after`, in commit-safe order. Only transactions older than the
   * oldest one still running are visible (pg_snapshot_xmin), so an event whose transaction commits
   * late is read after the events that committed before it, never skipped. Run it on a session
   * that holds no transaction id (no writes before it in the same transaction).
   */
  async readAll(after: LogPosition, limit: number, executor: SqlExecutor = this.db, partition?: StreamPartition): Promise<RecordedEvent[]> {
    const inPartition = partitionCondition(partition, 4);
    const rows = await executor.query<EventRow>(
      // ORDER BY names the table's columns: the output renames transaction_id to its text form.
      `SELECT ${EVENT_COLUMNS} FROM es_events e
        WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
          AND e.transaction_id < ${READABLE_BELOW}${inPartition.sql}
        ORDER BY e.transaction_id, e.global_position
        LIMIT $3`,
      [after.transactionId, after.globalPosition, limit, ...inPartition.params],
    );
    return rows.map(toRecorded);
  }

  /**
   * readAll for a reader that wants some event types only: the same window of the log (up to
   * `limit` events in order, whatever their type), how many events it spans and its last
   * position, so that the reader's checkpoint moves past the others; but only the events of
   * `types` (and the window's last event, as a position) are sent: the rest are neither sent nor
   * parsed. A subscription reads every event of the log; most are of types it does not want.
   */
  async readWindow(
    after: LogPosition,
    limit: number,
    types: readonly string[],
    executor: SqlExecutor = this.db,
    partition?: StreamPartition,
    filters?: Readonly<Record<string, readonly EventDataMatch[]>>,
  ): Promise<LogWindow> {
    const inPartition = partitionCondition(partition, 5);
    const wanted = wantedCondition(types, filters, 5 + inPartition.params.length);
    type WindowRow = Omit<EventRow, 'data' | 'metadata' | 'created_at_ms'> & {
      data: Record<string, unknown> | null;
      metadata: Record<string, unknown> | null;
      created_at_ms: number | null;
      wanted: boolean;
      size: string;
    };
    // The window's rows keep the log's order from the index scan under the LIMIT, so numbering
    // them needs no sort.
    const rows = await executor.query<WindowRow>(
      `SELECT global_position, transaction_id::text AS transaction_id, stream_id, stream_position, event_id, event_type, schema_version,
              data, metadata, CASE WHEN wanted THEN floor(extract(epoch FROM created_at) * 1000)::float8 END AS created_at_ms, wanted, size
         FROM (SELECT x.*, row_number() OVER (ORDER BY x.transaction_id, x.global_position) AS n, count(*) OVER () AS size
                 FROM (SELECT e.global_position, e.transaction_id, e.stream_id, e.stream_position, e.event_id, e.event_type, e.schema_version,
                              ${wanted.sql} AS wanted,
                              CASE WHEN ${wanted.sql} THEN e.data END AS data,
                              CASE WHEN ${wanted.sql} THEN e.metadata END AS metadata,
                              e.created_at
                         FROM es_events e
                        WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
                          AND e.transaction_id < ${READABLE_BELOW}${inPartition.sql}
                        ORDER BY e.transaction_id, e.global_position
                        LIMIT $3) AS x) AS w
        WHERE wanted OR n = size
        ORDER BY n`,
      [after.transactionId, after.globalPosition, limit, types, ...inPartition.params, ...wanted.params],
    );
    const lastRow = rows[rows.length - 1];
    return {
      events: rows.filter((row) => row.wanted).map((row) => toRecorded(row as EventRow)),
      size: lastRow ? Number(lastRow.size) : 0,
      last: lastRow ? { transactionId: lastRow.transaction_id, globalPosition: lastRow.global_position } : null,
    };
  }

  /**
   * How far a reader at `after` is behind: the events after it (counted up to LOG_HEAD_COUNT_LIMIT)
   * and when the first of them was written. Both walk the log's order index from `after`, so the
   * cost follows the backlog, not the size of the log (GET /health and the metrics call this).
   */
  async logHead(after: LogPosition, executor: SqlExecutor = this.db, partition?: StreamPartition): Promise<{ behind: number; oldestUnreadAt: Date | null }> {
    const inPartition = partitionCondition(partition, 4);
    const [row] = await executor.query<{ behind: string; oldest_ms: number | null }>(
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM es_events e
                                      WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)${inPartition.sql}
                                      ORDER BY e.transaction_id, e.global_position LIMIT $3) AS backlog) AS behind,
              (SELECT floor(extract(epoch FROM e.created_at) * 1000)::float8 FROM es_events e
                WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)${inPartition.sql}
                ORDER BY e.transaction_id, e.global_position LIMIT 1) AS oldest_ms`,
      [after.transactionId, after.globalPosition, LOG_HEAD_COUNT_LIMIT, ...inPartition.params],
    );
    return { behind: Number(row.behind), oldestUnreadAt: row.oldest_ms === null ? null : new Date(row.oldest_ms) };
  }
}
