import { randomUUID } from 'node:crypto';
import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { Database } from '../../../database/database';
import { isDatabaseUnavailable, isTransientDatabaseError } from '../../../database/database-errors';
import { GroupCommitBatcher } from '../../../database/group-commit-batcher';
import { appendNewStreams, type NewStreamEvent } from '../../../event-store/append-new-streams';
import { TrackingMetrics } from '../tracking.metrics';
import { GupshupCallbackReceived, rawCallbackStreamId } from './gupshup-callback-received.event';

/** A callback to record: the body's text as received (valid JSON), and who sent it. */
export interface RawCallback {
  appId: string;
  receivedAt: Date;
  authenticated: boolean;
  text: string;
  /** Keep the body as text rather than JSON (jsonb refused it once). */
  asText?: boolean;
}

/**
 * JSON escapes jsonb refuses: \u0000, and surrogates (a pair is fine, but telling a pair from a
 * lone one costs more than the rare body that has either, which is kept as text instead).
 */
const ESCAPES_JSONB_REFUSES = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * The event's data as JSON text, built around the body's own text: the body is not serialised
 * again, and PostgreSQL parses it once, into jsonb.
 */
function dataJson(callback: RawCallback): string {
  const head = `{"appId":${JSON.stringify(callback.appId)},"receivedAt":"${callback.receivedAt.toISOString()}","authenticated":${callback.authenticated},`;
  if (callback.asText || ESCAPES_JSONB_REFUSES.test(callback.text)) return `${head}"bodyText":${JSON.stringify(callback.text)}}`;
  return `${head}"body":${callback.text}}`;
}

/**
 * Records callbacks as GupshupCallbackReceived events, a new stream each, with group commit:
 * callbacks that arrive together are written by one statement (its own transaction), and each
 * request is answered once that statement has committed. Nothing is read or looked up here.
 */
@Injectable()
export class RawCallbackRecorder implements BeforeApplicationShutdown {
  private readonly batcher: GroupCommitBatcher<RawCallback, void>;

  constructor(
    private readonly db: Database,
    private readonly metrics: TrackingMetrics,
    config: AppConfig,
  ) {
    this.batcher = new GroupCommitBatcher<RawCallback, void>(
      {
        commitBatch: (callbacks) => this.commit(callbacks),
        retryItemsAlone: (error) => !isDatabaseUnavailable(error),
      },
      {
        maxWaitMs: config.get('WEBHOOK_BATCH_MAX_WAIT_MS'),
        maxBatchSize: config.get('WEBHOOK_BATCH_MAX_SIZE'),
        // Few batches at a time: callbacks that arrive meanwhile gather into bigger batches, and
        // the database's cost per callback (round trips, commits) falls as batches grow.
        maxConcurrentBatches: Math.min(config.get('WEBHOOK_BATCH_CONCURRENCY'), Math.max(1, config.get('DATABASE_POOL_SIZE') - 2)),
      },
    );
  }

  /**
   * Resolves once the callback is committed; rejects when it could not be (see
   * isTransientDatabaseError for the failures worth a 503). A body jsonb refuses (nesting deeper
   * than PostgreSQL's parser goes) is recorded again as text.
   */
  async record(callback: RawCallback): Promise<void> {
    try {
      await this.batcher.submit(callback);
    } catch (error) {
      if (callback.asText || isTransientDatabaseError(error)) throw error;
      await this.batcher.submit({ ...callback, asText: true });
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.batcher.flush();
  }

  private async commit(callbacks: RawCallback[]): Promise<void[]> {
    const events: NewStreamEvent[] = callbacks.map((callback) => {
      const eventId = randomUUID();
      return { streamId: rawCallbackStreamId(eventId), eventId, dataJson: dataJson(callback) };
    });
    await appendNewStreams(this.db, GupshupCallbackReceived, events);
    this.metrics.batch(callbacks.length);
    return callbacks.map(() => undefined);
  }
}
