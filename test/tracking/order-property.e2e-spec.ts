import fc from 'fast-check';
import type { MessageView } from '../../src/whatsapp/domain';
import type { CallbackFormat, ProviderStatus } from '../../src/whatsapp/gupshup/callback-parser';
import { buildCallbackBody, type CallbackMessageContext } from '../../tools/simulator/callback-payloads';
import type { TestApp } from '../support/test-app';
import { catchUpTracking, createTenant, messageView, postCallback, queueMessage, recordSent, startTrackingApp, type TrackingTenant } from './tracking-kit';

const STATUSES: readonly ProviderStatus[] = ['enqueued', 'sent', 'delivered', 'read', 'failed'];
const FAILURES = [
  { code: 1002, reason: 'Number Does Not Exist On WhatsApp', stage: 'sync' as const },
  { code: 131047, reason: 'Re-engagement message', stage: 'async' as const },
  { code: 131026, reason: 'Message undeliverable', stage: 'async' as const },
];
const T0 = Date.UTC(2026, 1, 1, 8, 0, 0);

interface Copy {
  status: ProviderStatus;
  format: CallbackFormat;
  omitGsId: boolean;
}

interface Scenario {
  /** The provider's time of each status, whole seconds from T0 (v3 carries seconds, v2 milliseconds). */
  offsets: Partial<Record<ProviderStatus, number>>;
  failure: (typeof FAILURES)[number];
  /** Every copy Gupshup posts: each status once or more, in either format, late receipts without gsId. */
  copies: Copy[];
  /** The copies in the order they arrive. */
  arrival: number[];
  /** The send result is recorded only after every callback arrived (they all park first). */
  sentLate: boolean;
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    statuses: fc.subarray([...STATUSES], { minLength: 1 }),
    offsets: fc.record(Object.fromEntries(STATUSES.map((status) => [status, fc.integer({ min: 0, max: 600 })])) as Record<ProviderStatus, fc.Arbitrary<number>>),
    failure: fc.constantFrom(...FAILURES),
    copiesPerStatus: fc.array(fc.array(fc.record({ format: fc.constantFrom<CallbackFormat>('v2', 'v3'), omitGsId: fc.boolean() }), { minLength: 1, maxLength: 3 }), {
      minLength: STATUSES.length,
      maxLength: STATUSES.length,
    }),
    sentLate: fc.boolean(),
    seed: fc.integer(),
  })
  .chain(({ statuses, offsets, failure, copiesPerStatus, sentLate }) => {
    const copies: Copy[] = statuses.flatMap((status) =>
      copiesPerStatus[STATUSES.indexOf(status)].map((copy) => ({
        status,
        format: copy.format,
        // enqueued and failed always name Gupshup's id; only receipts arrive without it.
        omitGsId: copy.omitGsId && (status === 'sent' || status === 'delivered' || status === 'read'),
      })),
    );
    const chosenOffsets = Object.fromEntries(statuses.map((status) => [status, offsets[status]]));
    return fc
      .shuffledSubarray(
        copies.map((_, index) => index),
        { minLength: copies.length, maxLength: copies.length },
      )
      .map((arrival) => ({ offsets: chosenOffsets, failure, copies, arrival, sentLate }));
  });

/** What a user of GET /v3/messages/{id} sees, without what differs between two messages or two receptions. */
function visible(view: MessageView) {
  return {
    status: view.status,
    sentAt: view.sentAt,
    deliveredAt: view.deliveredAt,
    seenAt: view.seenAt,
    discardedAt: view.discardedAt,
    discardReason: view.discardReason,
    timeline: view.timeline.filter((entry) => entry.providerStatus).map(({ receivedAt: _receivedAt, ...entry }) => entry),
  };
}

describe('callbacks in any order, with duplicates, in v2 or v3, give the same final view as in order', () => {
  let t: TestApp;
  let tenant: TrackingTenant;
  let run = 0;

  beforeAll(async () => {
    t = await startTrackingApp();
    tenant = await createTenant(t);
  });
  afterAll(() => t.close());

  async function deliver(s: Scenario, order: number[], sentLate: boolean): Promise<MessageView> {
    run += 1;
    const ctx: CallbackMessageContext = {
      gupshupMessageId: `prop-gs-${run}-${Date.now()}`,
      whatsappMessageId: `wamid.prop-${run}-${Date.now()}`,
      destination: '919876543210',
      appName: 'DemoAPI',
      appSource: '917834811114',
      appId: 'gupshup-app-1',
      kind: 'session',
    };
    const message = await queueMessage(t, tenant.id, { phoneNumber: `+${ctx.destination}` });
    const sentAt = new Date(T0 - 60_000);
    if (!sentLate) {
      await recordSent(t, message, ctx.gupshupMessageId, sentAt);
      await catchUpTracking(t);
    }
    for (const index of order) {
      const copy = s.copies[index];
      const body = buildCallbackBody(copy.format, ctx, {
        status: copy.status,
        occurredAtMs: T0 + s.offsets[copy.status]! * 1000,
        omitGsId: copy.omitGsId,
        failure: copy.status === 'failed' ? s.failure : undefined,
        v3FailedStyle: 'errors',
      });
      await postCallback(t, tenant.apiKey, body).expect(200);
    }
    if (sentLate) await recordSent(t, message, ctx.gupshupMessageId, sentAt);
    await catchUpTracking(t);
    return messageView(t, message.messageId);
  }

  it('holds for random sets of status callbacks', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        // In order: by the provider's time, as a well-behaved provider would post them.
        const inOrder = s.copies.map((_, index) => index).sort((a, b) => s.offsets[s.copies[a].status]! - s.offsets[s.copies[b].status]! || a - b);
        const [expected, shuffled] = await Promise.all([deliver(s, inOrder, false), deliver(s, s.arrival, s.sentLate)]);
        expect(visible(shuffled)).toEqual(visible(expected));
      }),
      { numRuns: 20 },
    );
  });
});
