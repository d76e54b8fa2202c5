import { PassThrough } from 'node:stream';
import request from 'supertest';
import type { CallbackFormat } from '../../src/whatsapp/gupshup/callback-parser';
import { DispatchPauses, OutcomeUnknownResolver } from '../../src/whatsapp/sending';
import { buildCallbackBody, type CallbackEvent } from '../../tools/simulator/callback-payloads';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { runCli } from '../faults/fault-kit';
import type { TestApp } from '../support/test-app';
import type { TestDatabase } from '../support/test-database';
import {
  callbackContextOf,
  createTenant,
  createTenantWithCallbacks,
  eventTypes,
  eventually,
  jobInState,
  messageEvents,
  postNotification,
  putUser,
  requestsTo,
  startSendingApp,
  startSimulator,
  type TestTenant,
} from './sending-test-kit';

const MAX_ATTEMPTS = 3;

interface TimelineEntry {
  status: string;
  providerStatus?: string;
  code?: string;
}

/**
 * Failures that retry or pause, end to end: the simulator plays Gupshup and posts its callbacks
 * to the app's callback URL (with its token), the service translates them, and the outcome is
 * read through the public API, /metrics and the log.
 */
describe('failure classes: passing failures retry, account-level failures pause the app', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  const logLines: Record<string, unknown>[] = [];
  /** A log line with these fields: it is written once its outcome has committed, so it may come a moment after what the test saw. */
  const expectLogLine = async (fields: Record<string, unknown>) => {
    const matches = (line: Record<string, unknown>) => Object.entries(fields).every(([key, value]) => line[key] === value);
    expect(await eventually(() => logLines.find(matches), `a log line with ${JSON.stringify(fields)}`)).toMatchObject(fields);
  };
  let phoneSuffix = 10;
  const logs = new PassThrough();
  /** An instance of the service whose log lines land in `logLines`; on `database` when given (then a second one). */
  const startInstance = (database?: TestDatabase) =>
    startSendingApp(simulator, {
      database,
      env: { DISPATCH_MAX_ATTEMPTS: String(MAX_ATTEMPTS), SUBSCRIPTIONS_ENABLED: 'true', SUBSCRIPTION_POLL_MS: '20', LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      logDestination: logs,
    });

  beforeAll(async () => {
    simulator = await startSimulator();
    let pending = '';
    logs.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        try {
          logLines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a JSON line
        }
      }
    });
    t = await startInstance();
  });
  afterEach(() => {
    simulator.clearFailures();
    simulator.clearFates();
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  const tenantWithCallbacks = () => createTenantWithCallbacks(t, simulator);

  /** A new user with a number of its own (ending in 1: the simulator's default fate is `read`); returns the number's digits. */
  async function newRecipient(tenant: TestTenant, identifier: string): Promise<string> {
    phoneSuffix += 1;
    const digits = `91998877${phoneSuffix}1`;
    await putUser(t, tenant, identifier, { phoneNumber: `+${digits}` });
    return digits;
  }

  /** Sends a notification to one user: the ids of the request and of its one message. */
  async function sendRequest(tenant: TestTenant, identifier: string): Promise<{ requestId: string; messageId: string }> {
    const res = await postNotification(t, tenant, { notification: { title: 'Your order shipped' }, sendTo: { recipients: [identifier] } }).expect(202);
    return { requestId: res.body.requestId as string, messageId: res.body.messages[0].messageId as string };
  }

  async function send(tenant: TestTenant, identifier: string): Promise<string> {
    return (await sendRequest(tenant, identifier)).messageId;
  }

  async function message(tenant: TestTenant, messageId: string) {
    const res = await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers).expect(200);
    return res.body as { status: string; providerMessageId: string; timeline: TimelineEntry[]; discardReason: { code: string } | null };
  }

  /** Waits until GET /v3/messages/{id} shows `status` (the message's view is projected shortly after its events). */
  function messageWithStatus(tenant: TestTenant, messageId: string, status: string) {
    return eventually(async () => {
      const res = await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers);
      return res.status === 200 && res.body.status === status ? (res.body as Awaited<ReturnType<typeof message>>) : undefined;
    }, `message ${messageId} to be ${status}`);
  }

  function provider(tenant: TestTenant) {
    return request(t.url).get('/v3/channels/whatsapp/providers/gupshup_whatsapp').set(tenant.headers).expect(200);
  }

  async function metrics(): Promise<string> {
    return (await request(t.url).get('/metrics').expect(200)).text;
  }

  /** The sum of the samples of `name` in a /metrics text whose labels include `labels`. */
  function sample(text: string, name: string, labels: Record<string, string>): number {
    const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    return text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) && wanted.every((pair) => line.split(' ')[0].includes(pair)))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  }

  it('retries a message whose failed callback is a throttling code, and it ends delivered with each try on its timeline', async () => {
    const tenant = await tenantWithCallbacks();
    const destination = await newRecipient(tenant, 'throttled');
    simulator.setFate(destination, { final: 'failed', code: 130429, reason: 'Rate limit hit', stage: 'async' });
    const { requestId, messageId } = await sendRequest(tenant, 'throttled');
    // The first try fails; the next one, made only after its failed callback came back, is delivered.
    await eventually(() => requestsTo(simulator, destination).length >= 1 || undefined, 'the first request');
    simulator.setFate(destination, { final: 'delivered' });

    const delivered = await messageWithStatus(tenant, messageId, 'delivered');
    expect(requestsTo(simulator, destination)).toHaveLength(2);
    const tries = delivered.timeline.filter((entry) => entry.status === 'sent' && entry.providerStatus === undefined);
    expect(tries).toHaveLength(2);
    // The failed callback is one try, not the end: it is shown as Gupshup's `failed` that left the message queued.
    const failure = delivered.timeline.find((entry) => entry.providerStatus === 'failed');
    expect(failure).toMatchObject({ status: 'queued', code: '130429', reason: 'Rate limit hit' });
    expect(delivered.discardReason).toBeNull();
    // The receipt of the new attempt is the retry working: nothing overtaken.
    expect(logLines.filter((line) => line.messageId === messageId && line.action === 'overtaken')).toHaveLength(0);

    const events = await messageEvents(t, messageId);
    expect(events.filter((event) => event.type === 'WhatsAppMessageSent').map((event) => (event.data as { attempt: number }).attempt)).toEqual([1, 2]);
    const failed = events.find((event) => event.type === 'DeliveryStatusChanged' && (event.data as { providerStatus: string }).providerStatus === 'failed');
    expect(failed?.data).toMatchObject({ status: 'queued', code: '130429', retry: { attempt: 1, failureClass: 'passing', nextAttemptAt: expect.any(String) } });

    expect(await metrics()).toMatch(/whatsapp_dispatch_outcomes_total\{outcome="retry",code="callback_130429"\} [1-9]/);
    await expectLogLine({ action: 'retry', appId: tenant.appId, messageId, requestId, attempt: 1, code: '130429' });
  });

  it('parks a retry whose connection dropped instead of sending it twice, and an operator can still send it again', async () => {
    const tenant = await tenantWithCallbacks();
    const destination = await newRecipient(tenant, 'throttled-then-dropped');
    simulator.setFate(destination, { final: 'failed', code: 130429, stage: 'async' });
    const { requestId, messageId } = await sendRequest(tenant, 'throttled-then-dropped');
    await eventually(() => requestsTo(simulator, destination).length >= 1 || undefined, 'the first request');
    simulator.setFate(destination, { final: 'read' });
    // The retry reaches Gupshup, but its connection drops before the answer.
    simulator.injectFailure({ dropConnection: true });

    const parked = await jobInState(t, messageId, 'outcome_unknown');
    expect(parked.attempts).toBe(1);
    expect(requestsTo(simulator, destination)).toHaveLength(2);
    expect(await eventTypes(t, messageId)).toContain('WhatsAppDispatchOutcomeUnknown');
    await expectLogLine({ action: 'outcome_unknown', appId: tenant.appId, messageId, attempt: 2 });

    // Gupshup's ids are UUIDs: the command line refuses to settle it with anything else, and changes nothing.
    const refused = await runCli(t.database.url, ['dispatch:settle', messageId, 'not-a-gupshup-id']).then(
      () => undefined,
      (error: Error & { code?: number; stderr?: string }) => error,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain('"not-a-gupshup-id" is not a Gupshup messageId');
    expect((await jobInState(t, messageId, 'outcome_unknown')).attempts).toBe(1);

    // The first attempt's send and callbacks do not stand in the way of resending the second.
    expect(await t.app.get(OutcomeUnknownResolver).resend(messageId)).toBe(true);
    await expectLogLine({ action: 'resend', appId: tenant.appId, messageId, requestId, attempt: 3 });
    // Counted from the decision's event, once the service's subscription has read it.
    await eventually(async () => (/whatsapp_dispatch_outcomes_total\{outcome="retry",code="operator_resend"\} 1/.test(await metrics()) ? true : undefined), 'the resend counted');
    await messageWithStatus(tenant, messageId, 'seen');
    expect(requestsTo(simulator, destination)).toHaveLength(3);
  });

  it(`discards a message whose every try fails with a passing code, after ${MAX_ATTEMPTS} requests`, async () => {
    const tenant = await tenantWithCallbacks();
    const destination = await newRecipient(tenant, 'always-throttled');
    simulator.setFate(destination, { final: 'failed', code: 131056, stage: 'async' });
    const messageId = await send(tenant, 'always-throttled');

    const discarded = await messageWithStatus(tenant, messageId, 'discarded');
    expect(requestsTo(simulator, destination)).toHaveLength(MAX_ATTEMPTS);
    expect(discarded.discardReason).toMatchObject({ code: '131056' });
    expect(discarded.timeline.filter((entry) => entry.providerStatus === 'failed').map((entry) => entry.status)).toEqual([
      ...Array(MAX_ATTEMPTS - 1).fill('queued'),
      'discarded',
    ]);
    // One line for the discard, naming the last try; the retries before it have theirs.
    await expectLogLine({ action: 'discard', appId: tenant.appId, messageId, attempt: MAX_ATTEMPTS, code: '131056', failureClass: 'passing' });
    expect(logLines.filter((line) => line.messageId === messageId && line.action === 'discard')).toHaveLength(1);
    expect(await metrics()).toMatch(/whatsapp_dispatch_outcomes_total\{outcome="discarded",code="callback_131056"\} [1-9]/);
  });

  it('discards a message whose failed callback is a permanent code, with one log line naming it and a count by code', async () => {
    const tenant = await tenantWithCallbacks();
    const destination = await newRecipient(tenant, 'undeliverable');
    simulator.setFate(destination, { final: 'failed', code: 131026, reason: 'Message undeliverable', stage: 'async' });
    const { requestId, messageId } = await sendRequest(tenant, 'undeliverable');

    const discarded = await messageWithStatus(tenant, messageId, 'discarded');
    expect(discarded.discardReason).toMatchObject({ code: '131026' });
    expect(requestsTo(simulator, destination)).toHaveLength(1);
    await expectLogLine({
      action: 'discard',
      appId: tenant.appId,
      messageId,
      requestId,
      gupshupMessageId: discarded.providerMessageId,
      code: '131026',
      reason: 'Message undeliverable',
      failureClass: 'permanent',
    });
    // A copy of the callback (Gupshup sends some twice) neither logs nor counts the discard again.
    const discards = (text: string) => Number(/whatsapp_dispatch_outcomes_total\{outcome="discarded",code="callback_131026"\} (\d+)/.exec(text)?.[1] ?? 0);
    const duplicates = (text: string) => Number(/whatsapp_callbacks_received_total\{format="v2",kind="failed",outcome="duplicate"\} (\d+)/.exec(text)?.[1] ?? 0);
    const before = await metrics();
    expect(discards(before)).toBeGreaterThanOrEqual(1);
    await postLateCallback(tenant, discarded.providerMessageId, 'v2', { status: 'failed', occurredAtMs: Date.now(), failure: { code: 131026, reason: 'Message undeliverable', stage: 'async' } });
    const after = await eventually(async () => {
      const text = await metrics();
      return duplicates(text) > duplicates(before) ? text : undefined;
    }, 'the copy translated as a duplicate');
    expect(discards(after)).toBe(discards(before));
    expect(logLines.filter((line) => line.messageId === messageId && line.action === 'discard')).toHaveLength(1);
  });

  it('retries a send answered with an error carrying a passing code', async () => {
    const tenant = await tenantWithCallbacks();
    const destination = await newRecipient(tenant, 'sync-throttled');
    simulator.injectFailure({ status: 400, body: { status: 'error', message: 'Pair rate limit hit', code: 131056 } });
    const messageId = await send(tenant, 'sync-throttled');

    await messageWithStatus(tenant, messageId, 'seen');
    expect(requestsTo(simulator, destination).map((received) => received.response?.status)).toEqual([400, 200]);
    const events = await messageEvents(t, messageId);
    expect(events.find((event) => event.type === 'WhatsAppDispatchFailed')?.data).toMatchObject({ attempt: 1, code: '131056', failureClass: 'passing' });
  });

  it('pauses the app on a 1003 failure with nothing lost, shows it, and sends the held messages on resume', async () => {
    const tenant = await tenantWithCallbacks();
    const other = await tenantWithCallbacks();
    const first = await newRecipient(tenant, 'wallet-empty');
    simulator.setFate(first, { final: 'failed', code: 1003 });
    const firstId = await send(tenant, 'wallet-empty');

    const paused = await eventually(async () => {
      const res = await provider(tenant);
      return res.body.paused ? res.body : undefined;
    }, 'the provider to show the pause');
    expect(paused.paused).toEqual({ since: expect.any(String), code: '1003', reason: expect.stringContaining('wallet balance') });
    expect((await provider(other)).body.paused).toBeNull();

    // Held: later messages of the paused app get no request, while another app's go out.
    const later = [await newRecipient(tenant, 'held-1'), await newRecipient(tenant, 'held-2')];
    const laterIds = [await send(tenant, 'held-1'), await send(tenant, 'held-2')];
    const otherDestination = await newRecipient(other, 'not-paused');
    const otherId = await send(other, 'not-paused');
    await messageWithStatus(other, otherId, 'seen');
    expect(requestsTo(simulator, otherDestination)).toHaveLength(1);
    for (const destination of later) expect(requestsTo(simulator, destination)).toHaveLength(0);
    expect(requestsTo(simulator, first)).toHaveLength(1);
    for (const messageId of [firstId, ...laterIds]) expect((await message(tenant, messageId)).status).toMatch(/^(queued|sent)$/);
    const firstView = await message(tenant, firstId);
    expect(firstView.timeline.find((entry) => entry.providerStatus === 'failed')).toMatchObject({ status: 'queued', code: '1003' });

    const text = await metrics();
    expect(text).toMatch(/whatsapp_dispatch_paused_apps [1-9]/);
    expect(text).toMatch(/whatsapp_dispatch_pauses_total\{code="1003"\} [1-9]/);
    await expectLogLine({ action: 'paused', appId: tenant.appId, messageId: firstId, code: '1003', learntFrom: 'callback' });

    // The wallet is topped up; resuming sends every held message, the one that failed included.
    simulator.setFate(first, { final: 'read' });
    const resumed = await request(t.url).post('/v3/channels/whatsapp/providers/gupshup_whatsapp/resume').set(tenant.headers).expect(200);
    expect(resumed.body).toEqual({ resumed: true, lifted: paused.paused });
    for (const messageId of [firstId, ...laterIds]) await messageWithStatus(tenant, messageId, 'seen');
    expect(requestsTo(simulator, first)).toHaveLength(2);
    for (const destination of later) expect(requestsTo(simulator, destination)).toHaveLength(1);
    expect((await provider(tenant)).body.paused).toBeNull();
    await expectLogLine({ action: 'resumed', appId: tenant.appId, code: '1003' });
    expect(await metrics()).toMatch(/whatsapp_dispatch_resumes_total [1-9]/);

    const again = await request(t.url).post('/v3/channels/whatsapp/providers/gupshup_whatsapp/resume').set(tenant.headers).expect(200);
    expect(again.body).toEqual({ resumed: false, lifted: null });
  });

  it('holds a paused app in every instance: a second instance on the same database neither sends its messages nor misses the resume', async () => {
    // Logging where the first does: Nest's Logger instances write through the logger of the
    // application created last in the process, so the first instance's lines go through this one's.
    const second = await startInstance(t.database);
    try {
      const tenant = await tenantWithCallbacks();
      const first = await newRecipient(tenant, 'shared-wallet-empty');
      simulator.setFate(first, { final: 'failed', code: 1003 });
      const firstId = await send(tenant, 'shared-wallet-empty');
      await eventually(async () => ((await provider(tenant)).body.paused ? true : undefined), 'the pause');

      // Posted through the second instance; both dispatch, neither sends while paused.
      const held = await newRecipient(tenant, 'shared-held');
      const heldRes = await request(second.url)
        .post('/v3/notifications')
        .set(tenant.headers)
        .send({ notification: { title: 'Held' }, sendTo: { recipients: ['shared-held'] } })
        .expect(202);
      const heldId = heldRes.body.messages[0].messageId as string;
      const other = await tenantWithCallbacks();
      const otherDestination = await newRecipient(other, 'shared-not-paused');
      const otherId = (
        await request(second.url).post('/v3/notifications').set(other.headers).send({ notification: { title: 'Go' }, sendTo: { recipients: ['shared-not-paused'] } }).expect(202)
      ).body.messages[0].messageId as string;
      await messageWithStatus(other, otherId, 'seen');
      expect(requestsTo(simulator, otherDestination)).toHaveLength(1);
      expect(requestsTo(simulator, held)).toHaveLength(0);
      expect((await request(second.url).get('/v3/channels/whatsapp/providers/gupshup_whatsapp').set(tenant.headers).expect(200)).body.paused).toMatchObject({ code: '1003' });

      simulator.setFate(first, { final: 'read' });
      await request(second.url).post('/v3/channels/whatsapp/providers/gupshup_whatsapp/resume').set(tenant.headers).expect(200);
      for (const messageId of [firstId, heldId]) await messageWithStatus(tenant, messageId, 'seen');
      expect(requestsTo(simulator, held)).toHaveLength(1);
      expect(requestsTo(simulator, first)).toHaveLength(2);
    } finally {
      await second.close();
    }
  });

  it('pauses the app when the send answer itself carries an account-level code', async () => {
    const tenant = await tenantWithCallbacks();
    const destination = await newRecipient(tenant, 'rate-limited');
    simulator.injectFailure({ status: 429, body: { status: 'error', message: 'API Rate Limited', code: 4001 } });
    const messageId = await send(tenant, 'rate-limited');

    const paused = await eventually(async () => {
      const res = await provider(tenant);
      return res.body.paused ? res.body.paused : undefined;
    }, 'the provider to show the pause');
    expect(paused).toMatchObject({ code: '4001', reason: 'API Rate Limited' });
    // The view may still be on its way on a busy machine: the message is there, queued, once it is.
    await messageWithStatus(tenant, messageId, 'queued');
    expect(requestsTo(simulator, destination)).toHaveLength(1);

    await request(t.url).post('/v3/channels/whatsapp/providers/gupshup_whatsapp/resume').set(tenant.headers).expect(200);
    await messageWithStatus(tenant, messageId, 'seen');
    expect(requestsTo(simulator, destination)).toHaveLength(2);
  });

  it('logs each message held by a pause once, with its ids, however often the dispatcher looks again', async () => {
    const tenant = await tenantWithCallbacks();
    for (const identifier of ['held-first', 'held-second', 'held-third']) await newRecipient(tenant, identifier);
    simulator.injectFailure({ status: 429, body: { status: 'error', message: 'API Rate Limited', code: 4001 } });
    const first = await sendRequest(tenant, 'held-first');
    await eventually(async () => ((await provider(tenant)).body.paused ? true : undefined), 'the pause');
    const held = [await sendRequest(tenant, 'held-second'), await sendRequest(tenant, 'held-third')];

    const heldLines = () => logLines.filter((line) => line.appId === tenant.appId && line.action === 'paused' && line.level === 'info');
    const lines = await eventually(() => (heldLines().length >= held.length ? heldLines() : undefined), 'a line per held message');
    expect(lines.map((line) => line.messageId).sort()).toEqual(held.map((h) => h.messageId).sort());
    for (const { messageId, requestId } of held) {
      expect(lines.find((line) => line.messageId === messageId)).toMatchObject({
        context: 'WhatsAppDispatcher',
        requestId,
        attempt: 1,
        code: '4001',
        pausedSince: expect.any(String),
        message: expect.stringMatching(/^held: the app's dispatch is paused/),
      });
    }
    // The dispatcher's next looks log nothing more; the message that met the failure has the pause's own line.
    expect(await t.app.get(DispatchPauses).reportHeld()).toBe(0);
    expect(heldLines()).toHaveLength(held.length);
    expect(logLines.filter((line) => line.messageId === first.messageId && line.action === 'paused').map((line) => line.level)).toEqual(['warn']);

    await request(t.url).post('/v3/channels/whatsapp/providers/gupshup_whatsapp/resume').set(tenant.headers).expect(200);
    for (const { messageId } of [first, ...held]) await jobInState(t, messageId, 'sent');
  });

  /** Posts a callback to the tenant's callback URL, as Gupshup would, about a message the simulator accepted. */
  async function postLateCallback(tenant: TestTenant, gupshupMessageId: string, format: CallbackFormat, event: Pick<CallbackEvent, 'status' | 'occurredAtMs' | 'failure'>, ids: { id?: string } = {}) {
    const context = { ...callbackContextOf(simulator, gupshupMessageId), gupshupMessageId: ids.id ?? gupshupMessageId };
    await request(t.url).post(tenant.callbackPath).send(buildCallbackBody(format, context, { omitGsId: false, v3FailedStyle: 'errors', ...event })).expect(200);
  }

  it('records a failed callback that comes after the delivered or read receipt, without sending the message again or pausing the app', async () => {
    const tenant = await tenantWithCallbacks();
    const delivered = await newRecipient(tenant, 'delivered-then-failed');
    simulator.setFate(delivered, { final: 'delivered' });
    const deliveredId = await send(tenant, 'delivered-then-failed');
    const read = await newRecipient(tenant, 'read-then-failed');
    const readId = await send(tenant, 'read-then-failed');
    const deliveredView = await messageWithStatus(tenant, deliveredId, 'delivered');
    const readView = await messageWithStatus(tenant, readId, 'seen');

    // Gupshup gives no order: a passing failure (v2, async) after `delivered`, an account-level one (v3) after `read`.
    const before = await metrics();
    // Each a second after its receipt, by Gupshup's clock (the simulator's, which may run ahead of ours).
    const afterReceipt = (view: { deliveredAt?: string | null; seenAt?: string | null }) => Date.parse((view.seenAt ?? view.deliveredAt)!) + 1000;
    await postLateCallback(tenant, deliveredView.providerMessageId, 'v2', { status: 'failed', occurredAtMs: afterReceipt(deliveredView), failure: { code: 130429, reason: 'Rate limit hit', stage: 'async' } });
    await postLateCallback(tenant, readView.providerMessageId, 'v3', { status: 'failed', occurredAtMs: afterReceipt(readView), failure: { code: 1003, reason: 'Your wallet balance is low', stage: 'async' } });

    for (const [messageId, status, code] of [[deliveredId, 'delivered', '130429'], [readId, 'seen', '1003']] as const) {
      const view = await eventually(async () => {
        const shown = await message(tenant, messageId);
        return shown.timeline.some((entry) => entry.providerStatus === 'failed') ? shown : undefined;
      }, `the failure of ${messageId} in its timeline`);
      expect(view.status).toBe(status);
      // The entry says the status the message kept, never `discarded`.
      expect(view.timeline.find((entry) => entry.providerStatus === 'failed')).toMatchObject({ code, status });
      // Sent back to the queue, the job would have left `sent` in the transaction that recorded the failure.
      expect((await jobInState(t, messageId, 'sent')).attempts).toBe(1);
      await expectLogLine({ appId: tenant.appId, messageId, code, message: `failed callback (code ${code}) after the message was delivered: kept in its timeline, not sent again` });
    }
    expect(requestsTo(simulator, delivered)).toHaveLength(1);
    expect(requestsTo(simulator, read)).toHaveLength(1);
    expect((await provider(tenant)).body.paused).toBeNull();

    // Counted as kept after the receipt, not as applied, and no discard among the status changes.
    const callbacks = (text: string, format: string, outcome: string) => sample(text, 'whatsapp_callbacks_received_total', { format, kind: 'failed', outcome });
    const after = await eventually(async () => {
      const text = await metrics();
      return callbacks(text, 'v2', 'after_receipt') > callbacks(before, 'v2', 'after_receipt') && callbacks(text, 'v3', 'after_receipt') > callbacks(before, 'v3', 'after_receipt') ? text : undefined;
    }, 'both failures counted as after_receipt');
    for (const format of ['v2', 'v3']) {
      expect(callbacks(after, format, 'after_receipt') - callbacks(before, format, 'after_receipt')).toBe(1);
      expect(callbacks(after, format, 'applied')).toBe(callbacks(before, format, 'applied'));
    }
    expect(sample(after, 'whatsapp_delivery_status_changes_total', { status: 'discarded' })).toBe(sample(before, 'whatsapp_delivery_status_changes_total', { status: 'discarded' }));
  });

  it('applies a late v2 failed callback that names the message by its WhatsApp id alone (no gsId, a week after the send)', async () => {
    const tenant = await tenantWithCallbacks();
    const destination = await newRecipient(tenant, 'late-failure');
    simulator.setFate(destination, { final: 'delivered' });
    const messageId = await send(tenant, 'late-failure');
    const view = await messageWithStatus(tenant, messageId, 'delivered');
    const { whatsappMessageId } = simulator.message(view.providerMessageId)!;

    // The shape of a sync failure, with WhatsApp's id where Gupshup's would be (GUPSHUP.md §2.3, §2.7).
    await postLateCallback(tenant, view.providerMessageId, 'v2', { status: 'failed', occurredAtMs: Date.now(), failure: { code: 131026, reason: 'Message undeliverable', stage: 'sync' } }, { id: whatsappMessageId });
    const failed = await eventually(async () => {
      const shown = await message(tenant, messageId);
      return shown.timeline.some((entry) => entry.providerStatus === 'failed') ? shown : undefined;
    }, 'the late failure in the timeline');
    expect(failed.timeline.find((entry) => entry.providerStatus === 'failed')).toMatchObject({ code: '131026' });
    const events = await messageEvents(t, messageId);
    expect(events.find((event) => event.type === 'DeliveryStatusChanged' && (event.data as { providerStatus: string }).providerStatus === 'failed')?.data).toMatchObject({
      providerMessageId: view.providerMessageId,
      whatsappMessageId,
      code: '131026',
    });
  });

  it('answers 404 to a resume before the provider is configured, and 401 without credentials', async () => {
    const tenant = await createTenant(t, simulator, { enable: false });
    const res = await request(t.url).post('/v3/channels/whatsapp/providers/gupshup_whatsapp/resume').set(tenant.headers).expect(404);
    expect(res.body.message).toContain('not configured');
    await request(t.url).post('/v3/channels/whatsapp/providers/gupshup_whatsapp/resume').expect(401);
  });
});
