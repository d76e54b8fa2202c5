import { NotificationRequested } from './events';
import {
  APP_ID,
  callback,
  discarded,
  dispatchFailed,
  GUPSHUP_ID,
  MESSAGE_ID,
  outcomeUnknown,
  QUEUED_AT,
  queued,
  REQUEST_ID,
  SENT_AT,
  sent,
  WHATSAPP_ID,
} from './message-events.fixtures';
import { applyToMessageView, emptyMessageView, foldMessageView, type MessageView } from './message-view';

const at = (second: number) => new Date(Date.UTC(2026, 2, 1, 10, 0, second)).toISOString();

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

describe('message view', () => {
  it('has exactly the API shape plus appId, attempts and lastError', () => {
    expect(Object.keys(foldMessageView([queued()])).sort()).toEqual(
      [
        'messageId', 'requestId', 'recipient', 'phoneNumber', 'provider', 'providerMessageId', 'whatsappMessageId',
        'status', 'queuedAt', 'sentAt', 'deliveredAt', 'seenAt', 'discardedAt', 'discardReason', 'timeline',
        'category', 'template', 'pricing', 'appId', 'attempts', 'lastError',
      ].sort(),
    );
  });

  it('starts empty and queued', () => {
    expect(emptyMessageView()).toMatchObject({ messageId: '', status: 'queued', timeline: [], attempts: 0 });
  });

  it('shows a queued message', () => {
    expect(foldMessageView([queued()])).toEqual({
      appId: APP_ID,
      messageId: MESSAGE_ID,
      requestId: REQUEST_ID,
      recipient: 'user-1',
      phoneNumber: '+919988776655',
      provider: 'gupshup_whatsapp',
      providerMessageId: null,
      whatsappMessageId: null,
      category: null,
      template: null,
      status: 'queued',
      queuedAt: QUEUED_AT,
      sentAt: null,
      deliveredAt: null,
      seenAt: null,
      discardedAt: null,
      discardReason: null,
      timeline: [{ status: 'queued', at: QUEUED_AT, receivedAt: QUEUED_AT }],
      attempts: 0,
      lastError: null,
      pricing: null,
    });
  });

  it('shows a message Gupshup accepted as sent, with its id and no provider word', () => {
    const view = foldMessageView([queued(), sent()]);
    expect(view).toMatchObject({ status: 'sent', sentAt: SENT_AT, providerMessageId: GUPSHUP_ID, attempts: 1 });
    expect(view.timeline).toEqual([
      { status: 'queued', at: QUEUED_AT, receivedAt: QUEUED_AT },
      { status: 'sent', at: SENT_AT, receivedAt: SENT_AT },
    ]);
  });

  it('follows the callbacks to seen, recording the provider word and both times', () => {
    const view = foldMessageView([
      queued(),
      sent(),
      callback('enqueued', at(2)),
      callback('sent', at(3)),
      callback('delivered', at(4)),
      callback('read', at(9)),
    ]);
    expect(view).toMatchObject({
      status: 'seen',
      sentAt: SENT_AT,
      deliveredAt: at(4),
      seenAt: at(9),
      whatsappMessageId: WHATSAPP_ID,
      discardedAt: null,
    });
    expect(view.timeline.slice(2)).toEqual([
      { status: 'sent', providerStatus: 'enqueued', at: at(2), receivedAt: at(3) },
      { status: 'sent', providerStatus: 'sent', at: at(3), receivedAt: at(4) },
      { status: 'delivered', providerStatus: 'delivered', at: at(4), receivedAt: at(5) },
      { status: 'seen', providerStatus: 'read', at: at(9), receivedAt: at(10) },
    ]);
  });

  it('ends seen on a read receipt without a delivered one', () => {
    const view = foldMessageView([queued(), sent(), callback('read', at(6))]);
    expect(view).toMatchObject({ status: 'seen', seenAt: at(6), deliveredAt: null });
  });

  it('stays delivered when a failure comes after delivery, keeping the failure in the timeline', () => {
    const view = foldMessageView([
      queued(),
      sent(),
      callback('delivered', at(4)),
      callback('failed', at(7), { code: '131026', reason: 'Message undeliverable' }),
    ]);
    expect(view).toMatchObject({ status: 'delivered', deliveredAt: at(4), discardedAt: null, discardReason: null });
    // Even from an event stored without afterReceipt: the entry shows what the message had reached by its time.
    expect(view.timeline.at(-1)).toEqual({
      status: 'delivered',
      providerStatus: 'failed',
      at: at(7),
      receivedAt: at(8),
      code: '131026',
      reason: 'Message undeliverable',
    });
  });

  it('ends discarded with the code and reason of a failure before anything else', () => {
    const view = foldMessageView([
      queued(),
      sent(),
      callback('failed', at(3), { code: '1002', reason: 'Number Does Not Exist On WhatsApp' }),
    ]);
    expect(view).toMatchObject({
      status: 'discarded',
      discardedAt: at(3),
      discardReason: { code: '1002', reason: 'Number Does Not Exist On WhatsApp' },
    });
  });

  it('gives up discarded for delivered when a delivery is reported, whichever came first', () => {
    const failure = callback('failed', at(3), { code: '470', reason: '24 hours have passed' });
    const delivery = callback('delivered', at(5));
    for (const events of [
      [queued(), sent(), failure, delivery],
      [queued(), sent(), delivery, failure],
    ]) {
      expect(foldMessageView(events)).toMatchObject({ status: 'delivered', discardedAt: null, discardReason: null });
    }
  });

  it('takes the earliest failure as the discard', () => {
    const view = foldMessageView([
      queued(),
      sent(),
      callback('failed', at(8), { code: '131047', reason: 'Re-engagement message' }),
      discarded({ source: 'provider', code: 'expired', reason: 'No receipt in time', discardedAt: at(40) }),
    ]);
    expect(view).toMatchObject({ discardedAt: at(8), discardReason: { code: '131047', reason: 'Re-engagement message' } });
  });

  it('names a failure reported without code or reason', () => {
    const view = foldMessageView([queued(), sent(), callback('failed', at(3))]);
    expect(view.discardReason).toEqual({ code: 'unknown', reason: expect.stringContaining('without a reason') });
  });

  it('discards a message whose recipient has no phone number at once', () => {
    const view = foldMessageView([queued({ phoneNumber: null }), discarded()]);
    expect(view).toMatchObject({
      status: 'discarded',
      phoneNumber: null,
      discardedAt: QUEUED_AT,
      discardReason: { code: 'no_phone_number', reason: 'The user has no phone number' },
    });
    expect(view.timeline.map((entry) => entry.status)).toEqual(['queued', 'discarded']);
    expect(view.timeline[1]).not.toHaveProperty('providerStatus');
  });

  it('records failed dispatch attempts without changing the status, and a later success', () => {
    const failure = dispatchFailed();
    const afterFailure = foldMessageView([queued(), failure]);
    expect(afterFailure).toMatchObject({
      status: 'queued',
      attempts: 1,
      lastError: {
        attempt: 1,
        kind: 'http',
        httpStatus: 503,
        message: failure.data.error,
        at: failure.data.failedAt,
        nextAttemptAt: failure.data.nextAttemptAt,
      },
    });
    expect(afterFailure.timeline[1]).toEqual({
      status: 'queued',
      at: failure.data.failedAt,
      receivedAt: failure.data.failedAt,
      code: 'http_503',
      reason: failure.data.error,
    });

    const afterRetry = applyToMessageView(afterFailure, sent({ attempt: 2 }));
    expect(afterRetry).toMatchObject({ status: 'sent', attempts: 2, lastError: { attempt: 1 } });
  });

  it('keeps the failure of the highest attempt as the last error, in any order', () => {
    const first = dispatchFailed({ attempt: 1, errorKind: 'timeout', httpStatus: undefined, error: 'timed out' });
    const second = dispatchFailed({ attempt: 2, failedAt: at(30), nextAttemptAt: null, httpStatus: 400, error: 'bad request' });
    for (const events of [
      [queued(), first, second],
      [queued(), second, first],
    ]) {
      expect(foldMessageView(events).lastError).toMatchObject({ attempt: 2, httpStatus: 400, nextAttemptAt: null });
    }
    expect(foldMessageView([queued(), first]).timeline[1].code).toBe('timeout');
  });

  it('ends discarded when the dispatcher gives up', () => {
    const view = foldMessageView([
      queued(),
      dispatchFailed({ nextAttemptAt: null, httpStatus: 400, error: 'Gupshup answered 400' }),
      discarded({ source: 'dispatch', code: 'http_400', reason: 'Gupshup rejected the request', discardedAt: at(1) }),
    ]);
    expect(view).toMatchObject({ status: 'discarded', discardReason: { code: 'http_400' }, discardedAt: at(1) });
  });

  it('marks an attempt whose answer was lost, and lets a callback reconcile it', () => {
    const lost = foldMessageView([queued(), outcomeUnknown(1)]);
    expect(lost).toMatchObject({ status: 'queued', attempts: 1, lastError: { kind: 'outcome_unknown', attempt: 1 } });
    expect(lost.timeline[1]).toMatchObject({ status: 'queued', code: 'outcome_unknown', receivedAt: '2026-03-01T10:01:00.000Z' });

    const reconciled = applyToMessageView(lost, callback('enqueued', at(2)));
    expect(reconciled).toMatchObject({ status: 'sent', sentAt: at(2), providerMessageId: GUPSHUP_ID });
  });

  it('takes sentAt and the Gupshup id from callbacks until the send result is recorded', () => {
    const fromCallbacks = { providerMessageId: 'gs-from-callbacks' };
    const early = foldMessageView([queued(), callback('sent', at(5), fromCallbacks), callback('enqueued', at(2), fromCallbacks)]);
    expect(early).toMatchObject({ status: 'sent', sentAt: at(2), providerMessageId: 'gs-from-callbacks' });

    const recorded = applyToMessageView(early, sent());
    expect(recorded).toMatchObject({ sentAt: SENT_AT, providerMessageId: GUPSHUP_ID });
    expect(applyToMessageView(recorded, callback('read', at(9), { providerMessageId: 'a-smaller-id' })).providerMessageId).toBe(
      GUPSHUP_ID,
    );
  });

  it('adds one entry for a callback delivered twice, keeping the earliest receivedAt', () => {
    const first = callback('delivered', at(4), { receivedAt: at(6) });
    const retry = callback('delivered', at(4), { receivedAt: at(20) });
    for (const events of [
      [queued(), sent(), first, retry],
      [queued(), sent(), retry, first],
    ]) {
      const view = foldMessageView(events);
      expect(view.timeline.filter((entry) => entry.providerStatus === 'delivered')).toEqual([
        { status: 'delivered', providerStatus: 'delivered', at: at(4), receivedAt: at(6) },
      ]);
    }
  });

  it('collapses the v2 and v3 copies of a receipt even when one lacks an id or writes its time differently', () => {
    const v2 = callback('read', '2026-03-01T10:00:09Z', { whatsappMessageId: undefined, format: 'v2' });
    const v3 = callback('read', at(9), { format: 'v3', receivedAt: at(12) });
    const view = foldMessageView([queued(), sent(), v3, v2]);
    expect(view.timeline.filter((entry) => entry.providerStatus === 'read')).toHaveLength(1);
    expect(view).toMatchObject({ seenAt: at(9), whatsappMessageId: WHATSAPP_ID });
  });

  it('orders the timeline by time, then by status rank, then by the provider word', () => {
    const view = foldMessageView([
      queued(),
      sent(),
      callback('read', at(4)),
      callback('delivered', at(4)),
      callback('sent', at(2)),
      callback('enqueued', at(2)),
    ]);
    expect(view.timeline.map((entry) => entry.providerStatus ?? entry.status)).toEqual([
      'queued',
      'sent',
      'enqueued',
      'sent',
      'delivered',
      'read',
    ]);
  });

  it('changes nothing when the same event is applied again', () => {
    const event = callback('delivered', at(4));
    const once = foldMessageView([queued(), sent(), event]);
    expect(applyToMessageView(once, event)).toEqual(once);
    expect(applyToMessageView(once, sent())).toEqual(once);
    expect(applyToMessageView(once, queued())).toEqual(once);
  });

  it('never modifies the view it is given', () => {
    const view = deepFreeze(foldMessageView([queued(), sent()]));
    const snapshot = JSON.stringify(view);
    const next: MessageView = applyToMessageView(view, callback('failed', at(3), { code: '1002', reason: 'x' }));
    expect(JSON.stringify(view)).toBe(snapshot);
    expect(next.status).toBe('discarded');
  });

  it('ignores events of other streams', () => {
    const view = foldMessageView([queued()]);
    const requested = new NotificationRequested({
      appId: APP_ID,
      requestId: REQUEST_ID,
      title: 't',
      message: 'm',
      data: {},
      sendAt: null,
      messageIds: [MESSAGE_ID],
      recipients: ['user-1'],
      requestedAt: QUEUED_AT,
    });
    expect(applyToMessageView(view, requested)).toBe(view);
  });

  it('refuses an event of another message', () => {
    const view = foldMessageView([queued()]);
    expect(() => applyToMessageView(view, sent({ messageId: 'another' }))).toThrow('another');
  });

  describe('a message tried again after a failed callback of a passing code', () => {
    const SECOND_ID = 'ff4a68a0-1203-4c85-8dc3-49d0b3226a35';
    const retried = () => [
      queued(),
      sent(),
      callback('enqueued', at(2)),
      callback('failed', at(3), { code: '130429', reason: 'Rate limit hit', retry: { attempt: 1, failureClass: 'passing', nextAttemptAt: at(5) } }),
      sent({ attempt: 2, providerMessageId: SECOND_ID, sentAt: at(6) }),
      callback('enqueued', at(7), { providerMessageId: SECOND_ID, whatsappMessageId: 'wamid.second' }),
      callback('delivered', at(8), { providerMessageId: SECOND_ID, whatsappMessageId: 'wamid.second' }),
    ];

    it('is never shown discarded while the retry is pending, and shows each try on its timeline', () => {
      const pending = foldMessageView(retried().slice(0, 4));
      expect(pending.status).toBe('sent');
      expect(pending.discardReason).toBeNull();
      expect(pending.lastError).toMatchObject({ attempt: 1, kind: 'callback', message: '130429: Rate limit hit', nextAttemptAt: at(5) });

      const view = foldMessageView(retried());
      expect(view.status).toBe('delivered');
      expect(view.timeline.map((entry) => [entry.status, entry.providerStatus ?? null])).toEqual([
        ['queued', null],
        ['sent', null],
        ['sent', 'enqueued'],
        ['queued', 'failed'],
        ['sent', null],
        ['sent', 'enqueued'],
        ['delivered', 'delivered'],
      ]);
      expect(view.timeline[3]).toMatchObject({ code: '130429', reason: 'Rate limit hit' });
      expect(view.attempts).toBe(2);
    });

    it("shows the latest attempt's Gupshup id, in either order of the sends", () => {
      expect(foldMessageView(retried()).providerMessageId).toBe(SECOND_ID);
      expect(foldMessageView([...retried()].reverse()).providerMessageId).toBe(SECOND_ID);
    });

    it('ends discarded when the failure came with no attempt left (no retry)', () => {
      const view = foldMessageView([queued(), sent(), callback('failed', at(3), { code: '130429', reason: 'Rate limit hit' })]);
      expect(view.status).toBe('discarded');
      expect(view.discardReason).toEqual({ code: '130429', reason: 'Rate limit hit' });
    });
  });

  describe('a failed callback received after the receipt', () => {
    it('shows the status the receipt gave on its timeline entry, never discarded, in any order', () => {
      const events = [queued(), sent(), callback('read', at(4)), callback('failed', at(6), { code: '1002', reason: 'Number Does Not Exist On WhatsApp', afterReceipt: 'seen' })];
      for (const order of [events, [...events].reverse()]) {
        const view = foldMessageView(order);
        expect(view).toMatchObject({ status: 'seen', discardedAt: null, discardReason: null });
        expect(view.timeline.find((entry) => entry.providerStatus === 'failed')).toMatchObject({ status: 'seen', code: '1002' });
      }
    });
  });
});
