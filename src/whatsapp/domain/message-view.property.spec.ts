import fc from 'fast-check';
import type { StoreEvent } from '../../event-store/event';
import type { DeliveryStatusChanged } from './events';
import { callback, queued, SENT_AT, sent } from './message-events.fixtures';
import { foldMessageView, type TimelineEntry } from './message-view';
import { decideStatus, PROVIDER_STATUSES, statusPrecedence, type ProviderStatus } from './status';

const SENT_MS = Date.parse(SENT_AT);

/** Gupshup's codes and reasons as they come, or a failure that carries neither. */
const FAILURES: readonly { code?: string; reason?: string }[] = [
  { code: '1002', reason: 'Number Does Not Exist On WhatsApp' },
  { code: '131047', reason: 'Message failed to send because more than 24 hours have passed' },
  { code: '470', reason: 'Re-engagement message' },
  { code: '131026', reason: 'Message undeliverable' },
  {},
];

interface Callback {
  providerStatus: ProviderStatus;
  /** Whole seconds, as Meta reports them; from a narrow range so that statuses share a second. */
  occurredAtMs: number;
  receivedAfterMs: number;
  failure: { code?: string; reason?: string };
}

const aCallback = (providerStatus: ProviderStatus): fc.Arbitrary<Callback> =>
  fc.record({
    providerStatus: fc.constant(providerStatus),
    // A callback may carry a time a little before our own send result, the clocks being apart.
    occurredAtMs: fc.integer({ min: -2, max: 8 }).map((second) => Math.floor(SENT_MS / 1000) * 1000 + second * 1000),
    receivedAfterMs: fc.integer({ min: 0, max: 5000 }),
    failure: providerStatus === 'failed' ? fc.constantFrom(...FAILURES) : fc.constant({}),
  });

/** A random subset of Gupshup's statuses for one message, each reported once. */
const someCallbacks: fc.Arbitrary<Callback[]> = fc
  .subarray([...PROVIDER_STATUSES])
  .chain((statuses) => fc.tuple(...statuses.map(aCallback)));

/** How a repeated copy differs from the first: later, and maybe in the other format's wording. */
interface Copy {
  index: number;
  laterByMs: number;
  withoutWhatsappId: boolean;
  withoutGupshupId: boolean;
  timeWithoutMillis: boolean;
  otherReason: boolean;
}

const copiesOf = (count: number): fc.Arbitrary<Copy[]> =>
  count === 0
    ? fc.constant([])
    : fc.array(
        fc.record({
          index: fc.nat(count - 1),
          laterByMs: fc.integer({ min: 1, max: 60_000 }),
          withoutWhatsappId: fc.boolean(),
          withoutGupshupId: fc.boolean(),
          timeWithoutMillis: fc.boolean(),
          otherReason: fc.boolean(),
        }),
        { maxLength: 6 },
      );

function toEvent(callbackData: Callback): DeliveryStatusChanged {
  return callback(callbackData.providerStatus, new Date(callbackData.occurredAtMs).toISOString(), {
    receivedAt: new Date(callbackData.occurredAtMs + callbackData.receivedAfterMs).toISOString(),
    ...callbackData.failure,
  });
}

function toCopy(original: DeliveryStatusChanged, copy: Copy): DeliveryStatusChanged {
  const { status: _status, ...data } = original.data;
  return callback(data.providerStatus, copy.timeWithoutMillis ? data.occurredAt.replace('.000Z', 'Z') : data.occurredAt, {
    ...data,
    receivedAt: new Date(Date.parse(data.receivedAt) + copy.laterByMs).toISOString(),
    whatsappMessageId: copy.withoutWhatsappId ? undefined : data.whatsappMessageId,
    providerMessageId: copy.withoutGupshupId ? undefined : data.providerMessageId,
    reason: copy.otherReason && data.reason ? `${data.reason} (v3 wording)` : data.reason,
    format: 'v3',
  });
}

interface Scenario {
  /** One per status reported, without copies. */
  originals: DeliveryStatusChanged[];
  /** The originals sorted by the provider's time. */
  inTimeOrder: DeliveryStatusChanged[];
  /** The originals and their copies, in the order they arrive. */
  arrived: DeliveryStatusChanged[];
  /** The same with our own send result arriving somewhere among them. */
  arrivedAroundSend: StoreEvent<object>[];
}

const everyOf = <T>(items: readonly T[]): fc.Arbitrary<T[]> => fc.shuffledSubarray([...items], { minLength: items.length });

const scenario: fc.Arbitrary<Scenario> = someCallbacks.chain((callbacks) => {
  const originals = callbacks.map(toEvent);
  const inTimeOrder = [...originals].sort((a, b) => Date.parse(a.data.occurredAt) - Date.parse(b.data.occurredAt));
  return copiesOf(originals.length).chain((copies) => {
    const all = [...originals, ...copies.map((copy) => toCopy(originals[copy.index], copy))];
    return fc.record({
      originals: fc.constant(originals),
      inTimeOrder: fc.constant(inTimeOrder),
      arrived: everyOf(all),
      arrivedAroundSend: everyOf<StoreEvent<object>>([sent(), ...all]),
    });
  });
});

function isSorted(timeline: readonly TimelineEntry[]): boolean {
  return timeline.every(
    (entry, i) =>
      i === 0 ||
      timeline[i - 1].at < entry.at ||
      (timeline[i - 1].at === entry.at && statusPrecedence(timeline[i - 1].status) <= statusPrecedence(entry.status)),
  );
}

describe('message view, for any set of callbacks in any order', () => {
  it('equals the view of the same distinct callbacks applied in time order', () => {
    fc.assert(
      fc.property(scenario, ({ inTimeOrder, arrived, originals }) => {
        const view = foldMessageView([queued(), sent(), ...arrived]);
        expect(view).toEqual(foldMessageView([queued(), sent(), ...inTimeOrder]));
        expect(view.timeline).toHaveLength(2 + originals.length);
        expect(isSorted(view.timeline)).toBe(true);
        expect(view.status).toBe(decideStatus([queued(), sent(), ...arrived]));
      }),
      { numRuns: 500 },
    );
  });

  it('is the same when the send result itself is recorded after some callbacks', () => {
    fc.assert(
      fc.property(scenario, ({ inTimeOrder, arrivedAroundSend }) => {
        expect(foldMessageView([queued(), ...arrivedAroundSend])).toEqual(foldMessageView([queued(), sent(), ...inTimeOrder]));
      }),
    );
  });

  it('ends seen on a read receipt, with or without a delivered one', () => {
    fc.assert(
      fc.property(scenario, ({ originals, arrived }) => {
        const read = originals.find((event) => event.data.providerStatus === 'read');
        fc.pre(read !== undefined);
        const view = foldMessageView([queued(), sent(), ...arrived]);
        expect(view).toMatchObject({ status: 'seen', seenAt: read!.data.occurredAt, discardedAt: null });
        if (!originals.some((event) => event.data.providerStatus === 'delivered')) expect(view.deliveredAt).toBeNull();
      }),
    );
  });

  it('stays delivered when a failure is also reported, with the failure in the timeline', () => {
    fc.assert(
      fc.property(scenario, ({ originals, arrived }) => {
        const statuses = originals.map((event) => event.data.providerStatus);
        fc.pre(statuses.includes('delivered') && statuses.includes('failed') && !statuses.includes('read'));
        const view = foldMessageView([queued(), sent(), ...arrived]);
        expect(view).toMatchObject({ status: 'delivered', discardedAt: null, discardReason: null });
        expect(view.timeline.filter((entry) => entry.providerStatus === 'failed')).toHaveLength(1);
      }),
    );
  });

  it('ends discarded with the code and reason of a failure when nothing was delivered', () => {
    fc.assert(
      fc.property(scenario, ({ originals, arrived }) => {
        const statuses = originals.map((event) => event.data.providerStatus);
        const failed = originals.find((event) => event.data.providerStatus === 'failed');
        fc.pre(failed !== undefined && !statuses.includes('delivered') && !statuses.includes('read'));
        const view = foldMessageView([queued(), sent(), ...arrived]);
        expect(view).toMatchObject({
          status: 'discarded',
          discardedAt: failed!.data.occurredAt,
          discardReason: { code: failed!.data.code ?? 'unknown', reason: failed!.data.reason ?? expect.any(String) },
        });
      }),
    );
  });
});
