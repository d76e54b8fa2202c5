import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { ApplicationBuses } from '../common/application-cqrs';
import { Database } from '../database/database';
import { NotificationListener } from '../database/notification-listener';
import { MESSAGE_VIEWS_CHANGED_CHANNEL, parseMessageViewsChanged } from '../whatsapp/projections/message-views-changed';
import { GetWhatsAppMessagesQuery } from '../whatsapp/queries/messages/get-message.query';
import type { MessageResponse } from '../whatsapp/queries/message-response';

/** Receives the feed's events: `messages` (changed messages, as GET /v3/messages shows them) and `resync` (read again: changes may have been missed). */
export type LiveFeedListener = (event: 'messages' | 'resync', data: unknown) => void;

/** Changes announced within this long are read in one query per app. */
const COALESCE_MS = 50;

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
  private readonly listener: NotificationListener;
  private stopped = false;
  private readonly streamsToClose = new Set<() => void>();

  constructor(
    db: Database,
    private readonly buses: ApplicationBuses,
  ) {
    this.listener = new NotificationListener(
      db.pool,
      {
        channel: MESSAGE_VIEWS_CHANGED_CHANNEL,
        announces: 'changed messages',
        meanwhile: 'live updates paused',
        onNotification: (payload) => {
          const changed = parseMessageViewsChanged(payload);
          if (changed) this.enqueue(changed.appId, changed.messageIds);
        },
        // Whatever changed while nobody listened is unknown: open pages read their view again.
        onResumed: () => this.broadcast('resync', {}),
        // Nobody watching: the next page to open starts listening again.
        wanted: () => this.listeners.size > 0,
        retryMaxMs: 5000,
      },
      this.logger,
    );
  }

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
    if (this.stopped) return Promise.resolve();
    return this.listener.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const close of [...this.streamsToClose]) close();
    clearTimeout(this.flushTimer);
    await this.listener.stop();
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
        messages = await this.buses.queryBus.execute(new GetWhatsAppMessagesQuery(appId, [...ids]));
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
