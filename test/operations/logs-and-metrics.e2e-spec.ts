import { Body, Controller, Logger, Module, Post } from '@nestjs/common';
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
});
