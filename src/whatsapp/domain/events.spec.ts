import { eventTypeOf, toStoreEvent, type EventClass, type RecordedEvent } from '../../event-store/event';
import {
  DeliveryStatusChanged,
  isMessageEvent,
  MESSAGE_EVENTS,
  MESSAGE_STREAM_TYPE,
  messageStreamId,
  NOTIFICATION_STREAM_TYPE,
  NotificationRequested,
  notificationStreamId,
  WhatsAppDispatchFailed,
  WhatsAppDispatchOutcomeUnknown,
  WhatsAppMessageDiscarded,
  WhatsAppMessageQueued,
  WhatsAppMessageSent,
} from './events';
import { callback, queued, REQUEST_ID } from './message-events.fixtures';

describe('WhatsApp events', () => {
  it.each<[EventClass, string]>([
    [NotificationRequested, 'NotificationRequested'],
    [WhatsAppMessageQueued, 'WhatsAppMessageQueued'],
    [WhatsAppMessageSent, 'WhatsAppMessageSent'],
    [WhatsAppDispatchFailed, 'WhatsAppDispatchFailed'],
    [WhatsAppDispatchOutcomeUnknown, 'WhatsAppDispatchOutcomeUnknown'],
    [DeliveryStatusChanged, 'DeliveryStatusChanged'],
    [WhatsAppMessageDiscarded, 'WhatsAppMessageDiscarded'],
  ])('%p is stored as %s, schema version 1', (eventClass, type) => {
    expect(eventTypeOf(eventClass)).toMatchObject({ type, schemaVersion: 1 });
  });

  it('names the streams by type and id', () => {
    expect(messageStreamId('m-1')).toBe('whatsapp_message-m-1');
    expect(notificationStreamId('r-1')).toBe('whatsapp_notification-r-1');
    expect(MESSAGE_STREAM_TYPE).toBe('whatsapp_message');
    expect(NOTIFICATION_STREAM_TYPE).toBe('whatsapp_notification');
  });

  it('lists every event of a message stream, and only those', () => {
    expect(MESSAGE_EVENTS).toHaveLength(7);
    expect(MESSAGE_EVENTS).not.toContain(NotificationRequested);
    expect(isMessageEvent(queued())).toBe(true);
    const requested = new NotificationRequested({
      appId: 'app-1',
      requestId: REQUEST_ID,
      title: 'Your order shipped',
      message: 'Track it at https://example.com/t/1',
      data: {},
      sendAt: null,
      messageIds: ['m-1'],
      recipients: ['user-1'],
      override: null,
      requestedAt: '2026-03-01T10:00:00.000Z',
    });
    expect(isMessageEvent(requested)).toBe(false);
  });

  it('reads back from its stored JSON as the same class with the same data', () => {
    const event = callback('failed', '2026-03-01T10:00:03.000Z', { code: '1002', reason: 'Number Does Not Exist On WhatsApp' });
    const recorded: RecordedEvent = {
      streamId: messageStreamId(event.data.messageId),
      streamPosition: 3,
      globalPosition: '42',
      transactionId: '1000',
      createdAt: new Date('2026-03-01T10:00:04.000Z'),
      eventId: event.eventId,
      type: event.type,
      schemaVersion: 1,
      data: JSON.parse(JSON.stringify(event.data)) as Record<string, unknown>,
      metadata: {},
    };
    const read = toStoreEvent(recorded);
    expect(read).toBeInstanceOf(DeliveryStatusChanged);
    expect(read.data).toEqual(event.data);
    expect(read.eventId).toBe(event.eventId);
  });
});
