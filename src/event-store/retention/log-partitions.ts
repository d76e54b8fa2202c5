import type { SqlExecutor } from '../../database/database';

/**
 * The range partitions of es_events (see migration 1764001800000-PartitionedEventLog): the kinds
 * of stream whose events are retired after a while each have a parent partitioned by created_at,
 * and every one of its partitions has a row in es_log_partitions.
 */
export interface LogPartition {
  id: string;
  parent: string;
  tableName: string;
  /** Null for the partition holding everything before the first span (MINVALUE). */
  from: Date | null;
  to: Date;
  state: 'attached' | 'detached' | 'dropped';
  exportedFile: string | null;
  exportedEvents: number | null;
  droppedAt: Date | null;
  /** Not retired before this time (set when an archive is loaded back). */
  keepUntil: Date | null;
}

interface PartitionRow {
  id: string;
  parent: string;
  table_name: string;
  from_time: Date | null;
  to_time: Date;
  state: LogPartition['state'];
  exported_file: string | null;
  exported_events: string | null;
  dropped_at: Date | null;
  keep_until: Date | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function toPartition(row: PartitionRow): LogPartition {
  return {
    id: row.id,
    parent: row.parent,
    tableName: row.table_name,
    from: row.from_time,
    to: row.to_time,
    state: row.state,
    exportedFile: row.exported_file,
    exportedEvents: row.exported_events === null ? null : Number(row.exported_events),
    droppedAt: row.dropped_at,
    keepUntil: row.keep_until,
  };
}

/** Every partition recorded, oldest first within each parent; dropped ones only with `withDropped`. */
export async function listLogPartitions(db: SqlExecutor, options: { parent?: string; withDropped?: boolean } = {}): Promise<LogPartition[]> {
  const rows = await db.query<PartitionRow>(
    `SELECT id, parent, table_name, from_time, to_time, state, exported_file, exported_events, dropped_at, keep_until
       FROM es_log_partitions
      WHERE ($1::text IS NULL OR parent = $1) AND ($2 OR state <> 'dropped')
      ORDER BY parent, to_time, id`,
    [options.parent ?? null, options.withDropped ?? false],
  );
  return rows.map(toPartition);
}

/** The parents that have range partitions (the kinds of stream retired by time). */
export async function logPartitionParents(db: SqlExecutor): Promise<string[]> {
  const rows = await db.query<{ parent: string }>('SELECT DISTINCT parent FROM es_log_partitions ORDER BY parent');
  return rows.map((row) => row.parent);
}

/**
 * Makes sure partitions of `parent` cover [from, until): gaps are filled by partitions of
 * `spanDays` aligned to the epoch (clipped to the partitions around them). Safe to call from
 * every instance at once (a lock per parent); returns how many partitions it created.
 */
export async function coverLogPartitions(db: SqlExecutor, parent: string, spanDays: number, from: Date, until: Date): Promise<number> {
  const [row] = await db.query<{ created: number }>(
    'SELECT es_cover_log_partitions($1, make_interval(secs => $2), $3, $4) AS created',
    [parent, spanDays * (DAY_MS / 1000), from, until],
  );
  return row.created;
}

/** A partition's name as an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
