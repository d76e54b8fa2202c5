import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { EventsHandler, type IEventHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { WhatsAppMessageStatusChanged } from 'whatsapp-notify';

/**
 * Keeps every status a message reaches in the host's own table, in the order the events come.
 * The EventBus calls a handler without waiting for its promise, so two writes started side by side
 * could commit in either order: each write here starts after the one before it. Events come at
 * least once, so a repeat is ignored (one row per message and status); the last write is awaited
 * when the application stops, so none is cut off.
 */
@Injectable()
@EventsHandler(WhatsAppMessageStatusChanged)
export class StatusLogHandler implements IEventHandler<WhatsAppMessageStatusChanged>, BeforeApplicationShutdown {
  private lastWrite: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataSource: DataSource) {}

  handle(event: WhatsAppMessageStatusChanged): Promise<unknown> {
    const write = this.lastWrite.then(() =>
      this.dataSource.query(
        `INSERT INTO order_message_statuses (app_id, message_id, status, previous, at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (message_id, status) DO NOTHING`,
        [event.appId, event.messageId, event.status, event.previousStatus, event.at],
      ),
    );
    // A failed write is the caller's to see; the next one still runs.
    this.lastWrite = write.catch(() => undefined);
    return write;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.lastWrite;
  }
}
