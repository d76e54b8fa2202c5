import request from 'supertest';
import { eventually } from '../support/eventually';
import { SendGates, type ClaimedJob, type SendGateVerdict } from '../../src/whatsapp/sending';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import type { TestApp } from '../support/test-app';
import {
  createTenant,
  eventTypes,
  eventually,
  job,
  jobInState,
  postNotification,
  putUser,
  requestsTo,
  startSendingApp,
  startSimulator,
  type TestTenant,
} from '../sending/sending-test-kit';

/** Far enough ahead that no worker takes the messages while the test runs. */
const LATER = () => new Date(Date.now() + 60 * 60 * 1000).toISOString();

/**
 * Cancelling queued messages over HTTP: by send request and by workflow run (cancellation key),
 * with Gupshup played by the simulator, which must never see a cancelled message.
 */
describe('cancelling', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  /** Destinations (digits) whose jobs a worker holds, once claimed, until the promise settles: right before it would call Gupshup. */
  const heldNumbers = new Map<string, { release: Promise<void>; entered: () => void }>();

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator);
    // The last step before a job's request starts: holding here holds a worker with the job claimed.
    t.app.get(SendGates).register({
      name: 'test_hold',
      check: async (jobs: readonly ClaimedJob[]) => {
        for (const claimed of jobs) {
          const hold = heldNumbers.get(claimed.destination);
          if (!hold) continue;
          hold.entered();
          await hold.release;
        }
        return new Map<string, SendGateVerdict>();
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  const cancelRequest = (tenant: TestTenant, requestId: string) => request(t.url).post(`/v3/notifications/${requestId}/cancel`).set(tenant.headers).send();
  const cancelRun = (tenant: TestTenant, workflow: string, body: unknown) =>
    request(t.url).post(`/v4/workflows/${encodeURIComponent(workflow)}/cancel-run`).set(tenant.headers).send(body as object);

  async function messageView(tenant: TestTenant, messageId: string, status: string) {
    return eventually(async () => {
      const res = await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers);
      return res.status === 200 && res.body.status === status ? res.body : undefined;
    }, `message ${messageId} to be ${status}`);
  }

  /** Makes every job of the app due now, as if its sendAt had come, and lets the workers look. */
  async function makeDueNow(tenant: TestTenant): Promise<void> {
    await t.db.query('UPDATE whatsapp_dispatch_jobs SET due_at = now() WHERE app_id = $1', [tenant.appId]);
  }

  it('cancels a scheduled request: its messages are discarded as cancelled and never reach Gupshup', async () => {
    const tenant = await createTenant(t, simulator);
    await putUser(t, tenant, 'ann', { phoneNumber: '+919977660001' });
    await putUser(t, tenant, 'ben', { phoneNumber: '+919977660002' });
    const sent = await postNotification(t, tenant, { notification: { title: 'Later' }, sendTo: { recipients: ['ann', 'ben', 'nobody'] }, sendAt: LATER() }).expect(202);
    const { requestId, messages } = sent.body;
    expect(messages.map((message: { status: string }) => message.status)).toEqual(['queued', 'queued', 'discarded']);

    expect((await cancelRequest(tenant, requestId).expect(200)).body).toEqual({ cancelled: 2 });
    for (const message of messages.slice(0, 2)) {
      const view = await messageView(tenant, message.messageId, 'discarded');
      expect(view.discardReason).toMatchObject({ code: 'cancelled' });
      expect(await eventTypes(t, message.messageId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppMessageDiscarded']);
    }
    // Cancelling again finds nothing left to cancel; the message discarded before stays as it was.
    expect((await cancelRequest(tenant, requestId).expect(200)).body).toEqual({ cancelled: 0 });
    expect((await messageView(tenant, messages[2].messageId, 'discarded')).discardReason.code).toBe('unknown_recipient');

    // Its time comes, and still nothing is sent: a message sent afterwards goes, these do not.
    await makeDueNow(tenant);
    const after = await postNotification(t, tenant, { notification: { title: 'Now' }, sendTo: { recipients: ['ann'] } }).expect(202);
    await jobInState(t, after.body.messages[0].messageId, 'sent');
    expect(requestsTo(simulator, '919977660001')).toHaveLength(1);
    expect(requestsTo(simulator, '919977660002')).toHaveLength(0);
  });

  it('leaves a message already handed to Gupshup as it is', async () => {
    const tenant = await createTenant(t, simulator);
    await putUser(t, tenant, 'cat', { phoneNumber: '+919977660011' });
    const sent = await postNotification(t, tenant, { notification: { title: 'Now' }, sendTo: { recipients: ['cat'] } }).expect(202);
    const [message] = sent.body.messages;
    await jobInState(t, message.messageId, 'sent');
    expect((await cancelRequest(tenant, sent.body.requestId).expect(200)).body).toEqual({ cancelled: 0 });
    expect(await eventTypes(t, message.messageId)).not.toContain('WhatsAppMessageDiscarded');
  });

  it('cancels a workflow run by its cancellation key, for some recipients or all, and never another app\'s', async () => {
    const tenant = await createTenant(t, simulator);
    const other = await createTenant(t, simulator);
    for (const app of [tenant, other]) {
      await request(t.url).put('/v3/channels/whatsapp/templates/reminder').set(app.headers).send({ gupshupTemplateId: 'tpl-reminder', params: ['{{data.day}}'] }).expect(200);
      await putUser(t, app, 'dan', { phoneNumber: '+919977660021' });
      await putUser(t, app, 'eve', { phoneNumber: '+919977660022' });
    }
    const run = (app: TestTenant, cancellationKey: string) =>
      postNotification(t, app, { notification: { workflow: { identifier: 'reminder', cancellationKey } }, sendTo: { recipients: ['dan', 'eve'] }, data: { day: 'Monday' }, sendAt: LATER() }).expect(202);
    const first = await run(tenant, 'appointment-7');
    const second = await run(tenant, 'appointment-7');
    const unrelated = await run(tenant, 'appointment-8');
    const othersRun = await run(other, 'appointment-7');

    // Only dan's messages of both requests of that run.
    expect((await cancelRun(tenant, 'reminder', { cancellationKey: 'appointment-7', cancelFor: { recipients: ['dan'] } }).expect(200)).body).toEqual({ cancelled: 2 });
    await messageView(tenant, first.body.messages[0].messageId, 'discarded');
    await messageView(tenant, second.body.messages[0].messageId, 'discarded');
    // Then everyone's: eve's two are what is left.
    expect((await cancelRun(tenant, 'reminder', { cancellationKey: 'appointment-7' }).expect(200)).body).toEqual({ cancelled: 2 });

    const queued = async (app: TestTenant, messageId: string) => (await request(t.url).get(`/v3/messages/${messageId}`).set(app.headers).expect(200)).body.status;
    for (const message of unrelated.body.messages) expect(await queued(tenant, message.messageId)).toBe('queued');
    for (const message of othersRun.body.messages) expect(await queued(other, message.messageId)).toBe('queued');
  });

  it('answers 404 for what the app does not have and 400 for a bad body, cancelling nothing', async () => {
    const tenant = await createTenant(t, simulator);
    const other = await createTenant(t, simulator);
    await putUser(t, tenant, 'fay', { phoneNumber: '+919977660031' });
    const sent = await postNotification(t, tenant, { notification: { title: 'Later' }, sendTo: { recipients: ['fay'] }, sendAt: LATER() }).expect(202);

    const notFound = await cancelRequest(other, sent.body.requestId).expect(404);
    expect(notFound.body.message).toContain(sent.body.requestId);
    await cancelRequest(tenant, '00000000-0000-4000-8000-000000000000').expect(404);
    await cancelRequest(tenant, 'not-a-request').expect(404);
    const noRun = await cancelRun(tenant, 'reminder', { cancellationKey: 'nope' }).expect(404);
    expect(noRun.body.message).toContain('"nope"');

    const bad = await cancelRun(tenant, 'reminder', { cancelFor: { recipients: 'fay' }, extra: 1 }).expect(400);
    for (const part of ['cancellationKey', 'cancelFor.recipients', 'extra']) expect(bad.body.message).toContain(part);
    await request(t.url).post(`/v3/notifications/${sent.body.requestId}/cancel`).send().expect(401);

    // The view shows the message once the projection has read its queueing (it runs on its own).
    const shown = await eventually(async () => {
      const res = await request(t.url).get(`/v3/messages/${sent.body.messages[0].messageId}`).set(tenant.headers);
      return res.status === 200 ? res.body : undefined;
    }, 'the queued message in the view');
    expect(shown.status).toBe('queued');
  });

  it('does not send a message cancelled while a worker holds it, claimed and about to call Gupshup', async () => {
    const tenant = await createTenant(t, simulator);
    await putUser(t, tenant, 'gil', { phoneNumber: '+919977660041' });
    let release!: () => void;
    let entered!: () => void;
    const held = new Promise<void>((resolve) => (entered = resolve));
    heldNumbers.set('919977660041', { release: new Promise<void>((resolve) => (release = resolve)), entered });
    try {
      const sent = await postNotification(t, tenant, { notification: { title: 'Now' }, sendTo: { recipients: ['gil'] } }).expect(202);
      const [message] = sent.body.messages;
      await held;
      expect(await job(t, message.messageId)).toMatchObject({ state: 'in_flight', attemptStartedAt: null });

      expect((await cancelRequest(tenant, sent.body.requestId).expect(200)).body).toEqual({ cancelled: 1 });
      release();
      const view = await messageView(tenant, message.messageId, 'discarded');
      expect(view.discardReason).toMatchObject({ code: 'cancelled', reason: expect.stringContaining('before it was handed to Gupshup') });

      // The worker has gone on past the hold: a later message to the same number is sent, the cancelled one never was.
      heldNumbers.delete('919977660041');
      const later = await postNotification(t, tenant, { notification: { title: 'Later one' }, sendTo: { recipients: ['gil'] } }).expect(202);
      await jobInState(t, later.body.messages[0].messageId, 'sent');
      const received = requestsTo(simulator, '919977660041');
      expect(received.map((recorded) => JSON.parse(recorded.form.message).text)).toEqual(['Later one']);
      expect((await job(t, message.messageId))?.state).toBe('discarded');
      expect(await eventTypes(t, message.messageId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppMessageDiscarded']);
    } finally {
      release();
      heldNumbers.delete('919977660041');
    }
  });
});
