import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import type { PoolClient } from 'pg';
import { Database } from '../database/database';
import { MESSAGE_VIEWS_CHANGED_CHANNEL, parseMessageViewsChanged } from '../whatsapp/projections/message-views-changed';
import { GetWhatsAppMessagesQuery } from '../whatsapp/queries/messages/get-message.query';
import type { MessageResponse } from '../whatsapp/queries/message-response';

/** Receives the feed's events: `messages` (changed messages, as GET /v3/messages shows them) and `resync` (read again: changes may have been missed). */
export type LiveFeedListener = (event: 'messages' | 'resync', data: unknown) => void;

/** Changes announced within this long are read in one query per app. */
const COALESCE_MS = 50;
const LISTEN_RETRY_MAX_MS = 5000;

/**
 * Changed messages, pushed to the dashboard's open pages. One LISTEN connection per process hears
 * the projection's announcements (with each committed batch); the changed rows of an app are
 * read once, through the same query as GET /v3/messages/{id}, for all of that app's open pages.
 * A browser never reads the database in a loop, and nothing is read while nobody watches.
 */
@Injectable()
export class DashboardLiveFeed implements BeforeApplicationShutdown {
  private readonly logger = new Logger('DashboardLiveFeed');
  private readonly listeners = new Map<string, Set<LiveFeedListener>>();
  private readonly pending = new Map<string, Set<string>>();
  private flushTimer?: NodeJS.Timeout;
  private connection?: { client: PoolClient; release: (error?: Error) => void };
  private connecting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private retries = 0;
  private stopped = false;
  private readonly streamsToClose = new Set<() => void>();

  constructor(
    private readonly db: Database,
    private readonly queries: QueryBus,
  ) {}

  /** Starts listening on the first subscriber; answers the unsubscribe function. */
  subscribe(appId: string, listener: LiveFeedListener): () => void {
    let set = this.listeners.get(appId);
    if (!set) this.listeners.set(appId, (set = new Set()));
    set.add(listener);
    void this.ensureListening();
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(appId) === set) this.listeners.delete(appId);
    };
  }

  /** `close` is called when the service stops; answers how to take it back. */
  onShutdown(close: () => void): () => void {
    this.streamsToClose.add(close);
    return () => this.streamsToClose.delete(close);
  }

  get subscriberCount(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  /** Resolves once the LISTEN is in place (or failed, then retried in the background). */
  ensureListening(): Promise<void> {
    if (this.stopped || this.connection) return Promise.resolve();
    this.connecting ??= this.listen().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const close of [...this.streamsToClose]) close();
    clearTimeout(this.flushTimer);
    clearTimeout(this.retryTimer);
    await this.connecting;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) {
      await connection.client.query(`UNLISTEN ${MESSAGE_VIEWS_CHANGED_CHANNEL}`).catch(() => undefined);
      connection.release();
    }
  }

  private async listen(): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.db.pool.connect();
    } catch (error) {
      return this.retryLater(error as Error);
    }
    let released = false;
    const release = (error?: Error) => {
      if (released) return;
      released = true;
      if (this.connection?.client === client) this.connection = undefined;
      client.release(error);
    };
    client.on('error', (error) => {
      if (released) return;
      release(error);
      this.retryLater(error);
    });
    client.on('notification', (notification) => {
      const changed = notification.payload ? parseMessageViewsChanged(notification.payload) : null;
      if (changed) this.enqueue(changed.appId, changed.messageIds);
    });
    try {
      await client.query(`LISTEN ${MESSAGE_VIEWS_CHANGED_CHANNEL}`);
    } catch (error) {
      release(error as Error);
      return this.retryLater(error as Error);
    }
    if (this.stopped) return release();
    this.connection = { client, release };
    if (this.retries > 0) {
      this.logger.log('listening for changed messages again');
      // Whatever changed while nobody listened is unknown: open pages read their view again.
      this.broadcast('resync', {});
    }
    this.retries = 0;
  }

  private retryLater(error: Error): void {
    if (this.stopped || this.retryTimer) return;
    this.logger.warn({ message: `LISTEN ${MESSAGE_VIEWS_CHANGED_CHANNEL} unavailable: live updates paused until it is back`, error: error.message });
    const delay = Math.min(LISTEN_RETRY_MAX_MS, 100 * 2 ** Math.min(this.retries++, 10));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.listeners.size > 0) void this.ensureListening();
    }, delay);
    this.retryTimer.unref();
  }

  private enqueue(appId: string, messageIds: string[]): void {
    if (!this.listeners.has(appId)) return;
    let ids = this.pending.get(appId);
    if (!ids) this.pending.set(appId, (ids = new Set()));
    for (const id of messageIds) ids.add(id);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, COALESCE_MS);
  }

  private async flush(): Promise<void> {
    const batches = [...this.pending];
    this.pending.clear();
    for (const [appId, ids] of batches) {
      const listeners = this.listeners.get(appId);
      if (!listeners?.size) continue;
      let messages: MessageResponse[];
      try {
        messages = await this.queries.execute(new GetWhatsAppMessagesQuery(appId, [...ids]));
      } catch (error) {
        this.logger.warn({ message: 'changed messages could not be read; open pages will read their view again', appId, error: (error as Error).message });
        for (const listener of listeners) listener('resync', {});
        continue;
      }
      if (messages.length > 0) for (const listener of listeners) listener('messages', messages);
    }
  }

  private broadcast(event: 'resync', data: unknown): void {
    for (const set of this.listeners.values()) for (const listener of set) listener(event, data);
  }
}
