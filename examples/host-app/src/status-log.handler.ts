import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { EventsHandler, type IEventHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { WhatsAppMessageStatusChanged } from 'whatsapp-notify';

/**
 * Keeps every status a message reaches in the host's own table. Events come at least once, so a
 * repeat is ignored (one row per message and status); the writes still running when the
 * application stops are awaited, so none is cut off.
 */
@Injectable()
@EventsHandler(WhatsAppMessageStatusChanged)
export class StatusLogHandler implements IEventHandler<WhatsAppMessageStatusChanged>, BeforeApplicationShutdown {
  private readonly writing = new Set<Promise<unknown>>();

  constructor(private readonly dataSource: DataSource) {}

  handle(event: WhatsAppMessageStatusChanged): Promise<unknown> {
    const write = this.dataSource
      .query(
        `INSERT INTO order_message_statuses (app_id, message_id, status, previous, at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (message_id, status) DO NOTHING`,
        [event.appId, event.messageId, event.status, event.previousStatus, event.at],
      )
      .finally(() => this.writing.delete(write));
    this.writing.add(write);
    return write;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.writing]);
  }
}
