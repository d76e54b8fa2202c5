import { createServer, type Server } from 'node:http';
import { portOutsideEphemeralRange } from '../support/ports';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import type { TestApp } from '../support/test-app';
import {
  createTenant,
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

const MAX_ATTEMPTS = 4;
const BACKOFF_MS = 20;
/**
 * Gupshup's timeout: every request of this file waits that long for its answer, so that a
 * simulator slow on a busy machine is never taken for a timeout; the timeout case waits it out.
 */
const TIMEOUT_MS = 10_000;

/** How Gupshup's answers drive the message: retried, sent once, or discarded with the reason. */
describe('dispatch: retries, rejections and scheduled sends', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;
  let phoneSuffix = 10;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator, {
      env: { DISPATCH_MAX_ATTEMPTS: String(MAX_ATTEMPTS), DISPATCH_BACKOFF_MS: String(BACKOFF_MS), GUPSHUP_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
    tenant = await createTenant(t, simulator);
  });
  afterEach(() => simulator.clearFailures());
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  /** A new user with a number of its own; returns the number's digits. */
  async function newRecipient(identifier: string): Promise<string> {
    phoneSuffix += 1;
    const digits = `9199887767${phoneSuffix}`;
    await putUser(t, tenant, identifier, { phoneNumber: `+${digits}` });
    return digits;
  }

  async function send(identifier: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await postNotification(t, tenant, { notification: { title: 'Retry me' }, sendTo: { recipients: [identifier] }, ...extra }).expect(202);
    expect(res.body.messages[0].status).toBe('queued');
    return res.body.messages[0].messageId;
  }

  it('retries 429 with backoff and sends on the third request', async () => {
    const destination = await newRecipient('r-429');
    simulator.injectFailure({ status: 429, count: 2 });
    const messageId = await send('r-429');

    const sent = await jobInState(t, messageId, 'sent');
    expect(sent.attempts).toBe(3);
    expect(requestsTo(simulator, destination).map((r) => r.response?.status)).toEqual([429, 429, 200]);

    const events = await messageEvents(t, messageId);
    expect(events.map((event) => event.type)).toEqual(['WhatsAppMessageQueued', 'WhatsAppDispatchFailed', 'WhatsAppDispatchFailed', 'WhatsAppMessageSent']);
    const [, first, second, success] = events.map((event) => event.data as Record<string, any>);
    expect(first).toMatchObject({ attempt: 1, errorKind: 'http', httpStatus: 429, error: 'Too Many Requests' });
    expect(second).toMatchObject({ attempt: 2, errorKind: 'http', httpStatus: 429 });
    expect(success).toMatchObject({ attempt: 3 });
    // Backoff: attempt n waits BACKOFF_MS * 2^(n-1), half of it fixed and half random.
    for (const failure of [first, second]) {
      const wait = Date.parse(failure.nextAttemptAt) - Date.parse(failure.failedAt);
      const full = BACKOFF_MS * 2 ** (failure.attempt - 1);
      expect(wait).toBeGreaterThanOrEqual(full / 2 - 1);
      expect(wait).toBeLessThanOrEqual(full + 1);
    }
    // No request went out before its retry was due.
    const received = requestsTo(simulator, destination);
    expect(Date.parse(received[1].receivedAt)).toBeGreaterThanOrEqual(Date.parse(first.nextAttemptAt) - 5);
    expect(Date.parse(received[2].receivedAt)).toBeGreaterThanOrEqual(Date.parse(second.nextAttemptAt) - 5);
  });

  it(`discards after ${MAX_ATTEMPTS} requests answered 500, naming the last error`, async () => {
    const destination = await newRecipient('r-500');
    simulator.injectFailure({ status: 500, count: MAX_ATTEMPTS });
    const messageId = await send('r-500');

    const discarded = await jobInState(t, messageId, 'discarded');
    expect(discarded.attempts).toBe(MAX_ATTEMPTS);
    expect(requestsTo(simulator, destination)).toHaveLength(MAX_ATTEMPTS);

    const events = await messageEvents(t, messageId);
    expect(events.map((event) => event.type)).toEqual([
      'WhatsAppMessageQueued',
      ...Array(MAX_ATTEMPTS).fill('WhatsAppDispatchFailed'),
      'WhatsAppMessageDiscarded',
    ]);
    expect(events[MAX_ATTEMPTS].data).toMatchObject({ attempt: MAX_ATTEMPTS, httpStatus: 500, nextAttemptAt: null });
    expect(events[MAX_ATTEMPTS + 1].data).toMatchObject({
      source: 'dispatch',
      code: 'attempts_exhausted',
      reason: expect.stringContaining(`in ${MAX_ATTEMPTS} attempts`),
    });
    expect((events[MAX_ATTEMPTS + 1].data as { reason: string }).reason).toContain('HTTP 500: Internal server error');
    // Nothing more goes out once it is discarded.
    expect(requestsTo(simulator, destination)).toHaveLength(MAX_ATTEMPTS);
  });

  it("discards after one request answered 400, with Gupshup's message as the reason", async () => {
    const destination = await newRecipient('r-400');
    simulator.injectFailure({ status: 400, message: 'Invalid Destination' });
    const messageId = await send('r-400');

    await jobInState(t, messageId, 'discarded');
    expect(requestsTo(simulator, destination)).toHaveLength(1);
    const events = await messageEvents(t, messageId);
    expect(events.map((event) => event.type)).toEqual(['WhatsAppMessageQueued', 'WhatsAppDispatchFailed', 'WhatsAppMessageDiscarded']);
    expect(events[2].data).toMatchObject({ source: 'provider', code: 'http_400', reason: 'Invalid Destination' });
  });

  it('discards after one request answered 401, without retrying', async () => {
    const destination = await newRecipient('r-401');
    simulator.injectFailure({ status: 401 });
    const messageId = await send('r-401');
    await jobInState(t, messageId, 'discarded');
    expect(requestsTo(simulator, destination)).toHaveLength(1);
    const events = await messageEvents(t, messageId);
    expect(events[2].data).toMatchObject({ source: 'provider', code: 'http_401', reason: 'Authentication Failed' });
  });

  it('never calls again a request that timed out: Gupshup may have it, so it is parked as outcome_unknown', async () => {
    const destination = await newRecipient('r-timeout');
    // An answer that would come long after the timeout (the simulator drops it when it closes).
    simulator.injectFailure({ delayMs: 600_000, count: 1 });
    const messageId = await send('r-timeout');

    const parked = await jobInState(t, messageId, 'outcome_unknown');
    expect(parked.attempts).toBe(0);
    expect(parked.attemptStartedAt).not.toBeNull();
    expect(requestsTo(simulator, destination)).toHaveLength(1);
    const events = await messageEvents(t, messageId);
    expect(events.map((event) => event.type)).toEqual(['WhatsAppMessageQueued', 'WhatsAppDispatchOutcomeUnknown']);
    expect(events[1].data).toMatchObject({ attempt: 1 });
  });

  it('never calls again a request whose connection dropped before the answer', async () => {
    const destination = await newRecipient('r-dropped');
    simulator.injectFailure({ dropConnection: true, count: 1 });
    const messageId = await send('r-dropped');

    await jobInState(t, messageId, 'outcome_unknown');
    expect(requestsTo(simulator, destination)).toHaveLength(1);
    expect(await eventTypes(t, messageId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppDispatchOutcomeUnknown']);
  });

  it('holds a message with sendAt in the future until then, and sends it after', async () => {
    const destination = await newRecipient('r-later');
    const sendAt = new Date(Date.now() + 2000);
    const messageId = await send('r-later', { sendAt: sendAt.toISOString() });
    const [queued] = await t.db.query<{ due_at: Date; state: string; before_due: boolean }>(
      'SELECT due_at, state, clock_timestamp() < due_at AS before_due FROM whatsapp_dispatch_jobs WHERE message_id = $1',
      [messageId],
    );
    expect(queued.due_at).toEqual(sendAt);
    // Still waiting, if read before it is due (on a busy machine the request itself may take that long).
    if (queued.before_due) expect(queued.state).toBe('pending');

    await eventually(async () => {
      const received = requestsTo(simulator, destination);
      // Polled all along: until sendAt, Gupshup must not have heard of the message.
      if (Date.now() < sendAt.getTime() - 5) expect(received).toHaveLength(0);
      return received.length > 0 ? received : undefined;
    }, 'the scheduled message to reach Gupshup');
    await jobInState(t, messageId, 'sent');
    const received = requestsTo(simulator, destination);
    expect(received).toHaveLength(1);
    expect(Date.parse(received[0].receivedAt)).toBeGreaterThanOrEqual(sendAt.getTime());
    const [queuedEvent] = await messageEvents(t, messageId);
    expect(queuedEvent.data).toMatchObject({ sendAt: sendAt.toISOString() });
  });

  it('sends a message whose sendAt is in the past right away', async () => {
    const destination = await newRecipient('r-past');
    const messageId = await send('r-past', { sendAt: '2020-01-01T00:00:00Z' });
    await jobInState(t, messageId, 'sent');
    expect(requestsTo(simulator, destination)).toHaveLength(1);
  });
});

/** A request that cannot have reached Gupshup is retried: here no connection could be opened at all. */
describe('dispatch: a request that never left', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let forwarder: Server | undefined;

  afterAll(async () => {
    forwarder?.closeAllConnections();
    await new Promise<void>((resolve) => (forwarder ? forwarder.close(() => resolve()) : resolve()));
    await t?.close();
    await simulator?.close();
  });

  it('retries a request whose connection was refused, and sends it once Gupshup is reachable', async () => {
    simulator = await startSimulator();
    // A port nobody listens on (yet), and that no other test's server is given: Gupshup is unreachable.
    const port = await portOutsideEphemeralRange();
    t = await startSendingApp(simulator, { env: { GUPSHUP_API_BASE_URL: `http://127.0.0.1:${port}`, DISPATCH_BACKOFF_MS: '200', DISPATCH_MAX_ATTEMPTS: '20' } });
    const tenant = await createTenant(t, simulator);
    await putUser(t, tenant, 'r-refused', { phoneNumber: '+919988776601' });
    const res = await postNotification(t, tenant, { notification: { title: 'Hello' }, sendTo: { recipients: ['r-refused'] } }).expect(202);
    const messageId = res.body.messages[0].messageId as string;

    await eventually(async () => ((await eventTypes(t, messageId)).includes('WhatsAppDispatchFailed') ? true : undefined), 'a refused attempt');
    const [failed] = (await messageEvents(t, messageId)).filter((event) => event.type === 'WhatsAppDispatchFailed');
    expect(failed.data).toMatchObject({ attempt: 1, errorKind: 'network', error: expect.stringContaining('ECONNREFUSED') });
    expect(simulator.requests()).toHaveLength(0);

    // Gupshup is back on that port.
    forwarder = createServer(async (req, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)).map(([name, value]) => [name, String(value)]));
      const answer = await fetch(new URL(req.url ?? '/', simulator.baseUrl), { method: req.method, headers, body: Buffer.concat(chunks) });
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      response.end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise<void>((resolve) => forwarder!.listen(port, '127.0.0.1', resolve));

    const sent = await jobInState(t, messageId, 'sent');
    expect(requestsTo(simulator, '919988776601')).toHaveLength(1);
    expect(sent.attempts).toBeGreaterThanOrEqual(2);
  });
});
