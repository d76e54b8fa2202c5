import fc from 'fast-check';
import type { StoreEvent } from '../../event-store/event';
import { NotificationRequested } from './events';
import { callback, discarded, dispatchFailed, outcomeUnknown, queued, sent } from './message-events.fixtures';
import {
  canMoveTo,
  decideStatus,
  PROVIDER_STATUSES,
  STATUS_RANK,
  statusEvidence,
  statusFromProviderStatus,
  statusPrecedence,
  strongerStatus,
  strongestStatus,
  type MessageStatus,
  type ProviderStatus,
} from './status';

describe('statusFromProviderStatus', () => {
  it.each<[ProviderStatus, MessageStatus]>([
    ['enqueued', 'sent'],
    ['sent', 'sent'],
    ['delivered', 'delivered'],
    ['read', 'seen'],
    ['failed', 'discarded'],
  ])('maps %s to %s', (providerStatus, status) => {
    expect(statusFromProviderStatus(providerStatus)).toBe(status);
  });
});

describe('status rank', () => {
  it('orders queued < sent < delivered < seen', () => {
    expect(STATUS_RANK.queued).toBeLessThan(STATUS_RANK.sent);
    expect(STATUS_RANK.sent).toBeLessThan(STATUS_RANK.delivered);
    expect(STATUS_RANK.delivered).toBeLessThan(STATUS_RANK.seen);
  });

  it('lets discarded overtake queued and sent, and be overtaken by delivered and seen only', () => {
    expect(strongerStatus('queued', 'discarded')).toBe('discarded');
    expect(strongerStatus('sent', 'discarded')).toBe('discarded');
    expect(strongerStatus('discarded', 'sent')).toBe('discarded');
    expect(strongerStatus('discarded', 'delivered')).toBe('delivered');
    expect(strongerStatus('seen', 'discarded')).toBe('seen');
    expect(canMoveTo('discarded', 'sent')).toBe(false);
    expect(canMoveTo('discarded', 'delivered')).toBe(true);
    expect(canMoveTo('delivered', 'discarded')).toBe(false);
    expect(canMoveTo('seen', 'delivered')).toBe(false);
  });

  it('gives queued when there is no evidence', () => {
    expect(strongestStatus([])).toBe('queued');
  });
});

describe('statusEvidence', () => {
  it('keeps the message queued through dispatch failures and lost answers', () => {
    expect(statusEvidence(dispatchFailed({ nextAttemptAt: null }))).toBe('queued');
    expect(statusEvidence(outcomeUnknown())).toBe('queued');
  });

  it('says nothing about events of other streams', () => {
    const requested = new NotificationRequested({
      appId: 'app-1',
      requestId: 'r-1',
      title: 't',
      message: 'm',
      data: {},
      sendAt: null,
      messageIds: [],
      recipients: [],
      requestedAt: '2026-03-01T10:00:00.000Z',
    });
    expect(statusEvidence(requested)).toBeNull();
  });
});

describe('decideStatus', () => {
  const t = (second: number) => new Date(Date.UTC(2026, 2, 1, 10, 0, second)).toISOString();

  it('is queued for a queued message, sent once Gupshup accepted it', () => {
    expect(decideStatus([queued()])).toBe('queued');
    expect(decideStatus([queued(), dispatchFailed()])).toBe('queued');
    expect(decideStatus([queued(), sent()])).toBe('sent');
  });

  it('is sent on an enqueued or sent callback even before the send result is recorded', () => {
    expect(decideStatus([queued(), callback('enqueued', t(2))])).toBe('sent');
    expect(decideStatus([queued(), callback('sent', t(3))])).toBe('sent');
  });

  it('is seen on a read receipt without a delivered one', () => {
    expect(decideStatus([queued(), sent(), callback('read', t(5))])).toBe('seen');
  });

  it('stays delivered when a failure is reported after delivery', () => {
    expect(decideStatus([queued(), sent(), callback('delivered', t(4)), callback('failed', t(9))])).toBe('delivered');
  });

  it('is delivered when delivery is reported after a failure', () => {
    expect(decideStatus([queued(), sent(), callback('failed', t(3)), callback('delivered', t(4))])).toBe('delivered');
  });

  it('is discarded on a failure, or when this service gives up', () => {
    expect(decideStatus([queued(), sent(), callback('sent', t(3)), callback('failed', t(4))])).toBe('discarded');
    expect(decideStatus([queued({ phoneNumber: null }), discarded()])).toBe('discarded');
    expect(decideStatus([queued(), dispatchFailed({ nextAttemptAt: null }), discarded({ source: 'dispatch' })])).toBe(
      'discarded',
    );
  });
});

/** Any event a message stream can hold, with times and codes from small ranges so that they collide. */
const anyMessageEvent: fc.Arbitrary<StoreEvent<object>> = fc.oneof(
  fc.constant(queued()),
  fc.constant(sent()),
  fc.nat(3).map((attempt) => dispatchFailed({ attempt: attempt + 1 })),
  fc.nat(3).map((attempt) => outcomeUnknown(attempt + 1)),
  fc.constantFrom('recipient', 'dispatch', 'provider').map((source) => discarded({ source })),
  fc
    .record({ providerStatus: fc.constantFrom(...PROVIDER_STATUSES), second: fc.nat(20) })
    .map(({ providerStatus, second }) =>
      callback(providerStatus, new Date(Date.UTC(2026, 2, 1, 10, 0, second)).toISOString()),
    ),
);

describe('decideStatus, for any set of events', () => {
  it('never shows a status that the full set would take back', () => {
    fc.assert(
      fc.property(fc.array(anyMessageEvent, { maxLength: 12 }), (events) => {
        const final = decideStatus(events);
        for (let length = 0; length <= events.length; length++) {
          const partial = decideStatus(events.slice(0, length));
          expect(canMoveTo(partial, final)).toBe(true);
          if (partial === 'discarded') expect(['discarded', 'delivered', 'seen']).toContain(final);
          if (partial !== 'discarded' && final !== 'discarded') {
            expect(STATUS_RANK[partial]).toBeLessThanOrEqual(STATUS_RANK[final]);
          }
          if (length > 0) {
            expect(statusPrecedence(partial)).toBeGreaterThanOrEqual(statusPrecedence(decideStatus(events.slice(0, length - 1))));
          }
        }
      }),
    );
  });

  it('does not depend on the order of the events', () => {
    fc.assert(
      fc.property(
        fc.array(anyMessageEvent, { maxLength: 12 }).chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length }))),
        ([events, shuffled]) => {
          expect(decideStatus(shuffled)).toBe(decideStatus(events));
        },
      ),
    );
  });
});
