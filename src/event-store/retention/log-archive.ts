import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Database, SqlExecutor } from '../../database/database';
import { coverLogPartitions, quoteIdent } from './log-partitions';

/**
 * An archive is one retired partition of es_events as gzipped JSON lines: a header line naming the
 * partition, then one line per event with every column, in log order. Plain text, so that it can be
 * read with zcat and jq as well as loaded back.
 */
export interface ArchiveHeader {
  format: 'es_events/1';
  parent: string;
  table: string;
  from: string | null;
  to: string;
  events: number;
  firstCreatedAt: string | null;
  lastCreatedAt: string | null;
}

/** An event as archived: the row of es_events, its transaction id and timestamps as text. */
interface ArchivedEvent {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_position: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  created_at: string;
}

const PAGE = 5000;

/**
 * Writes `table` (a partition, attached or detached, that no longer receives events) to `file`,
 * durably: written aside, flushed to disk, then renamed into place. Returns the events written.
 */
export async function exportLogPartition(
  db: Database,
  partition: { parent: string; tableName: string; from: Date | null; to: Date },
  file: string,
): Promise<number> {
  const [summary] = await db.query<{ events: string; first: Date | null; last: Date | null }>(
    `SELECT count(*) AS events, min(created_at) AS first, max(created_at) AS last FROM ${quoteIdent(partition.tableName)}`,
  );
  const header: ArchiveHeader = {
    format: 'es_events/1',
    parent: partition.parent,
    table: partition.tableName,
    from: partition.from?.toISOString() ?? null,
    to: partition.to.toISOString(),
    events: Number(summary.events),
    firstCreatedAt: summary.first?.toISOString() ?? null,
    lastCreatedAt: summary.last?.toISOString() ?? null,
  };
  async function* lines(): AsyncGenerator<string> {
    yield `${JSON.stringify(header)}\n`;
    let after: [string, string] = ['0', '0'];
    for (;;) {
      // Keyset pages in log order, on the partition's own (transaction_id, global_position) index.
      const rows = await db.query<{ line: string; transaction_id: string; global_position: string }>(
        `SELECT json_build_object('global_position', e.global_position::text, 'transaction_id', e.transaction_id::text,
                  'stream_id', e.stream_id, 'stream_position', e.stream_position::text, 'event_id', e.event_id,
                  'event_type', e.event_type, 'schema_version', e.schema_version, 'data', e.data, 'metadata', e.metadata,
                  'created_at', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text AS line,
                e.transaction_id::text AS transaction_id, e.global_position::text AS global_position
           FROM ${quoteIdent(partition.tableName)} e
          WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
          ORDER BY e.transaction_id, e.global_position
          LIMIT ${PAGE}`,
        after,
      );
      if (rows.length > 0) yield rows.map((row) => row.line).join('\n') + '\n';
      if (rows.length < PAGE) return;
      const last = rows[rows.length - 1];
      after = [last.transaction_id, last.global_position];
    }
  }
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  try {
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(partial));
    const handle = await open(partial, 'r');
    await handle.sync().finally(() => handle.close());
    await rename(partial, file);
    const dir = await open(dirname(file), 'r');
    await dir.sync().finally(() => dir.close());
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return header.events;
}

export interface ArchiveLoad {
  header: ArchiveHeader;
  /** Events inserted; those already in the log (same stream and position) are left as they are. */
  loaded: number;
  skipped: number;
}

/**
 * Loads an archive back into es_events, in partitions created for its time range (not retired
 * before `keepUntil`), with the streams' rows it needs. Loading the same archive twice adds nothing.
 */
export async function importLogArchive(db: Database, file: string, options: { spanDays: number; keepUntil: Date }): Promise<ArchiveLoad> {
  await access(file, constants.R_OK).catch(() => {
    throw new Error(`${file}: no such file, or it cannot be read`);
  });
  const gunzip = createGunzip();
  const source = createReadStream(file);
  let readError: Error | undefined;
  const input = createInterface({ input: source.pipe(gunzip), crlfDelay: Infinity });
  for (const stream of [source, gunzip]) {
    stream.on('error', (error: Error) => {
      readError ??= error;
      input.close();
    });
  }
  let header: ArchiveHeader | undefined;
  let batch: ArchivedEvent[] = [];
  const result = { loaded: 0, skipped: 0 };
  const flush = async () => {
    if (batch.length === 0) return;
    const events = batch;
    batch = [];
    const loaded = await db.transaction((tx) => insertArchived(tx, events));
    result.loaded += loaded;
    result.skipped += events.length - loaded;
  };
  try {
    for await (const line of input) {
      if (line === '') continue;
      if (!header) {
        header = parseHeader(line, file);
        if (header.firstCreatedAt && header.lastCreatedAt) {
          const from = new Date(header.firstCreatedAt);
          const until = new Date(new Date(header.lastCreatedAt).getTime() + 1);
          await db.transaction(async (tx) => {
            await coverLogPartitions(tx, header!.parent, options.spanDays, from, until);
            await tx.query(
              `UPDATE es_log_partitions SET keep_until = greatest(keep_until, $4)
                WHERE parent = $1 AND state = 'attached' AND coalesce(from_time, '-infinity') < $3 AND to_time > $2`,
              [header!.parent, from, until, options.keepUntil],
            );
          });
        }
        continue;
      }
      batch.push(JSON.parse(line) as ArchivedEvent);
      if (batch.length >= PAGE) await flush();
    }
  } catch (error) {
    // A stream's error also rejects the loop; any other error is the caller's to see as it is.
    if (!readError && !(error as { code?: string }).code?.startsWith('Z_')) throw error;
    readError ??= error as Error;
  }
  if (readError) throw new Error(`${file} cannot be read as a gzipped event archive: ${readError.message}`);
  await flush();
  if (!header) throw new Error(`${file} is empty: not an event archive`);
  return { header, ...result };
}

function parseHeader(line: string, file: string): ArchiveHeader {
  let header: Partial<ArchiveHeader>;
  try {
    header = JSON.parse(line) as Partial<ArchiveHeader>;
  } catch {
    throw new Error(`${file} does not start with an event archive's header line`);
  }
  if (header.format !== 'es_events/1' || typeof header.parent !== 'string') {
    throw new Error(`${file} is not an event archive of this service (format ${JSON.stringify(header.format)})`);
  }
  return header as ArchiveHeader;
}

/** Inserts the events not in the log yet and creates or widens their streams' rows; returns the events inserted. */
async function insertArchived(tx: SqlExecutor, events: ArchivedEvent[]): Promise<number> {
  const [row] = await tx.query<{ inserted: number }>(
    `WITH archived AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(global_position bigint, transaction_id text, stream_id text, stream_position bigint,
              event_id uuid, event_type text, schema_version integer, data jsonb, metadata jsonb, created_at timestamptz)
     ), missing AS (
       SELECT a.* FROM archived a
        WHERE NOT EXISTS (SELECT 1 FROM es_events e
                           WHERE split_part(e.stream_id, '-', 1) = split_part(a.stream_id, '-', 1)
                             AND e.stream_id = a.stream_id AND e.stream_position = a.stream_position)
     ), inserted AS (
       INSERT INTO es_events (global_position, transaction_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata, created_at)
       SELECT global_position, transaction_id::xid8, stream_id, stream_position, event_id, event_type, schema_version, data, metadata, created_at
         FROM missing
       RETURNING stream_id, stream_position, created_at
     ), streams AS (
       INSERT INTO es_streams (stream_id, stream_type, version, created_at, updated_at)
       SELECT stream_id, split_part(stream_id, '-', 1), max(stream_position), min(created_at), max(created_at)
         FROM inserted GROUP BY stream_id
       ON CONFLICT (stream_id) DO UPDATE
         SET version = greatest(es_streams.version, excluded.version),
             created_at = least(es_streams.created_at, excluded.created_at),
             updated_at = greatest(es_streams.updated_at, excluded.updated_at)
     )
     SELECT count(*)::int AS inserted FROM inserted`,
    [JSON.stringify(events)],
  );
  return row.inserted;
}
