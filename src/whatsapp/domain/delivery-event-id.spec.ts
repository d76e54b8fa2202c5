import { deliveryEventId, deliveryEventIdOf, deliveryStatusChanged } from './delivery-event-id';
import { APP_ID, GUPSHUP_ID, MESSAGE_ID, WHATSAPP_ID } from './message-events.fixtures';

const V5_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('deliveryEventId', () => {
  it('is a version 5 UUID, the same for the same callback', () => {
    const id = deliveryEventId(APP_ID, GUPSHUP_ID, 'delivered', 1747136691000);
    expect(id).toMatch(V5_UUID);
    expect(deliveryEventId(APP_ID, GUPSHUP_ID, 'delivered', 1747136691000)).toBe(id);
  });

  it('gives the v2 and v3 copies of a receipt the same id: both carry the time in seconds', () => {
    // v2 `payload.payload.ts: 1710930461` and v3 `timestamp: "1710930461"`, normalised to ms.
    expect(deliveryEventId(APP_ID, GUPSHUP_ID, 'sent', 1710930461 * 1000)).toBe(
      deliveryEventId(APP_ID, GUPSHUP_ID, 'sent', 1710930461 * 1000 + 999),
    );
  });

  it('gives the v2 and v3 copies of enqueued and failed the same id although their times differ', () => {
    // v3 carries its own time, v2 only the envelope's generation time, possibly seconds apart.
    for (const status of ['enqueued', 'failed'] as const) {
      expect(deliveryEventId(APP_ID, GUPSHUP_ID, status, 1710941393420)).toBe(
        deliveryEventId(APP_ID, GUPSHUP_ID, status, 1710941395871),
      );
    }
  });

  it('tells apart two statuses at the same second', () => {
    const at = 1585344602000;
    const ids = new Set(
      (['enqueued', 'sent', 'delivered', 'read', 'failed'] as const).map((status) =>
        deliveryEventId(APP_ID, GUPSHUP_ID, status, at),
      ),
    );
    expect(ids.size).toBe(5);
  });

  it('tells apart one status reported at two different seconds', () => {
    expect(deliveryEventId(APP_ID, GUPSHUP_ID, 'sent', 1710930461000)).not.toBe(
      deliveryEventId(APP_ID, GUPSHUP_ID, 'sent', 1710930462000),
    );
  });

  it('tells apart messages and apps', () => {
    const id = deliveryEventId(APP_ID, GUPSHUP_ID, 'read', 1585344602000);
    expect(deliveryEventId(APP_ID, WHATSAPP_ID, 'read', 1585344602000)).not.toBe(id);
    expect(deliveryEventId('app-2', GUPSHUP_ID, 'read', 1585344602000)).not.toBe(id);
  });

  it('cannot confuse fields that run into each other', () => {
    expect(deliveryEventId('a', 'bc', 'read', 0)).not.toBe(deliveryEventId('ab', 'c', 'read', 0));
  });

  it('refuses a missing id or time', () => {
    expect(() => deliveryEventId('', GUPSHUP_ID, 'read', 0)).toThrow('appId');
    expect(() => deliveryEventId(APP_ID, '', 'read', 0)).toThrow('message id');
    expect(() => deliveryEventId(APP_ID, GUPSHUP_ID, 'read', Number.NaN)).toThrow('time');
  });
});

describe('deliveryStatusChanged', () => {
  const base = {
    appId: APP_ID,
    messageId: MESSAGE_ID,
    occurredAt: '2024-03-20T10:27:41.000Z',
    receivedAt: '2024-03-20T10:27:43.120Z',
  };

  it('derives the status and keys the event by the Gupshup id', () => {
    const event = deliveryStatusChanged({ ...base, providerStatus: 'read', providerMessageId: GUPSHUP_ID, format: 'v3' });
    expect(event.data.status).toBe('seen');
    expect(event.eventId).toBe(deliveryEventId(APP_ID, GUPSHUP_ID, 'read', Date.parse(base.occurredAt)));
    expect(deliveryEventIdOf(event.data)).toBe(event.eventId);
  });

  it('gives a v2 and a v3 copy one id, whatever else differs', () => {
    const v2 = deliveryStatusChanged({
      ...base,
      providerStatus: 'failed',
      providerMessageId: GUPSHUP_ID,
      occurredAt: '2024-03-20T10:27:41.870Z',
      code: '131047',
      reason: 'Message failed to send because more than 24 hours have passed',
      format: 'v2',
    });
    const v3 = deliveryStatusChanged({
      ...base,
      providerStatus: 'failed',
      providerMessageId: GUPSHUP_ID,
      whatsappMessageId: 'wamid.HBgMOTE5MTYzODA1ODcz',
      code: '131047',
      reason: 'Re-engagement message',
      format: 'v3',
      receivedAt: '2024-03-20T10:27:44.000Z',
    });
    expect(v3.eventId).toBe(v2.eventId);
  });

  it('keys a callback without the Gupshup id by the WhatsApp id', () => {
    const event = deliveryStatusChanged({ ...base, providerStatus: 'delivered', whatsappMessageId: WHATSAPP_ID, format: 'v2' });
    expect(event.eventId).toBe(deliveryEventId(APP_ID, WHATSAPP_ID, 'delivered', Date.parse(base.occurredAt)));
  });
});
