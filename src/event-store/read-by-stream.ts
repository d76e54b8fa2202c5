import type { QueryConfig } from 'pg';
import { preparedQuery, type Database, type SqlExecutor } from '../database/database';
import type { StoredEvent } from './event';
import { READABLE_BELOW, type LogPosition } from './event-store';

/** The part of the log a reader may take as complete now (see readLogHorizon). */
export interface LogHorizon {
  /** Transaction id bound: the part holds the events of the transactions below it. */
  below: string;
  /** Its last event in log order; null when it is empty. */
  last: LogPosition | null;
  /** Its events, of any type. */
  events: number;
}

/**
 * Where the log is complete now, by the rule every reader of the log keeps (READABLE_BELOW):
 * the transactions below the bound have all ended, so the events under it never change, and
 * any later statement on any connection sees all of them. A subscription whose checkpoint is
 * `last` has read exactly them. Call it outside a transaction that has written anything.
 */
export async function readLogHorizon(executor: SqlExecutor): Promise<LogHorizon> {
  const [row] = await executor.query<{ below: string; events: string; transaction_id: string | null; global_position: string | null }>(
    `SELECT h.below::text AS below,
            (SELECT count(*) FROM es_events e WHERE e.transaction_id < h.below) AS events,
            l.transaction_id::text AS transaction_id, l.global_position
       FROM (SELECT ${READABLE_BELOW} AS below) h
       LEFT JOIN LATERAL (SELECT e.transaction_id, e.global_position FROM es_events e
                           WHERE e.transaction_id < h.below
                           ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1) l ON true`,
  );
  return {
    below: row.below,
    last: row.transaction_id === null ? null : { transactionId: row.transaction_id, globalPosition: row.global_position! },
    events: Number(row.events),
  };
}

/** Events of these types (all when omitted) below a horizon's bound: what reading every stream up to it reads. */
export async function countBelow(executor: SqlExecutor, below: string, types?: readonly string[]): Promise<number> {
  const [row] = await executor.query<{ events: string }>(
    `SELECT count(*) AS events FROM es_events e
      WHERE e.transaction_id < $1::xid8 AND ($2::text[] IS NULL OR e.event_type = ANY ($2::text[]))`,
    [below, types ?? null],
  );
  return Number(row.events);
}

export interface StreamChunkOptions {
  /** The horizon's transaction id bound: only events of the transactions below it are read. */
  below: string;
  /** Events a chunk holds, rounded down to whole streams (a stream longer than that comes whole, alone). */
  limit: number;
  /** Only events of these types come back; all when omitted. */
  types?: readonly string[];
}

export interface StreamChunk {
  /** Events ordered by stream id, then stream position: each stream whole, up to the horizon. */
  events: StoredEvent[];
  /** The chunk's last stream id, to read the next chunk after; null when the chunk reached the end of the log. */
  lastStreamId: string | null;
}

/**
 * Only what a reader of whole streams needs: where an event is in the global log is not read
 * (nor is it wanted: the reader's checkpoint comes from the horizon). Rows come back as arrays:
 * together that is a third less work to decode for every event read.
 */
const STREAM_COLUMNS = 'e.stream_id, e.stream_position, e.event_id, e.event_type, e.schema_version, e.data, e.metadata';
type StreamRow = [string, string, string, string, number, Record<string, unknown>, Record<string, unknown>];

function toStored(row: StreamRow): StoredEvent {
  return { streamId: row[0], streamPosition: Number(row[1]), eventId: row[2], type: row[3], schemaVersion: row[4], data: row[5], metadata: row[6] };
}

/**
 * The streams after `afterStreamId` (from the first when null), whole, in chunks of at most
 * `limit` events (of the types asked for). The events of a stream below a horizon are a prefix
 * of it, as a stream's events are in log order (see the append functions).
 *
 * It walks the primary key (stream_id, stream_position) in order; the LIMIT keeps the planner on
 * that walk (without it, a bitmap scan and a sort of the wide rows were planned, several times
 * slower). The last stream of a full chunk may go on past it, so it is left to the next chunk.
 */
export async function readStreamChunk(db: Database, afterStreamId: string | null, options: StreamChunkOptions): Promise<StreamChunk> {
  const limit = Math.max(1, Math.floor(options.limit));
  const order = `ORDER BY e.stream_id, e.stream_position LIMIT ${limit}`;
  const rows =
    afterStreamId === null
      ? await selectStreamRows(db, options, [], [], order)
      : await selectStreamRows(db, options, ['e.stream_id > $1'], [afterStreamId], order);
  if (rows.length < limit) return { events: rows.map(toStored), lastStreamId: null };
  const lastStreamId = rows[rows.length - 1][0];
  let end = rows.length;
  while (end > 0 && rows[end - 1][0] === lastStreamId) end--;
  if (end > 0) return { events: rows.slice(0, end).map(toStored), lastStreamId: rows[end - 1][0] };
  // One stream fills the chunk: the rest of it too.
  const rest = await selectStreamRows(
    db,
    options,
    ['e.stream_id = $1', 'e.stream_position > $2'],
    [lastStreamId, rows[rows.length - 1][1]],
    'ORDER BY e.stream_position',
  );
  return { events: [...rows, ...rest].map(toStored), lastStreamId };
}

/** Rows meeting `where` (whose parameters are `params`), below the horizon and of the types asked for. */
async function selectStreamRows(db: Database, options: StreamChunkOptions, where: string[], params: unknown[], orderAndLimit: string): Promise<StreamRow[]> {
  const values = [...params, options.below];
  const conditions = [...where, `e.transaction_id < $${values.length}::xid8`];
  if (options.types) {
    values.push(options.types);
    conditions.push(`e.event_type = ANY ($${values.length}::text[])`);
  }
  const sql = `SELECT ${STREAM_COLUMNS} FROM es_events e WHERE ${conditions.join(' AND ')} ${orderAndLimit}`;
  return db.withClient(async (client) => {
    // The walk in stream order must not hang on the planner's statistics: a partition of the log
    // not analyzed yet (autovacuum never analyzes a partitioned table's parent, and a leaf only
    // after enough writes) makes the type filter look so selective that reading the partition
    // whole and sorting it looks cheaper, and a chunk then reads millions of rows.
    await client.query(`BEGIN; ${IN_STREAM_ORDER}`);
    try {
      const result = await client.query<StreamRow>({ ...(preparedQuery(sql, values) as QueryConfig), rowMode: 'array' });
      await client.query('COMMIT');
      return result.rows;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

/** Planner settings, for one transaction, that leave walking the indexes in order as the only plan. */
const IN_STREAM_ORDER = "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true)";
