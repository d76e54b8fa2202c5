import type { StoreEvent, StoredEvent } from '../../event-store';
import { isMessageEvent, NotificationRequested, type WhatsAppMessageEvent } from '../domain';
import { messageStatusRecord, storableTime } from './message-status-row';
import type { ViewCounters } from './view-counters';
import type { MessageChange } from './view-deltas';

/** A message's view before and after some of its events, and the stream position of the last of them. */
export interface ProjectedChange extends MessageChange {
  lastStreamPosition: number;
}

/** One message's events in a batch, in the order given, and the stream position of the last. */
export interface MessageEvents {
  events: WhatsAppMessageEvent[];
  lastStreamPosition: number;
}

/** The records message_status_view's rows are written from, as one JSON array. */
export function messageRecordsJson(changes: readonly ProjectedChange[]): string {
  return JSON.stringify(changes.map((change) => messageStatusRecord(change.after, change.lastStreamPosition)));
}

/**
 * A batch's message events by message id, each turned into its class by `instantiate`; what its
 * NotificationRequested events say goes to `counters`.
 */
export function groupByMessage<E extends StoredEvent>(
  events: readonly E[],
  instantiate: (stored: E) => StoreEvent,
  counters: ViewCounters,
): Map<string, MessageEvents> {
  const byMessage = new Map<string, MessageEvents>();
  for (const stored of events) {
    const event = instantiate(stored);
    if (event instanceof NotificationRequested) {
      const { requestId, appId, requestedAt, category, notification, title, message } = event.data;
      counters.addRequest(requestId, {
        appId,
        requestedAt: storableTime(requestedAt),
        category: category ?? null,
        // Requests recorded before the whole notification was kept: what they had of it.
        notification: notification ?? { title, ...(message ? { message } : {}) },
      });
    } else if (isMessageEvent(event)) {
      const message = byMessage.get(event.data.messageId);
      if (message) {
        message.events.push(event);
        message.lastStreamPosition = stored.streamPosition;
      } else byMessage.set(event.data.messageId, { events: [event], lastStreamPosition: stored.streamPosition });
    }
  }
  return byMessage;
}
