import { request } from 'undici';
import { parseGupshupCallback, type DeliveryReport, type ProviderStatus } from '../../src/whatsapp/gupshup/callback-parser';
import { GupshupClient } from '../../src/whatsapp/gupshup/gupshup-client';
import { buildGupshupSendRequest, type GupshupCredentials } from '../../src/whatsapp/gupshup/send-request';
import { parseTemplateEvent } from '../../src/whatsapp/gupshup/template-event-parser';
import { startCallbackReceiver, type CallbackReceiver } from './callback-receiver';
import { createGupshupSimulator, type GupshupSimulator, type GupshupSimulatorOptions } from './gupshup-simulator';

const API_KEY = 'sk_test_5d2a9c71e3b84f06';
const credentials: GupshupCredentials = { apiKey: API_KEY, source: '917834811114', srcName: 'DemoAPI' };

interface HttpAnswer {
  status: number;
  contentType: string | undefined;
  text: string;
  json: unknown;
}

async function call(baseUrl: string, method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<HttpAnswer> {
  const response = await request(`${baseUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, contentType: response.headers['content-type'] as string | undefined, text, json };
}

async function sendForm(baseUrl: string, path: string, form: Record<string, string>, apiKey: string | null = API_KEY): Promise<HttpAnswer> {
  const response = await request(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(apiKey === null ? {} : { apikey: apiKey }) },
    body: new URLSearchParams(form).toString(),
  });
  const text = await response.body.text();
  return { status: response.statusCode, contentType: response.headers['content-type'] as string | undefined, text, json: JSON.parse(text) as unknown };
}

const textForm = (destination: string): Record<string, string> => ({
  channel: 'whatsapp',
  source: '917834811114',
  'src.name': 'DemoAPI',
  destination,
  message: '{"type":"text","text":"hi"}',
});

function reportsFrom(bodies: unknown[]): DeliveryReport[] {
  return bodies.flatMap((body) => {
    const parsed = parseGupshupCallback(body);
    if (parsed.kind !== 'delivery') throw new Error(`not a delivery: ${JSON.stringify(parsed)}`);
    return parsed.reports;
  });
}

describe('simulator send API', () => {
  let simulator: GupshupSimulator;
  let baseUrl: string;

  beforeAll(async () => {
    simulator = createGupshupSimulator({ apps: [{ apiKey: API_KEY, source: '917834811114', srcName: 'DemoAPI' }] });
    baseUrl = await simulator.listen();
  });
  afterEach(() => simulator.reset());
  afterAll(() => simulator.close());

  it('answers a valid send like Gupshup and records it', async () => {
    const answer = await sendForm(baseUrl, '/wa/api/v1/msg', textForm('919876543210'));
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('application/json; charset=utf-8');
    expect(answer.json).toEqual({ status: 'submitted', messageId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(Object.keys(answer.json as object)).toEqual(['status', 'messageId']);

    const recorded = await call(baseUrl, 'GET', '/__simulator/requests');
    expect(recorded.json).toEqual([
      expect.objectContaining({ sequence: 1, method: 'POST', path: '/wa/api/v1/msg', form: textForm('919876543210'), response: expect.objectContaining({ status: 200 }) }),
    ]);
    expect((recorded.json as { headers: Record<string, string> }[])[0].headers.apikey).toBe(API_KEY);

    const messages = (await call(baseUrl, 'GET', '/__simulator/messages')).json as { messageId: string; destination: string; fate: { final: string }; apiKey: string }[];
    expect(messages).toEqual([
      expect.objectContaining({ messageId: (answer.json as { messageId: string }).messageId, destination: '919876543210', apiKey: '****4f06', fate: expect.objectContaining({ final: 'read', source: 'default' }) }),
    ]);
    expect((await call(baseUrl, 'GET', `/__simulator/messages/${messages[0].messageId}`)).status).toBe(200);
    expect((await call(baseUrl, 'GET', '/__simulator/messages/nope')).status).toBe(404);

    expect((await call(baseUrl, 'DELETE', '/__simulator/requests')).status).toBe(204);
    expect((await call(baseUrl, 'GET', '/__simulator/requests')).json).toEqual([]);
  });

  it('answers Gupshup exact error bodies', async () => {
    const unauthorised = await sendForm(baseUrl, '/wa/api/v1/msg', textForm('919876543210'), 'sk_test_wrong_key');
    expect([unauthorised.status, unauthorised.text]).toEqual([401, '{"message":"Authentication Failed","status":"error"}']);
    const noKey = await sendForm(baseUrl, '/wa/api/v1/msg', textForm('919876543210'), null);
    expect(noKey.status).toBe(401);
    const wrongApp = await sendForm(baseUrl, '/wa/api/v1/msg', { ...textForm('919876543210'), source: '919999999999' });
    expect([wrongApp.status, wrongApp.text]).toEqual([400, '{"message":"Invalid App Details","status":"error"}']);
    const badDestination = await sendForm(baseUrl, '/wa/api/v1/msg', textForm('+919876543210'));
    expect([badDestination.status, badDestination.text]).toEqual([400, '{"message":"Invalid Destination","status":"error"}']);
    const badTemplate = await sendForm(baseUrl, '/wa/api/v1/template/msg', { ...textForm('919876543210'), template: '{"params":[]}' });
    expect(badTemplate.status).toBe(400);
    expect(simulator.messages()).toEqual([]);
  });

  it('refuses a JSON body the way Gupshup refuses a missing form, and records it', async () => {
    const response = await request(`${baseUrl}/wa/api/v1/msg`, {
      method: 'POST',
      headers: { apikey: API_KEY, 'content-type': 'text/plain' },
      body: 'source=917834811114',
    });
    expect(response.statusCode).toBe(400);
    await response.body.text();
    expect(simulator.requests()[0]).toMatchObject({ form: {}, rawBody: 'source=917834811114' });
  });

  it('records requests to unknown paths and answers 404', async () => {
    const answer = await call(baseUrl, 'POST', '/sm/api/v1/msg', {});
    expect(answer.status).toBe(404);
    expect(simulator.requests()).toMatchObject([{ path: '/sm/api/v1/msg', response: { status: 404 } }]);
  });

  it('accepts any key in accept-any-key mode', async () => {
    await call(baseUrl, 'PATCH', '/__simulator/settings', { acceptAnyKey: true });
    const answer = await sendForm(baseUrl, '/wa/api/v1/msg', { ...textForm('919876543216'), 'src.name': 'TryIt', source: '14155550100' }, 'anything-at-all');
    expect(answer.status).toBe(200);
    expect(simulator.messages()[0]).toMatchObject({ appName: 'TryIt', source: '14155550100', destination: '919876543216' });
  });

  it('queues failure injections and consumes them in order', async () => {
    expect((await call(baseUrl, 'POST', '/__simulator/failures', { status: 503, count: 2 })).status).toBe(201);
    await call(baseUrl, 'POST', '/__simulator/failures', { status: 400, message: 'Template params mismatch' });
    expect((await call(baseUrl, 'GET', '/__simulator/failures')).json).toEqual([
      { status: 503, count: 2 },
      { status: 400, count: 1, message: 'Template params mismatch' },
    ]);
    const statuses: [number, string][] = [];
    for (let i = 0; i < 4; i++) {
      const answer = await sendForm(baseUrl, '/wa/api/v1/msg', textForm('919876543210'));
      statuses.push([answer.status, answer.text]);
    }
    expect(statuses).toEqual([
      [503, '{"status":"error","message":"Internal server error. Please try again later"}'],
      [503, '{"status":"error","message":"Internal server error. Please try again later"}'],
      [400, '{"message":"Template params mismatch","status":"error"}'],
      [200, expect.stringContaining('"submitted"')],
    ]);
    expect((await call(baseUrl, 'GET', '/__simulator/failures')).json).toEqual([]);
  });

  it('validates control input and names what is wrong', async () => {
    expect(await call(baseUrl, 'POST', '/__simulator/failures', { count: 2 })).toMatchObject({
      status: 400,
      json: { message: 'invalid failure: give at least one of status, delayMs or dropConnection' },
    });
    expect(await call(baseUrl, 'PUT', '/__simulator/apps/k', { source: 'abc', srcName: '' })).toMatchObject({ status: 400 });
    expect(((await call(baseUrl, 'PUT', '/__simulator/apps/k', { source: 'abc', srcName: '' })).json as { message: string }).message).toMatch(/source.*srcName/);
    expect(await call(baseUrl, 'PUT', '/__simulator/fates/919876543210', { final: 'bounced' })).toMatchObject({ status: 400 });
    expect(await call(baseUrl, 'PATCH', '/__simulator/settings', { callbackFormat: 'v9' })).toMatchObject({ status: 400 });
    expect(await call(baseUrl, 'GET', '/__simulator/nothing')).toMatchObject({ status: 404 });
    expect(simulator.requests()).toEqual([]);
  });

  it('registers, lists and removes apps and fates', async () => {
    const put = await call(baseUrl, 'PUT', '/__simulator/apps/sk_other_0000aaaa', { source: '+14155550100', srcName: 'Acme', callbackFormat: 'v3' });
    expect(put).toMatchObject({ status: 200, json: { apiKey: '****aaaa', source: '14155550100', srcName: 'Acme', callbackFormat: 'v3' } });
    expect(((await call(baseUrl, 'GET', '/__simulator/apps')).json as unknown[]).length).toBe(2);
    expect((await sendForm(baseUrl, '/wa/api/v1/msg', { ...textForm('919876543210'), source: '14155550100', 'src.name': 'Acme' }, 'sk_other_0000aaaa')).status).toBe(200);
    expect((await call(baseUrl, 'DELETE', '/__simulator/apps/sk_other_0000aaaa')).status).toBe(204);
    expect((await call(baseUrl, 'DELETE', '/__simulator/apps/sk_other_0000aaaa')).status).toBe(404);

    expect(await call(baseUrl, 'PUT', '/__simulator/fates/+919876543210', { final: 'failed', code: 131047 })).toMatchObject({ status: 200 });
    expect((await call(baseUrl, 'GET', '/__simulator/fates')).json).toEqual({ '919876543210': { final: 'failed', code: 131047 } });
    await sendForm(baseUrl, '/wa/api/v1/msg', textForm('919876543210'));
    expect(simulator.messages().at(-1)?.fate).toMatchObject({ final: 'failed', source: 'override', failure: { code: 131047, reason: 'Re-engagement message', stage: 'async' } });
    expect((await call(baseUrl, 'DELETE', '/__simulator/fates/919876543210')).status).toBe(204);
    expect((await call(baseUrl, 'DELETE', '/__simulator/fates')).status).toBe(204);
  });

  it('resets to the apps and settings it was created with', async () => {
    await call(baseUrl, 'PATCH', '/__simulator/settings', { reorder: true });
    await call(baseUrl, 'PUT', '/__simulator/apps/sk_temp_00000000', { source: '14155550100', srcName: 'Temp' });
    expect((await call(baseUrl, 'POST', '/__simulator/reset')).status).toBe(204);
    expect(((await call(baseUrl, 'GET', '/__simulator/settings')).json as { reorder: boolean }).reorder).toBe(false);
    expect(simulator.apps().map((app) => app.srcName)).toEqual(['DemoAPI']);
  });

  it('rejects a wait that times out, saying what it waited for', async () => {
    await expect(simulator.waitForRequests(1, 50)).rejects.toThrow('timed out after 50 ms waiting for 1 requests (received 0)');
  });
});

describe('simulator callbacks', () => {
  let receiver: CallbackReceiver;
  let simulator: GupshupSimulator | undefined;
  let client: GupshupClient | undefined;

  async function start(options: GupshupSimulatorOptions = {}, format: 'v2' | 'v3' = 'v2'): Promise<{ simulator: GupshupSimulator; client: GupshupClient }> {
    simulator = createGupshupSimulator({
      apps: [{ apiKey: API_KEY, source: '917834811114', srcName: 'DemoAPI', callbackUrl: receiver.url, callbackFormat: format }],
      callbackRetryBackoffMs: 5,
      ...options,
    });
    client = new GupshupClient({ baseUrl: await simulator.listen(), timeoutMs: 5000 });
    return { simulator, client };
  }

  async function sendText(destination: string): Promise<string> {
    const outcome = await client!.send(buildGupshupSendRequest({ credentials, destination, text: 'hi' }));
    if (outcome.outcome !== 'accepted') throw new Error(JSON.stringify(outcome));
    return outcome.messageId;
  }

  beforeEach(async () => {
    receiver = await startCallbackReceiver();
  });
  afterEach(async () => {
    await client?.close();
    await simulator?.close();
    await receiver.close();
    client = undefined;
    simulator = undefined;
  });

  const fates: [string, ProviderStatus[]][] = [
    ['919876543210', ['enqueued', 'sent', 'delivered', 'read']],
    ['919876543216', ['enqueued', 'sent', 'delivered']],
    ['919876543218', ['enqueued', 'sent']],
    ['919876543219', ['failed']],
  ];

  describe.each(['v2', 'v3'] as const)('%s', (format) => {
    it.each(fates)('posts the callbacks of %s in order: %j', async (destination, statuses) => {
      const { simulator } = await start({}, format);
      const messageId = await sendText(destination);
      await simulator.waitForCallbacksDelivered(statuses.length);
      const received = await receiver.waitFor(statuses.length);

      expect(received.every((callback) => String(callback.headers['content-type']).startsWith('application/json'))).toBe(true);
      const bodies = received.map((callback) => callback.body as Record<string, unknown>);
      if (format === 'v2') for (const body of bodies) expect(body).toMatchObject({ app: 'DemoAPI', version: 2, type: 'message-event', timestamp: expect.any(Number) });
      else for (const body of bodies) expect(body).toMatchObject({ object: 'whatsapp_business_account', entry: expect.any(Array) });

      const reports = reportsFrom(bodies);
      expect(reports.map((report) => report.providerStatus)).toEqual(statuses);
      for (const report of reports) {
        expect(report).toMatchObject({ format, gupshupMessageId: messageId, destination });
      }
      const times = reports.map((report) => report.occurredAt.getTime());
      expect([...times].sort((a, b) => a - b)).toEqual(times);

      const message = simulator.message(messageId)!;
      expect(message.callbacks.map((callback) => [callback.event, callback.state, callback.attempts.length])).toEqual(statuses.map((status) => [status, 'delivered', 1]));
      expect(message.callbacks[0].attempts[0]).toMatchObject({ status: 200 });
      if (statuses[0] === 'enqueued') {
        expect(reports[0].whatsappMessageId).toBe(message.whatsappMessageId);
        expect(message.whatsappMessageId).toMatch(format === 'v2' ? /^gBEG/ : /^wamid\./);
        for (const report of reports.slice(1)) expect(report.whatsappMessageId).toBe(message.whatsappMessageId);
      } else {
        expect(reports[0]).toMatchObject({ code: '1002', reason: 'Number Does Not Exist On WhatsApp' });
      }
    });

    it('fails asynchronously with a WhatsApp code after enqueued', async () => {
      const { simulator } = await start({}, format);
      simulator.setFate('919876543211', { final: 'failed', code: 470 });
      const messageId = await sendText('919876543211');
      await simulator.waitForCallbacksDelivered(2);
      const reports = reportsFrom((await receiver.waitFor(2)).map((callback) => callback.body));
      expect(reports).toEqual([
        expect.objectContaining({ providerStatus: 'enqueued', gupshupMessageId: messageId }),
        expect.objectContaining({
          providerStatus: 'failed',
          gupshupMessageId: messageId,
          code: '470',
          reason: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number',
        }),
      ]);
    });

    it('sends late DLRs without the Gupshup id when asked', async () => {
      const { simulator } = await start({ omitGsId: true }, format);
      const messageId = await sendText('919876543210');
      await simulator.waitForCallbacksDelivered(4);
      const reports = reportsFrom((await receiver.waitFor(4)).map((callback) => callback.body));
      expect(reports[0]).toMatchObject({ providerStatus: 'enqueued', gupshupMessageId: messageId });
      for (const report of reports.slice(1)) {
        expect(report.gupshupMessageId).toBeUndefined();
        expect(report.whatsappMessageId).toBe(reports[0].whatsappMessageId);
      }
    });
  });

  it("posts a template-event when a template's status is set, and fails later sends of a paused template", async () => {
    const { simulator, client } = await start();
    const sendTemplate = async () => {
      const outcome = await client.send(
        buildGupshupSendRequest({ credentials, destination: '919876543210', text: '', template: { id: 'tpl-1', params: ['A-1'], header: { type: 'image', link: 'https://x.test/a.png' } } }),
      );
      if (outcome.outcome !== 'accepted') throw new Error(JSON.stringify(outcome));
      return outcome.messageId;
    };
    const approved = await sendTemplate();
    await simulator.waitForCallbacksDelivered(4);
    expect(simulator.message(approved)).toMatchObject({ endpoint: 'template', template: { id: 'tpl-1', params: ['A-1'] }, message: { type: 'image', image: { link: 'https://x.test/a.png' } } });

    const event = await simulator.setTemplateStatus(API_KEY, 'tpl-1', { status: 'paused', elementName: 'order_shipped', languageCode: 'en' });
    expect(event).toMatchObject({ templateId: 'tpl-1', status: 'paused', state: 'delivered' });
    const [templateEvent] = (await receiver.waitFor(5)).slice(4);
    expect(parseTemplateEvent(templateEvent.body, new Date())).toMatchObject({
      kind: 'template-status',
      report: { gupshupTemplateId: 'tpl-1', status: 'paused', elementName: 'order_shipped', languageCode: 'en' },
    });

    const paused = await sendTemplate();
    await simulator.waitForCallbacksDelivered(6);
    const reports = reportsFrom((await receiver.waitFor(7)).slice(5).map((callback) => callback.body));
    expect(reports).toEqual([
      expect.objectContaining({ providerStatus: 'enqueued', gupshupMessageId: paused }),
      expect.objectContaining({ providerStatus: 'failed', gupshupMessageId: paused, code: '4005', reason: 'Paused Template' }),
    ]);
    expect((await call(simulator.baseUrl!, 'PUT', `/__simulator/apps/${API_KEY}/templates/tpl-2`, { status: 'sleepy' })).status).toBe(400);
    expect(simulator.templateEvents()).toHaveLength(1);
  });

  it('reorders callbacks when asked, and sends each twice with duplicates', async () => {
    const { simulator } = await start({ reorder: true, duplicates: true });
    const messageId = await sendText('919876543210');
    await simulator.waitForCallbacksDelivered(8);
    const received = await receiver.waitFor(8);
    const statuses = reportsFrom(received.map((callback) => callback.body)).map((report) => report.providerStatus);
    expect([...statuses].sort()).toEqual(['delivered', 'delivered', 'enqueued', 'enqueued', 'read', 'read', 'sent', 'sent']);
    const naturalRank = { enqueued: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
    const ranks = statuses.map((status) => naturalRank[status]);
    expect(ranks).not.toEqual([...ranks].sort((a, b) => a - b));
    // A duplicate is the very same body, as a retried or double-subscribed callback would be.
    const byStatus = new Map<string, string[]>();
    for (const callback of received) {
      const [report] = reportsFrom([callback.body]);
      byStatus.set(report.providerStatus, [...(byStatus.get(report.providerStatus) ?? []), JSON.stringify(callback.body)]);
    }
    for (const copies of byStatus.values()) expect(new Set(copies).size).toBe(1);
    expect(simulator.message(messageId)!.callbacks.filter((callback) => callback.duplicate)).toHaveLength(4);
  });

  it('sends read without delivered when asked per fate', async () => {
    const { simulator } = await start();
    await call(simulator.baseUrl!, 'PUT', '/__simulator/fates/919876543212', { final: 'read', skipDelivered: true });
    await sendText('919876543212');
    await simulator.waitForCallbacksDelivered(3);
    expect(reportsFrom((await receiver.waitFor(3)).map((callback) => callback.body)).map((report) => report.providerStatus)).toEqual(['enqueued', 'sent', 'read']);
  });

  it('posts every callback before answering when asked', async () => {
    const { simulator } = await start({ callbackBeforeResponse: true });
    const messageId = await sendText('919876543216');
    expect(receiver.received()).toHaveLength(3);
    expect(reportsFrom(receiver.received().map((callback) => callback.body)).every((report) => report.gupshupMessageId === messageId)).toBe(true);
    expect(simulator.message(messageId)!.callbacks.every((callback) => callback.state === 'delivered')).toBe(true);
  });

  it('waits the configured delay between callbacks', async () => {
    const { simulator } = await start();
    simulator.setFate('919876543218', { final: 'sent', delayMs: 120 });
    const before = Date.now();
    await sendText('919876543218');
    const received = await receiver.waitFor(2);
    expect(received[0].receivedAt - before).toBeGreaterThanOrEqual(100);
    expect(received[1].receivedAt - received[0].receivedAt).toBeGreaterThanOrEqual(100);
    await simulator.waitForIdle();
  });

  it('retries a callback the receiver refuses, and records every attempt', async () => {
    await receiver.close();
    receiver = await startCallbackReceiver({ statusFor: (n) => (n <= 2 ? 500 : 200) });
    const { simulator } = await start();
    const messageId = await sendText('919876543218');
    await simulator.waitForCallbacksDelivered(2);
    const [enqueued, sent] = simulator.message(messageId)!.callbacks;
    expect(enqueued.attempts.map((attempt) => attempt.status)).toEqual([500, 500, 200]);
    expect(enqueued.state).toBe('delivered');
    expect(sent.attempts.map((attempt) => attempt.status)).toEqual([200]);
    expect(receiver.received()).toHaveLength(4);
  });

  it('gives up after its retries and goes on with the next callback', async () => {
    await receiver.close();
    receiver = await startCallbackReceiver({ statusFor: () => 503 });
    const { simulator } = await start({ callbackRetries: 2 });
    const messageId = await sendText('919876543218');
    await simulator.waitForIdle();
    const callbacks = simulator.message(messageId)!.callbacks;
    expect(callbacks.map((callback) => [callback.state, callback.attempts.length])).toEqual([
      ['failed', 3],
      ['failed', 3],
    ]);
  });

  it('records an unreachable callback URL as failed attempts', async () => {
    const unreachable = 'http://127.0.0.1:9/callbacks';
    simulator = createGupshupSimulator({ apps: [{ apiKey: API_KEY, source: '917834811114', srcName: 'DemoAPI', callbackUrl: unreachable }], callbackRetries: 1, callbackRetryBackoffMs: 1 });
    client = new GupshupClient({ baseUrl: await simulator.listen(), timeoutMs: 5000 });
    const messageId = await sendText('919876543219');
    await simulator.waitForIdle();
    const [failed] = simulator.message(messageId)!.callbacks;
    expect(failed.state).toBe('failed');
    expect(failed.attempts).toEqual([
      expect.objectContaining({ attempt: 1, error: expect.stringContaining('ECONNREFUSED') }),
      expect.objectContaining({ attempt: 2, error: expect.stringContaining('ECONNREFUSED') }),
    ]);
  });

  it('keeps callbacks unsent when the app has no callback URL', async () => {
    simulator = createGupshupSimulator({ apps: [{ apiKey: API_KEY, source: '917834811114', srcName: 'DemoAPI' }] });
    client = new GupshupClient({ baseUrl: await simulator.listen(), timeoutMs: 5000 });
    const messageId = await sendText('919876543210');
    expect(simulator.message(messageId)!.callbacks.map((callback) => callback.state)).toEqual(['no-callback-url', 'no-callback-url', 'no-callback-url', 'no-callback-url']);
  });

  it('uses the default callback URL and format for apps registered without them', async () => {
    simulator = createGupshupSimulator({ apps: [{ apiKey: API_KEY, source: '917834811114', srcName: 'DemoAPI' }], defaultCallbackUrl: receiver.url, callbackFormat: 'v3', v3FailedStyle: 'flat' });
    client = new GupshupClient({ baseUrl: await simulator.listen(), timeoutMs: 5000 });
    await sendText('919876543219');
    const [callback] = await receiver.waitFor(1);
    expect(JSON.stringify(callback.body)).toContain('"code":"1002"');
    expect(reportsFrom([callback.body])[0]).toMatchObject({ format: 'v3', providerStatus: 'failed', code: '1002' });
  });

  it('closes promptly while callbacks are still waiting, cancelling them', async () => {
    const { simulator } = await start({ delayMs: 60_000 });
    const messageId = await sendText('919876543210');
    const before = Date.now();
    const message = () => simulator.message(messageId)!;
    const pending = message().callbacks.map((callback) => callback.state);
    await simulator.close();
    // It did not wait out the callbacks' delay.
    expect(Date.now() - before).toBeLessThan(60_000);
    expect(pending).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(message().callbacks.map((callback) => callback.state)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(receiver.received()).toEqual([]);
  });

  it('logs one line per request and per callback, never with the whole API key', async () => {
    const lines: string[] = [];
    const { simulator } = await start({ log: (line) => lines.push(line) });
    await sendText('919876543218');
    await simulator.waitForCallbacksDelivered(2);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^request POST \/wa\/api\/v1\/msg apikey=\*\*\*\*4f06 source=917834811114 src.name=DemoAPI destination=919876543218 -> 200 messageId=/);
    expect(lines[1]).toMatch(/^callback v2 enqueued messageId=.* -> http:\/\/127\.0\.0\.1:\d+\/callbacks 200 \(attempt 1\)$/);
    for (const line of lines) expect(line).not.toContain(API_KEY);
  });
});
