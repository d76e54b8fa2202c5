import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { Database } from '../../database/database';
import { EventStore, PartitionedSubscription, partitionCountOf, rebuildByStream, type StreamRebuildProgress } from '../../event-store';
import { MessageViewsProjection } from './message-views.projection';

/** Longest the catch-up after the swap waits on live runners and old transactions: a safety net, not a schedule. */
const REBUILD_CATCH_UP_GIVE_UP_MS = 24 * 60 * 60_000;

export interface RebuildResult {
  projection: string;
  /**
   * Events the projection holds since the rebuild: those below its horizon, then those processed
   * after it, by this rebuild or by a live runner taking turns with it.
   */
  events: number;
  /** Chunks of whole streams read, then batches of the log after the horizon. */
  batches: number;
  seconds: number;
  eventsPerSecond: number;
}

/** Where a rebuild is: reading the log stream by stream, then the events committed since it began. */
export type RebuildProgress = { projection: string } & ({ phase: 'streams'; progress: StreamRebuildProgress } | { phase: 'catching-up' });

export interface RebuildOptions {
  onProgress?: (progress: RebuildProgress) => void;
}

export class UnknownProjectionError extends Error {
  constructor(name: string, known: string[]) {
    super(`No projection named "${name}"; known: ${known.join(', ')}`);
    this.name = 'UnknownProjectionError';
  }
}

/**
 * Builds projections again from the whole log. A projection depends on each message's stream
 * in stream order only, so the rebuild reads the log stream by stream, in chunks of about
 * PROJECTION_REBUILD_BATCH_SIZE events, folds each message once and swaps the result in, with
 * the checkpoint at the last event it read (rebuildByStream). The events committed since, or
 * held back by a transaction still open when it began, then follow batch by batch in log order,
 * processed by this rebuild or by the live runner, whichever takes its turn. The views keep
 * their old rows until the swap, which a running service's own runner waits for.
 */
@Injectable()
export class ProjectionRebuilder {
  private readonly logger = new Logger(ProjectionRebuilder.name);
  private readonly projections: readonly MessageViewsProjection[];

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly config: AppConfig,
    messageViews: MessageViewsProjection,
  ) {
    this.projections = [messageViews];
  }

  /** The projections' names: their subscriptions' names. */
  names(): string[] {
    return this.projections.map((projection) => projection.subscriptionName);
  }

  /** A projection, by its own name or by the name of a table it builds. */
  find(name: string): MessageViewsProjection {
    const found = this.projections.find(
      (projection) => projection.subscriptionName === name || (projection.tables as readonly string[]).includes(name),
    );
    if (!found) {
      const known = this.projections.flatMap((projection) => [projection.subscriptionName, ...projection.tables]);
      throw new UnknownProjectionError(name, known);
    }
    return found;
  }

  /**
   * Rebuilds the projection named (see find), or every one; resolves when each has processed
   * every event committed before its rebuild began, and every event readable after that.
   */
  async rebuild(name?: string, options: RebuildOptions = {}): Promise<RebuildResult[]> {
    const targets = name === undefined ? this.projections : [this.find(name)];
    const results: RebuildResult[] = [];
    for (const projection of targets) results.push(await this.rebuildOne(projection, options));
    return results;
  }

  private async rebuildOne(projection: MessageViewsProjection, { onProgress }: RebuildOptions): Promise<RebuildResult> {
    const pollIntervalMs = this.config.get('SUBSCRIPTION_POLL_MS');
    const batchSize = this.config.get('PROJECTION_REBUILD_BATCH_SIZE');
    const started = performance.now();
    const subscriptionName = projection.subscriptionName;
    const subscription = new PartitionedSubscription(this.db, this.store, projection, partitionCountOf(projection, this.config.get('SUBSCRIPTION_PARTITIONS')), {
      batchSize,
      pollIntervalMs,
    });
    const byStream = await rebuildByStream(this.db, projection, {
      chunkSize: batchSize,
      checkpoints: subscription.checkpointNames(),
      onProgress: onProgress && ((progress) => onProgress({ projection: subscriptionName, phase: 'streams', progress })),
    });
    let batches = byStream.chunks;
    onProgress?.({ projection: subscriptionName, phase: 'catching-up' });
    // Everything committed before the catch-up began, partition by partition, whatever holds it
    // back for a while: the live runners taking their turns, or an older transaction still open
    // (the log is read only below the oldest running transaction, server-wide).
    batches += await subscription.catchUp(REBUILD_CATCH_UP_GIVE_UP_MS);
    const seconds = (performance.now() - started) / 1000;
    const [row] = await this.db.query<{ events_processed: string }>(
      `SELECT sum(events_processed)::text AS events_processed FROM es_subscriptions WHERE name = $1 OR starts_with(name, $1 || '#')`,
      [projection.subscriptionName],
    );
    const events = Number(row?.events_processed ?? 0);
    const result: RebuildResult = {
      projection: projection.subscriptionName,
      events,
      batches,
      seconds: Math.round(seconds * 1000) / 1000,
      eventsPerSecond: seconds > 0 ? Math.round(events / seconds) : events,
    };
    this.logger.log(`rebuilt ${result.projection}: ${events} events in ${result.seconds} s (${result.eventsPerSecond} events/s)`);
    return result;
  }
}
