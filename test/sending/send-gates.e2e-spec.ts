import request from 'supertest';
import { DispatchJobs, SendGates, type ClaimedJob, type SendGateVerdict } from '../../src/whatsapp/sending';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import type { TestApp } from '../support/test-app';
import {
  createTenant,
  eventTypes,
  eventually,
  job,
  jobInState,
  messageEvents,
  postNotification,
  putUser,
  requestsTo,
  startSendingApp,
  startSimulator,
  type TestTenant,
} from './sending-test-kit';

/**
 * Send gates and withdrawing (docs/dispatch-policy.md "Send gates and withdrawing"): what a gate
 * stops is discarded with its reason and never reaches Gupshup, and a job withdrawn while a worker
 * holds it is not sent either.
 */
describe('dispatch: send gates and withdrawn jobs', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;
  /** Destinations (digits) the test gate stops, with its verdict. */
  const stoppedNumbers = new Map<string, SendGateVerdict>();
  /** While set, the test gate waits for it before answering: a worker holds its jobs meanwhile. */
  let holdGate: Promise<void> | undefined;
  let gateEntered: (() => void) | undefined;
  let gateFails = false;
  let userCount = 0;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator);
    tenant = await createTenant(t, simulator);
    t.app.get(SendGates).register({
      name: 'test_gate',
      check: async (jobs: readonly ClaimedJob[]) => {
        gateEntered?.();
        if (holdGate) await holdGate;
        if (gateFails) throw new Error('the gate cannot tell now');
        const verdicts = new Map<string, SendGateVerdict>();
        for (const claimed of jobs) {
          const verdict = stoppedNumbers.get(claimed.destination);
          if (verdict) verdicts.set(claimed.messageId, verdict);
        }
        return verdicts;
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  /** A new user with a number of its own; returns its identifier and the number's digits. */
  async function newRecipient(): Promise<{ identifier: string; digits: string }> {
    userCount += 1;
    const identifier = `gated-${userCount}`;
    const digits = `91998877${String(5000 + userCount).padStart(4, '0')}`;
    await putUser(t, tenant, identifier, { phoneNumber: `+${digits}` });
    return { identifier, digits };
  }

  async function send(identifiers: string[], extra: Record<string, unknown> = {}): Promise<string[]> {
    const res = await postNotification(t, tenant, { notification: { title: 'Gated' }, sendTo: { recipients: identifiers }, ...extra }).expect(202);
    return (res.body.messages as { messageId: string }[]).map((message) => message.messageId);
  }

  async function discardReasonShown(messageId: string): Promise<{ code: string; reason: string }> {
    return eventually(async () => {
      const res = await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers);
      return res.status === 200 && res.body.status === 'discarded' ? (res.body.discardReason as { code: string; reason: string }) : undefined;
    }, `message ${messageId} to show as discarded`);
  }

  it('discards what a gate stops, with its reason, and sends the rest', async () => {
    const stopped = await newRecipient();
    const passed = await newRecipient();
    stoppedNumbers.set(stopped.digits, { reason: 'suppressed', detail: 'The number opted out of WhatsApp messages from this app' });
    const [stoppedId, passedId] = await send([stopped.identifier, passed.identifier]);

    await jobInState(t, passedId, 'sent');
    expect(requestsTo(simulator, passed.digits)).toHaveLength(1);
    const discarded = await jobInState(t, stoppedId, 'discarded');
    expect(discarded.attempts).toBe(0);
    expect(await discardReasonShown(stoppedId)).toEqual({ code: 'suppressed', reason: 'The number opted out of WhatsApp messages from this app' });
    expect(await eventTypes(t, stoppedId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppMessageDiscarded']);
    expect(requestsTo(simulator, stopped.digits)).toHaveLength(0);
  });

  it('names the gate when its verdict has no detail', async () => {
    const stopped = await newRecipient();
    stoppedNumbers.set(stopped.digits, { reason: 'outside_session_window' });
    const [messageId] = await send([stopped.identifier]);
    const shown = await discardReasonShown(messageId);
    expect(shown.code).toBe('outside_session_window');
    expect(shown.reason).toMatch(/test_gate/);
    expect(requestsTo(simulator, stopped.digits)).toHaveLength(0);
  });

  it('sends nothing while a gate fails, and sends once it answers again', async () => {
    const recipient = await newRecipient();
    gateFails = true;
    const entered = new Promise<void>((resolve) => (gateEntered = resolve));
    const [messageId] = await send([recipient.identifier]);
    try {
      await entered;
      // Given back for later, never called.
      await eventually(async () => ((await job(t, messageId))?.state === 'pending' ? true : undefined), 'the job to be given back');
      expect(requestsTo(simulator, recipient.digits)).toHaveLength(0);
    } finally {
      gateFails = false;
      gateEntered = undefined;
    }
    await jobInState(t, messageId, 'sent');
    expect(requestsTo(simulator, recipient.digits)).toHaveLength(1);
  });

  it('does not send a job withdrawn while a worker holds it', async () => {
    const recipient = await newRecipient();
    let release!: () => void;
    holdGate = new Promise<void>((resolve) => (release = resolve));
    const entered = new Promise<void>((resolve) => (gateEntered = resolve));
    try {
      const [messageId] = await send([recipient.identifier]);
      await entered;
      // Claimed and held by a worker, its request not started.
      const held = await job(t, messageId);
      expect(held).toMatchObject({ state: 'in_flight', attemptStartedAt: null });
      const withdrawn = await t.db.transaction((tx) => t.app.get(DispatchJobs).withdraw(tx, [messageId], { reason: 'suppressed', detail: 'Opted out after queueing' }));
      expect(withdrawn).toEqual([messageId]);
      release();
      expect(await discardReasonShown(messageId)).toEqual({ code: 'suppressed', reason: 'Opted out after queueing' });
      // The worker went on to call Gupshup for the jobs it still had: this one was not among them.
      const other = await newRecipient();
      holdGate = undefined;
      const [otherId] = await send([other.identifier]);
      await jobInState(t, otherId, 'sent');
      expect(requestsTo(simulator, recipient.digits)).toHaveLength(0);
      expect((await job(t, messageId))?.state).toBe('discarded');
      const events = await messageEvents(t, messageId);
      expect(events.map((event) => event.type)).toEqual(['WhatsAppMessageQueued', 'WhatsAppMessageDiscarded']);
      expect(events[1].data).toMatchObject({ code: 'suppressed', source: 'dispatch' });
    } finally {
      holdGate = undefined;
      gateEntered = undefined;
      release();
    }
  });

  it('withdraws pending jobs, and leaves alone those already sent or unknown', async () => {
    const later = await newRecipient();
    const now = await newRecipient();
    const [scheduledId] = await send([later.identifier], { sendAt: new Date(Date.now() + 3600_000).toISOString() });
    const [sentId] = await send([now.identifier]);
    await jobInState(t, sentId, 'sent');

    const withdrawn = await t.db.transaction((tx) =>
      t.app.get(DispatchJobs).withdraw(tx, [scheduledId, sentId, 'not-a-message-id', '00000000-0000-4000-8000-000000000000'], 'suppressed'),
    );
    expect(withdrawn).toEqual([scheduledId]);
    const shown = await discardReasonShown(scheduledId);
    expect(shown.code).toBe('suppressed');
    expect((await job(t, sentId))?.state).toBe('sent');
    expect(await eventTypes(t, sentId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppMessageSent']);
    // Withdrawing again changes nothing.
    expect(await t.db.transaction((tx) => t.app.get(DispatchJobs).withdraw(tx, [scheduledId], 'suppressed'))).toEqual([]);
  });
});
