import { Body, Controller, Logger, Module, Post } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import {
  createTenant,
  eventually,
  jobInState,
  postNotification,
  putUser,
  startSendingApp,
  startSimulator,
  type TestTenant,
} from '../sending/sending-test-kit';
import { TEST_ADMIN_TOKEN, type TestApp } from '../support/test-app';
import { captureLog } from '../support/captured-log';
import { buildCallbackBody } from '../../tools/simulator/callback-payloads';
import * as tracking from '../tracking/tracking-kit';

const MAX_ATTEMPTS = 3;

/** Logs from inside a request: after its body was read and after an await. */
@Controller('v3/log-probe')
class LogProbeController {
  private readonly logger = new Logger('LogProbe');

  @Post()
  async probe(@Body() body: Record<string, unknown>): Promise<{ ok: true }> {
    await new Promise((resolve) => setImmediate(resolve));
    this.logger.log({ message: 'probe handled', note: body.note });
    // A line about a notification names the notification's requestId, as dispatch and consent lines do.
    this.logger.log({ message: 'probe about a notification', note: body.note, requestId: 'notification-request-1' });
    return { ok: true };
  }
}

@Module({ controllers: [LogProbeController] })
class LogProbeModule {}

/** The value of one series in Prometheus text, found by name and labels; undefined when absent. */
function metricValue(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  for (const line of metrics.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(/,(?=[a-zA-Z_]\w*=")/);
    if (wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return undefined;
}

describe('operations: structured logs and metrics', () => {
  const log = captureLog();
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator, {
      env: { LOG_FORMAT: 'json', LOG_LEVEL: 'debug', DISPATCH_MAX_ATTEMPTS: String(MAX_ATTEMPTS), DISPATCH_BACKOFF_MS: '20' },
      imports: [LogProbeModule],
      logDestination: log.stream,
    });
    tenant = await createTenant(t, simulator);
    await putUser(t, tenant, 'retried-user', { phoneNumber: '+919988776601' });
    await putUser(t, tenant, 'sent-user', { phoneNumber: '+919988776602' });
  });
  afterEach(() => simulator.clearFailures());
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('logs each retry and the discard once, with the ids as fields and the reason, and the access line with the caller\'s x-request-id', async () => {
    simulator.injectFailure({ status: 503, count: MAX_ATTEMPTS, message: 'Gupshup is down for maintenance' });
    const res = await postNotification(t, tenant, { notification: { title: 'Hello' }, sendTo: { recipients: ['retried-user'] } }, { 'X-Request-Id': 'client-req-0001' }).expect(202);
    expect(res.headers['x-request-id']).toBe('client-req-0001');
    const { requestId } = res.body as { requestId: string };
    const messageId = (res.body as { messages: { messageId: string }[] }).messages[0].messageId;
    await jobInState(t, messageId, 'discarded');

    const dispatchLines = () => log.lines().filter((line) => line.context === 'WhatsAppDispatcher' && line.messageId === messageId && line.level === 'warn');
    const lines = await eventually(() => {
      const found = dispatchLines();
      return found.length >= MAX_ATTEMPTS ? found : undefined;
    }, 'the retry and discard lines');
    expect(lines).toHaveLength(MAX_ATTEMPTS);
    const ids = { appId: tenant.appId, messageId, requestId, maxAttempts: MAX_ATTEMPTS };
    for (const [index, line] of lines.slice(0, -1).entries()) {
      const attempt = index + 1;
      expect(line).toMatchObject({ ...ids, attempt, errorKind: 'http', httpStatus: 503, reason: 'HTTP 503: Gupshup is down for maintenance', action: 'retry' });
      expect(line.message).toContain(`attempt ${attempt} of ${MAX_ATTEMPTS} failed (HTTP 503: Gupshup is down for maintenance); next try at ${String(line.nextAttemptAt)}`);
      expect(Date.parse(String(line.nextAttemptAt))).not.toBeNaN();
      expect(line.retryInMs).toEqual(expect.any(Number));
    }
    expect(lines.at(-1)).toMatchObject({
      ...ids,
      attempt: MAX_ATTEMPTS,
      code: 'attempts_exhausted',
      action: 'discard',
      reason: `Gupshup did not accept the message in ${MAX_ATTEMPTS} attempts; the last error was HTTP 503: Gupshup is down for maintenance`,
    });
    expect(lines.at(-1)!.message).toMatch(/^discarded \(attempts_exhausted\) after attempt 3 of 3: /);

    const access = await eventually(
      () => log.lines().find((line) => line.context === 'HTTP' && line.requestId === 'client-req-0001'),
      'the access line of the send',
    );
    expect(access).toMatchObject({
      level: 'info',
      method: 'POST',
      url: '/v3/notifications',
      route: '/v3/notifications',
      statusCode: 202,
      appId: tenant.appId,
      durationMs: expect.any(Number),
      time: expect.any(String),
    });
  });

  it('names the retry\'s code on an HTTP retry line, as its metric label and the discard codes do (http_500)', async () => {
    const own = await createTenant(t, simulator);
    await putUser(t, own, 'retried-500-user', { phoneNumber: '+919988776612' });
    simulator.injectFailure({ status: 500, count: 1, message: 'Internal error' });
    const res = await postNotification(t, own, { notification: { title: 'Hello' }, sendTo: { recipients: ['retried-500-user'] } }).expect(202);
    const { requestId, messages } = res.body as { requestId: string; messages: { messageId: string }[] };
    const { messageId } = messages[0];
    await jobInState(t, messageId, 'sent');
    const line = await eventually(() => log.lines().find((found) => found.messageId === messageId && found.action === 'retry'), 'the retry line');
    expect(line).toMatchObject({ level: 'warn', appId: own.appId, messageId, requestId, attempt: 1, errorKind: 'http', httpStatus: 500, code: 'http_500', nextAttemptAt: expect.any(String) });
    expect(line).not.toHaveProperty('failureCode');
  });

  it('logs a discard after an HTTP 400 answer once, with the ids and action: discard', async () => {
    await putUser(t, tenant, 'refused-user', { phoneNumber: '+919988776603' });
    simulator.injectFailure({ status: 400, body: { status: 'error', message: 'Invalid destination' } });
    const res = await postNotification(t, tenant, { notification: { title: 'Hello' }, sendTo: { recipients: ['refused-user'] } }).expect(202);
    const { requestId } = res.body as { requestId: string };
    const messageId = (res.body as { messages: { messageId: string }[] }).messages[0].messageId;
    await jobInState(t, messageId, 'discarded');

    const line = await eventually(
      () => log.lines().find((found) => found.context === 'WhatsAppDispatcher' && found.messageId === messageId && found.level === 'warn'),
      'the discard line',
    );
    expect(line).toMatchObject({ appId: tenant.appId, messageId, requestId, attempt: 1, errorKind: 'http', httpStatus: 400, action: 'discard' });
    expect(log.lines().filter((found) => found.messageId === messageId && found.action === 'discard')).toHaveLength(1);
  });

  it('logs and counts each message discarded when its request is accepted: no user, no phone number, a suppressed number', async () => {
    await putUser(t, tenant, 'no-phone-user', { email: 'no-phone@example.com' });
    await putUser(t, tenant, 'suppressed-user', { phoneNumber: '+919988776604' });
    await request(t.url).put('/v3/channels/whatsapp/suppressions/+919988776604').set(tenant.headers).send({ reason: 'manual' }).expect(200);
    const before = (await request(t.url).get('/metrics').expect(200)).text;
    const res = await postNotification(t, tenant, { notification: { title: 'Hello' }, sendTo: { recipients: ['nobody-here', 'no-phone-user', 'suppressed-user'] } }).expect(202);
    const { requestId, messages } = res.body as { requestId: string; messages: { messageId: string; status: string; discardReason: { code: string } }[] };
    expect(messages.map((message) => [message.status, message.discardReason.code])).toEqual([
      ['discarded', 'unknown_recipient'],
      ['discarded', 'no_phone_number'],
      ['discarded', 'manual'],
    ]);

    for (const [index, context] of ['SendNotification', 'SendNotification', 'Consent'].entries()) {
      const { messageId, discardReason } = messages[index];
      const line = await eventually(() => log.lines().find((found) => found.messageId === messageId && found.action === 'discard'), `the discard line of ${discardReason.code}`);
      expect(line).toMatchObject({ context, appId: tenant.appId, messageId, requestId, discardReason: discardReason.code, action: 'discard' });
      expect(log.lines().filter((found) => found.messageId === messageId && found.action === 'discard')).toHaveLength(1);
    }

    const after = (await request(t.url).get('/metrics').expect(200)).text;
    for (const code of ['unknown_recipient', 'no_phone_number', 'manual']) {
      const count = (text: string) => metricValue(text, 'whatsapp_dispatch_outcomes_total', { outcome: 'discarded', code }) ?? 0;
      expect(count(after) - count(before)).toBe(1);
    }
  });

  it('logs a suppressed number\'s discard at accept time as a warning, as every discard', async () => {
    const own = await createTenant(t, simulator);
    await putUser(t, own, 'suppressed-warn-user', { phoneNumber: '+919988776611' });
    await request(t.url).put('/v3/channels/whatsapp/suppressions/+919988776611').set(own.headers).send({ reason: 'manual' }).expect(200);
    const res = await postNotification(t, own, { notification: { title: 'Hello' }, sendTo: { recipients: ['suppressed-warn-user'] } }).expect(202);
    const { requestId, messages } = res.body as { requestId: string; messages: { messageId: string }[] };
    const { messageId } = messages[0];
    const line = await eventually(() => log.lines().find((found) => found.messageId === messageId && found.action === 'discard'), 'the consent discard line');
    expect(line).toMatchObject({ level: 'warn', context: 'Consent', appId: own.appId, messageId, requestId, code: 'manual', discardReason: 'manual', stage: 'accept' });
    expect(log.lines().filter((found) => found.messageId === messageId)).toHaveLength(1);
  });

  it('names the request and its app on the lines written while handling it; a request id that is not sane is replaced', async () => {
    const res = await request(t.url).post('/v3/log-probe').set(tenant.headers).set('X-Request-Id', 'has spaces and "quotes"').send({ note: 'n-1' }).expect(201);
    const requestId = res.headers['x-request-id'] as string;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const probe = await eventually(() => log.lines().find((line) => line.context === 'LogProbe' && line.note === 'n-1' && line.message === 'probe handled'), 'the probe line');
    expect(probe).toMatchObject({ requestId, appId: tenant.appId, message: 'probe handled' });
    expect(probe.httpRequestId).toBeUndefined();
    const aboutNotification = log.lines().find((line) => line.context === 'LogProbe' && line.note === 'n-1' && line.message === 'probe about a notification');
    expect(aboutNotification).toMatchObject({ requestId: 'notification-request-1', httpRequestId: requestId, appId: tenant.appId });
    const access = await eventually(() => log.lines().find((line) => line.context === 'HTTP' && line.requestId === requestId), 'the probe access line');
    expect(access).toMatchObject({ route: '/v3/log-probe', statusCode: 201, appId: tenant.appId });

    // Unauthenticated and unmatched requests get an id and an access line too, without an app.
    const missing = await request(t.url).get('/no/such/route').set('X-Request-Id', 'client-req-404').expect(404);
    expect(missing.headers['x-request-id']).toBe('client-req-404');
    const unmatched = await eventually(() => log.lines().find((line) => line.requestId === 'client-req-404' && line.context === 'HTTP'), 'the 404 access line');
    expect(unmatched).toMatchObject({ route: 'unmatched', statusCode: 404 });
    expect(unmatched).not.toHaveProperty('appId');
  });

  it('shows Gupshup latency, dispatch outcomes, job counts and HTTP durations in /metrics after a send', async () => {
    const res = await postNotification(t, tenant, { notification: { title: 'Hello' }, sendTo: { recipients: ['sent-user'] } }).expect(202);
    await jobInState(t, res.body.messages[0].messageId, 'sent');

    const metrics = (await request(t.url).get('/metrics').expect(200)).text;
    expect(metricValue(metrics, 'gupshup_send_duration_seconds_count', { outcome: 'retryable', status_code: '503' })).toBe(MAX_ATTEMPTS);
    expect(metricValue(metrics, 'gupshup_send_duration_seconds_count', { outcome: 'accepted' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'whatsapp_dispatch_outcomes_total', { outcome: 'retry', code: 'http_503' })).toBe(MAX_ATTEMPTS - 1);
    expect(metricValue(metrics, 'whatsapp_dispatch_outcomes_total', { outcome: 'discarded', code: 'attempts_exhausted' })).toBe(1);
    expect(metricValue(metrics, 'whatsapp_dispatch_outcomes_total', { outcome: 'sent', code: 'accepted' })).toBeGreaterThanOrEqual(1);
    for (const state of ['pending', 'in_flight', 'outcome_unknown']) {
      expect(metricValue(metrics, 'whatsapp_dispatch_jobs', { state })).toBe(0);
    }
    expect(metricValue(metrics, 'whatsapp_dispatch_oldest_due_seconds', {})).toBe(0);
    expect(metricValue(metrics, 'http_request_duration_seconds_count', { method: 'POST', route: '/v3/notifications', status_code: '202' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
    // Raw URLs are never labels.
    expect(metrics).not.toContain('/no/such/route');
  });

  it('names the app on the access lines of its Gupshup webhook, accepted or refused, and on no line of an unknown key', async () => {
    const own = await createTenant(t, simulator);
    const webhook = `/api/v1/apps/${own.apiKey}/webhook/gupshup_whatsapp`;
    const body = { type: 'user-event', payload: { type: 'sandbox-start' } };
    await request(t.url).post(own.callbackPath).set('X-Request-Id', 'client-req-webhook-ok').send(body).expect(200);
    await request(t.url).post(`${webhook}?token=wrong`).set('X-Request-Id', 'client-req-webhook-refused').send(body).expect(401);
    await request(t.url).post('/api/v1/apps/no-such-key/webhook/gupshup_whatsapp?token=x').set('X-Request-Id', 'client-req-webhook-unknown').send(body).expect(404);
    for (const [requestId, statusCode] of [['client-req-webhook-ok', 200], ['client-req-webhook-refused', 401]] as const) {
      const access = await eventually(() => log.lines().find((line) => line.context === 'HTTP' && line.requestId === requestId), `the access line of ${requestId}`);
      expect(access).toMatchObject({ route: '/api/v1/apps/:apiKey/webhook/gupshup_whatsapp', statusCode, appId: own.appId });
    }
    const unknown = await eventually(() => log.lines().find((line) => line.context === 'HTTP' && line.requestId === 'client-req-webhook-unknown'), 'the access line of an unknown key');
    expect(unknown).toMatchObject({ statusCode: 404 });
    expect(unknown).not.toHaveProperty('appId');
  });

  it('never writes the app secret, the admin token, the Gupshup API key or a callback token', async () => {
    const callbackToken = 'cb-token-that-must-stay-secret-0123456789';
    await request(t.url)
      .post(`/api/v1/apps/${tenant.apiKey}/webhook/gupshup_whatsapp?token=${callbackToken}`)
      .set('X-Request-Id', 'client-req-callback')
      .send({ type: 'message-event', payload: {} });
    const access = await eventually(() => log.lines().find((line) => line.context === 'HTTP' && line.requestId === 'client-req-callback'), 'the callback access line');
    expect(access.url).toBe(`/api/v1/apps/${tenant.apiKey}/webhook/gupshup_whatsapp?token=[redacted]`);

    const output = log.text();
    for (const secret of [tenant.apiSecret, TEST_ADMIN_TOKEN, tenant.gupshupApiKey, callbackToken]) expect(output).not.toContain(secret);
    // Every line is JSON, and there are many: the test looked at a real log.
    expect(log.lines().length).toBeGreaterThan(20);
  });

  it('never writes a callback token that came under another parameter name: every query value is redacted', async () => {
    const own = await createTenant(t, simulator);
    const callbackToken = new URL(`http://host${own.callbackPath}`).searchParams.get('token')!;
    const webhook = `/api/v1/apps/${own.apiKey}/webhook/gupshup_whatsapp`;
    const sent = [
      [`${webhook}?callbackToken=${callbackToken}`, `${webhook}?callbackToken=[redacted]`],
      [`${webhook}?x=${callbackToken}&token=${callbackToken}`, `${webhook}?x=[redacted]&token=[redacted]`],
      [`${webhook}%3Fx%3D${callbackToken}`, `${webhook}%3Fx=[redacted]`],
    ];
    for (const [index, [url, logged]] of sent.entries()) {
      const requestId = `client-req-other-name-${index}`;
      await request(t.url).post(url).set('X-Request-Id', requestId).send({ type: 'message-event', payload: {} });
      const access = await eventually(() => log.lines().find((line) => line.context === 'HTTP' && line.requestId === requestId), `the access line of ${logged}`);
      expect(access.url).toBe(logged);
    }
    expect(log.text()).not.toContain(callbackToken);
  });
});

describe('operations: the log line of a message held by the rate limit', () => {
  // Slots half a second apart: a busy machine would have to stall that long for a message not to wait.
  const LIMIT_PER_SECOND = 2;
  const MESSAGES = 6;
  const log = captureLog();
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator, {
      env: { LOG_FORMAT: 'json', LOG_LEVEL: 'info', GUPSHUP_RATE_LIMIT: String(LIMIT_PER_SECOND) },
      logDestination: log.stream,
    });
    tenant = await createTenant(t, simulator);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('logs once per message how long it waited for its turn, however often its job was claimed and given back meanwhile', async () => {
    const recipients = Array.from({ length: MESSAGES }, (_, index) => `limited-user-${index}`);
    for (const [index, identifier] of recipients.entries()) await putUser(t, tenant, identifier, { phoneNumber: `+91998877670${index}` });
    // At 2/s the messages of one request go over two seconds and more: the worker holds the next one for at
    // most 250 ms, then gives the rest back to the queue and claims them again, several times.
    const res = await postNotification(t, tenant, { notification: { title: 'Paced' }, sendTo: { recipients } }).expect(202);
    const { requestId, messages } = res.body as { requestId: string; messages: { messageId: string }[] };
    for (const { messageId } of messages) await jobInState(t, messageId, 'sent');

    const held = log.lines().filter((line) => line.action === 'rate_limited' && line.requestId === requestId);
    // The first message goes at once; the others wait, unless the machine stalled past their slot.
    expect(held.length).toBeGreaterThanOrEqual(MESSAGES / 2);
    expect(held.length).toBeLessThan(MESSAGES);
    expect(new Set(held.map((line) => line.messageId)).size).toBe(held.length);
    const messageIds = messages.map((message) => message.messageId);
    for (const line of held) {
      expect(line).toMatchObject({ level: 'info', context: 'WhatsAppDispatcher', appId: tenant.appId, requestId, attempt: 1, rateLimitPerSecond: LIMIT_PER_SECOND });
      expect(messageIds).toContain(line.messageId);
      expect(line.waitedMs).toEqual(expect.any(Number));
      expect(line.waitedMs as number).toBeGreaterThan(0);
      expect(Date.parse(String(line.heldSince))).not.toBeNaN();
      expect(line.message).toMatch(/^attempt 1 held \d.* by the app's rate limit \(2\/s\) before its turn to go to Gupshup$/);
    }
  });
});

describe('operations: the log lines of a callback parked until its message is known', () => {
  const log = captureLog();
  let t: TestApp;

  beforeAll(async () => {
    t = await tracking.startTrackingApp({ env: { LOG_FORMAT: 'json', LOG_LEVEL: 'info' }, logDestination: log.stream });
  });
  afterAll(() => t?.close());

  it('names the report\'s ids on the parked line, and logs once, with the message, when the parked callback is applied', async () => {
    const tenant = await tracking.createTenant(t);
    const gupshupMessageId = randomUUID();
    const whatsappMessageId = `wamid.${gupshupMessageId}`;
    const destination = '919985010177';
    const context = { gupshupMessageId, whatsappMessageId, destination, appName: 'DemoAPI', appSource: '917834811114', appId: 'gs', kind: 'session' as const };
    const body = buildCallbackBody('v2', context, { status: 'delivered', occurredAtMs: Date.now() - 5000, omitGsId: false, v3FailedStyle: 'errors' });
    // The callback overtakes its send's record: nothing knows its id yet.
    await tracking.postCallback(t, tenant.apiKey, body).expect(200);
    const parkedLines = () => log.lines().filter((line) => line.context === 'DeliveryTracking' && line.appId === tenant.id && line.message.startsWith('callback parked'));
    const parked = await eventually(() => (parkedLines().length > 0 ? parkedLines() : undefined), 'the parked line');
    expect(parked).toHaveLength(1);
    // The number masked, as every line masks numbers.
    const shownDestination = '+91…0177';
    expect(parked[0]).toMatchObject({ level: 'info', providerStatus: 'delivered', gupshupMessageId, whatsappMessageId, destination: shownDestination, callbackEventId: expect.any(String) });
    expect(log.text()).not.toContain(destination);

    const message = await tracking.queueMessage(t, tenant.id, { gupshupId: gupshupMessageId, phoneNumber: `+${destination}` });
    await tracking.catchUpTracking(t);
    const appliedLines = () => log.lines().filter((line) => line.appId === tenant.id && line.action === 'unparked');
    const applied = await eventually(() => (appliedLines().length > 0 ? appliedLines() : undefined), 'the applied line');
    expect(applied).toHaveLength(1);
    expect(applied[0]).toMatchObject({
      level: 'info',
      context: 'DeliveryTracking',
      messageId: message.messageId,
      callbackEventId: parked[0].callbackEventId,
      providerStatus: 'delivered',
      gupshupMessageId,
      whatsappMessageId,
      destination: shownDestination,
    });
    expect(applied[0].message).toBe('parked callback (delivered) applied: its message is known now');
    expect(await tracking.deliveryEvents(t, message.messageId)).toHaveLength(1);
  });
});
