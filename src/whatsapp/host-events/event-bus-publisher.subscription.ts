import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { IEvent } from '@nestjs/cqrs';
import { ApplicationBuses } from '../../common/application-cqrs';
import type { SqlExecutor } from '../../database/database';
import { EventStoreSubscription, eventTypeOf, SubscriptionManager, toStoreEvent, type RecordedEvent, type SubscriptionHandler } from '../../event-store';
import { isMessageEvent, MESSAGE_EVENTS, NotificationRequested, trackStatus, untrackedMessage, type DiscardReason, type MessageStatus, type TrackedMessage } from '../domain';
import { WhatsAppMessageStatusChanged } from './whatsapp-message-status-changed.event';

export const EVENT_BUS_SUBSCRIPTION = 'host_event_bus';

interface StateRow {
  message_id: string;
  app_id: string;
  request_id: string | null;
  recipient: string | null;
  status: MessageStatus;
  discard_reason: DiscardReason | null;
}

/**
 * Publishes the WhatsApp domain events, and a WhatsAppMessageStatusChanged for every rise of a
 * message's status, on the application's EventBus, in log order. Each batch is published before
 * the transaction that moves this subscription's checkpoint commits: an event is published at
 * least once (again after a crash or a failed commit), and nothing is skipped across a restart.
 * EventBus handlers are called as the events are published; a handler's own asynchronous work is
 * its own to make durable (and idempotent, since a batch may come twice).
 */
@Injectable()
@EventStoreSubscription()
export class EventBusPublisher implements SubscriptionHandler, OnModuleDestroy {
  readonly subscriptionName = EVENT_BUS_SUBSCRIPTION;
  readonly eventTypes = [NotificationRequested, ...MESSAGE_EVENTS].map((eventClass) => eventTypeOf(eventClass).type);

  constructor(
    private readonly buses: ApplicationBuses,
    private readonly subscriptions: SubscriptionManager,
  ) {}

  async handle(recorded: RecordedEvent[], tx: SqlExecutor): Promise<void> {
    const events = recorded.map((each) => ({ event: toStoreEvent(each), recordedAt: each.createdAt }));
    const messageIds = [...new Set(events.flatMap(({ event }) => (isMessageEvent(event) ? [event.data.messageId] : [])))];
    const states = await this.loadStates(tx, messageIds);
    const published: IEvent[] = [];
    for (const { event, recordedAt } of events) {
      published.push(event);
      if (!isMessageEvent(event)) continue;
      const { appId, messageId } = event.data;
      let state = states.get(messageId);
      if (!state) {
        state = untrackedMessage(appId, messageId);
        states.set(messageId, state);
      }
      const rise = trackStatus(state, event, recordedAt);
      if (rise) published.push(new WhatsAppMessageStatusChanged({ appId, messageId, requestId: state.requestId, recipient: state.recipient, ...rise }));
    }
    await this.saveStates(tx, [...states.values()]);
    const { eventBus } = this.buses;
    for (const event of published) eventBus.publish(event);
  }

  async reset(tx: SqlExecutor): Promise<void> {
    await tx.query('DELETE FROM event_bus_message_states');
  }

  /**
   * Modules are destroyed from the application's root down to the global ones, CqrsModule (whose
   * EventBus then drops its handlers) among the last: this subscription stops first, so that no
   * batch is published to an EventBus without handlers and then counted as done.
   */
  async onModuleDestroy(): Promise<void> {
    if (this.subscriptions.names().includes(EVENT_BUS_SUBSCRIPTION)) await this.subscriptions.runner(EVENT_BUS_SUBSCRIPTION).stop();
  }

  private async loadStates(tx: SqlExecutor, messageIds: string[]): Promise<Map<string, TrackedMessage>> {
    if (messageIds.length === 0) return new Map();
    const rows = await tx.query<StateRow>(
      'SELECT message_id, app_id, request_id, recipient, status, discard_reason FROM event_bus_message_states WHERE message_id = ANY ($1::text[])',
      [messageIds],
    );
    return new Map(
      rows.map((row) => [
        row.message_id,
        { ...untrackedMessage(row.app_id, row.message_id), requestId: row.request_id, recipient: row.recipient, status: row.status, discardReason: row.discard_reason },
      ]),
    );
  }

  private async saveStates(tx: SqlExecutor, states: TrackedMessage[]): Promise<void> {
    const known = states.filter((state) => state.status !== null);
    if (known.length === 0) return;
    await tx.query(
      `INSERT INTO event_bus_message_states (message_id, app_id, request_id, recipient, status, discard_reason)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])
       ON CONFLICT (message_id) DO UPDATE SET request_id = EXCLUDED.request_id, recipient = EXCLUDED.recipient,
         status = EXCLUDED.status, discard_reason = EXCLUDED.discard_reason`,
      [
        known.map((s) => s.messageId),
        known.map((s) => s.appId),
        known.map((s) => s.requestId),
        known.map((s) => s.recipient),
        known.map((s) => s.status),
        known.map((s) => (s.discardReason ? JSON.stringify(s.discardReason) : null)),
      ],
    );
  }
}
