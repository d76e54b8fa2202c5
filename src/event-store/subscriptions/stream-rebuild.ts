import type { PoolClient } from 'pg';
import { preparedQuery, type Database, type SqlExecutor } from '../../database/database';
import type { StoredEvent } from '../event';
import { LOG_START, type LogPosition } from '../event-store';
import { countBelow, readLogHorizon, readStreamChunk, type StreamChunk } from '../read-by-stream';
import { lockSubscriptions, subscriptionCheckpoints, writeCheckpoint } from './checkpoint';
import type { SubscriptionHandler } from './subscription';

/**
 * A subscription whose output depends on each stream's events in stream order only (not on the
 * log's order between streams, nor on how the log was cut into batches), so that it can be
 * built from zero one whole stream at a time. Its `handle` must have no effect outside that
 * output: the events its runner processes while a rebuild reads are processed again after it.
 */
export interface WholeStreamHandler extends SubscriptionHandler {
  reset(tx: SqlExecutor): Promise<void>;
  /**
   * Starts building the output from zero on `session`: a connection of the rebuild's own, kept
   * for the whole rebuild, outside any transaction. What it builds there must stay out of
   * sight of the output's readers (and of `handle`) until install.
   */
  startRebuild(session: SqlExecutor): Promise<WholeStreamRebuild>;
}

export interface WholeStreamRebuild {
  /**
   * Adds whole streams: their events of the handler's `eventTypes` below the rebuild's horizon,
   * ordered by stream id, then stream position. The work on the events is done before it
   * returns; what it writes on the session may still be on its way (the next call is then made
   * while it is, and its writes go out after).
   */
  add(events: StoredEvent[]): Promise<void>;
  /** Replaces the output with what was added, in the transaction that moves the checkpoint to the horizon. */
  install(tx: SqlExecutor): Promise<void>;
  /** Frees what the rebuild kept on its session, installed or not. */
  close(): Promise<void>;
}

export interface StreamRebuildResult {
  /** Events of the log below the horizon, of any type: what the checkpoint counts after the rebuild. */
  events: number;
  chunks: number;
  /** Where the subscription goes on from: the last event below the horizon. */
  checkpoint: LogPosition;
}

export interface StreamRebuildProgress {
  /** Events of the handler's types added so far. */
  eventsRead: number;
  /** Events of the handler's types below the horizon: eventsRead once every stream is read. */
  eventsToRead: number;
  chunks: number;
}

export interface StreamRebuildOptions {
  chunkSize: number;
  /** Called once before the first chunk and after each chunk is added; the events to read are counted only when it is given. */
  onProgress?: (progress: StreamRebuildProgress) => void;
  /** The checkpoints the subscription goes on from, one per partition (see PartitionedSubscription); its own name by default. */
  checkpoints?: readonly string[];
}

/**
 * Builds a subscription's output again from every event the log holds below a horizon, read
 * stream by stream in chunks of about `chunkSize` events (the next chunk is read on another
 * connection while one is added), then, in one transaction under the subscription's lock,
 * installs it and sets the checkpoint to the horizon's last event: the runner goes on with
 * exactly the events after it, whichever process runs it.
 *
 * The horizon is the one every reader of the log keeps (readLogHorizon): below it the log no
 * longer changes, so reading it takes no lock, and the runner may go on meanwhile with the old
 * output, which the install replaces, moving its checkpoint back to the horizon if it went
 * past. Only the install holds the lock and a transaction id (which holds back the horizon of
 * every reader of the log while it is open), and should the rebuild stop before it, the output
 * and the checkpoint are as they were.
 */
export async function rebuildByStream(db: Database, handler: WholeStreamHandler, options: StreamRebuildOptions): Promise<StreamRebuildResult> {
  const name = handler.subscriptionName;
  const checkpoints = options.checkpoints ?? [name];
  return db.withClient(async (client) => {
    const session: SqlExecutor = { query: async (sql, params) => (await client.query(preparedQuery(sql, params))).rows };
    const horizon = await readLogHorizon(session);
    const rebuild = await handler.startRebuild(session);
    try {
      const read = (after: string | null) => readStreamChunk(db, after, { below: horizon.below, limit: options.chunkSize, types: handler.eventTypes });
      let chunks = 0;
      let eventsRead = 0;
      const onProgress = options.onProgress;
      const eventsToRead = onProgress ? await countBelow(session, horizon.below, handler.eventTypes) : 0;
      onProgress?.({ eventsRead, eventsToRead, chunks });
      let next: Promise<StreamChunk> | undefined = read(null);
      let written: Promise<void> = Promise.resolve();
      while (next) {
        const chunk: StreamChunk = await next;
        next = chunk.lastStreamId === null ? undefined : read(chunk.lastStreamId);
        // A read or a write left behind by a failure must not surface as an unhandled rejection.
        next?.catch(() => undefined);
        const adding = rebuild.add(chunk.events);
        adding.catch(() => undefined);
        await written;
        written = adding;
        chunks++;
        eventsRead += chunk.events.length;
        onProgress?.({ eventsRead, eventsToRead, chunks });
      }
      await written;
      const checkpoint = horizon.last ?? LOG_START;
      await inTransaction(client, session, async (tx) => {
        const existing = await subscriptionCheckpoints(tx, name);
        await lockSubscriptions(tx, [...existing.map((row) => row.name), ...checkpoints]);
        await rebuild.install(tx);
        // Every partition goes on from the horizon: what each holds below it is in the output.
        await tx.query(`DELETE FROM es_subscriptions WHERE name = $1 OR starts_with(name, $1 || '#')`, [name]);
        for (const [i, checkpointName] of checkpoints.entries()) await writeCheckpoint(tx, checkpointName, checkpoint, i === 0 ? horizon.events : 0);
      });
      return { events: horizon.events, chunks, checkpoint };
    } finally {
      // Not to hide the error that brought us here: what a failed close leaves on the session
      // goes with it, or with the next rebuild's start on it.
      await rebuild.close().catch(() => undefined);
    }
  });
}

async function inTransaction(client: PoolClient, session: SqlExecutor, work: (tx: SqlExecutor) => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await work(session);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
