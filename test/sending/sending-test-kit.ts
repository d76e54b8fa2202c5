import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { EventStore } from '../../src/event-store';
import { messageStreamId } from '../../src/whatsapp/domain';
import type { CallbackMessageContext } from '../../tools/simulator/callback-payloads';
import type { AppRegistration } from '../../tools/simulator/control-schemas';
import { createGupshupSimulator, type GupshupSimulator, type RecordedRequest } from '../../tools/simulator/gupshup-simulator';
import { DispatchJobs, type DispatchJobRow } from '../../src/whatsapp/sending';
import type { TestDatabase } from '../support/test-database';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp, type TestAppOptions } from '../support/test-app';
import { eventually } from '../support/eventually';

/** Gupshup's sandbox pair from its docs, registered on the simulator for the test app. */
export const GUPSHUP_SOURCE = '917834811114';
export const GUPSHUP_SRC_NAME = 'DemoAPI';

/**
 * Short delays everywhere, so that retries and polls take milliseconds. Gupshup's timeout is
 * long: a simulator slow to answer on a busy machine must not turn into a timeout and a retry.
 */
export const FAST_DISPATCH_ENV: Record<string, string> = {
  DISPATCH_BACKOFF_MS: '20',
  DISPATCH_POLL_MS: '20',
  DISPATCH_WORKERS: '2',
  GUPSHUP_RATE_LIMIT: '0',
  GUPSHUP_TIMEOUT_MS: '30000',
  LOG_LEVEL: 'error',
};

export interface TestTenant {
  appId: string;
  apiKey: string;
  apiSecret: string;
  /** The Gupshup API key configured for the app (registered on the simulator). */
  gupshupApiKey: string;
  headers: Record<string, string>;
  /** Path and query of the app's callback URL (with its callback token). */
  callbackPath: string;
}

export async function startSimulator(): Promise<GupshupSimulator> {
  const simulator = createGupshupSimulator();
  await simulator.listen();
  return simulator;
}

/** The service, with Gupshup played by `simulator`. */
/** Where Gupshup is played: the simulator in this process, or one of its own (test/support/simulator-process). */
type Gupshup = Pick<GupshupSimulator, 'baseUrl'> & { registerApp(apiKey: string, app: AppRegistration): unknown };

export function startSendingApp(simulator: Gupshup, options: TestAppOptions & { database?: TestDatabase } = {}): Promise<TestApp> {
  return startTestApp({ ...options, env: { ...FAST_DISPATCH_ENV, GUPSHUP_API_BASE_URL: simulator.baseUrl!, ...options.env } });
}

let tenantCount = 0;

/** An app with gupshup_whatsapp enabled, whose Gupshup key the simulator knows. */
export async function createTenant(t: TestApp, simulator: Gupshup, options: { enable?: boolean } = {}): Promise<TestTenant> {
  tenantCount += 1;
  const created = await request(t.url)
    .post('/admin/apps')
    .set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)
    .send({ name: `Acme ${tenantCount}` })
    .expect(201);
  const { id: appId, apiKey, apiSecret, callbackUrl } = created.body as { id: string; apiKey: string; apiSecret: string; callbackUrl: string };
  const callbackPath = `${new URL(callbackUrl).pathname}${new URL(callbackUrl).search}`;
  const headers = { 'X-ENGAGESPOT-API-KEY': apiKey, 'X-ENGAGESPOT-API-SECRET': apiSecret };
  const gupshupApiKey = `gs-key-${appId.slice(0, 8)}-${tenantCount}`;
  await simulator.registerApp(gupshupApiKey, { source: GUPSHUP_SOURCE, srcName: GUPSHUP_SRC_NAME });
  if (options.enable !== false) {
    await request(t.url)
      .put('/v3/channels/whatsapp/providers/gupshup_whatsapp')
      .set(headers)
      .send({ enabled: true, config: { API_KEY: gupshupApiKey, SOURCE: GUPSHUP_SOURCE, SRC_NAME: GUPSHUP_SRC_NAME } })
      .expect(200);
  }
  return { appId, apiKey, apiSecret, gupshupApiKey, headers, callbackPath };
}

/** createTenant, with the tenant's Gupshup app posting its callbacks to the tenant's callback URL (with its token). */
export async function createTenantWithCallbacks(t: TestApp, simulator: GupshupSimulator): Promise<TestTenant> {
  const tenant = await createTenant(t, simulator);
  simulator.registerApp(tenant.gupshupApiKey, { source: GUPSHUP_SOURCE, srcName: GUPSHUP_SRC_NAME, callbackUrl: `${t.url}${tenant.callbackPath}` });
  return tenant;
}

export async function putUser(t: TestApp, tenant: TestTenant, identifier: string, profile: Record<string, unknown>): Promise<void> {
  await request(t.url).put(`/v3/users/${encodeURIComponent(identifier)}`).set(tenant.headers).send(profile).expect(200);
}

export function postNotification(t: TestApp, tenant: TestTenant, body: unknown, headers: Record<string, string> = {}) {
  return request(t.url)
    .post('/v3/notifications')
    .set({ ...tenant.headers, ...headers })
    .send(body as object);
}

export { eventually };

export function job(t: TestApp, messageId: string): Promise<DispatchJobRow | undefined> {
  return t.app.get(DispatchJobs).find(messageId);
}

/** Waits until the message's job is in `state` and returns it. */
export function jobInState(t: TestApp, messageId: string, state: DispatchJobRow['state']): Promise<DispatchJobRow> {
  return eventually(async () => {
    const row = await job(t, messageId);
    return row?.state === state ? row : undefined;
  }, `message ${messageId} to reach ${state}`);
}

export async function messageEvents(t: TestApp, messageId: string) {
  return t.app.get(EventStore).readStream(messageStreamId(messageId));
}

export async function eventTypes(t: TestApp, messageId: string): Promise<string[]> {
  return (await messageEvents(t, messageId)).map((event) => event.type);
}

/** Send requests the simulator received for one destination (digits). */
export function requestsTo(simulator: GupshupSimulator, destination: string): RecordedRequest[] {
  return simulator.requests().filter((recorded) => recorded.form.destination === destination);
}

/** The ids and names of a message the simulator accepted, to build Gupshup's callbacks about it as Gupshup would. */
export function callbackContextOf(simulator: GupshupSimulator, gupshupMessageId: string): CallbackMessageContext {
  const sent = simulator.message(gupshupMessageId);
  if (!sent) throw new Error(`the simulator accepted no message ${gupshupMessageId}`);
  return {
    gupshupMessageId,
    whatsappMessageId: sent.whatsappMessageId,
    destination: sent.destination,
    appName: sent.appName,
    appSource: sent.source,
    appId: 'gupshup-app',
    kind: 'session',
  };
}

/** A proxy to Gupshup (the simulator) that passes requests on at once but holds their answers until opened. */
export interface AnswerGate {
  url: string;
  /** Answers Gupshup has given that wait at the gate. */
  held(): number;
  /** Lets every held answer through, and every later one at once. */
  open(): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade']);

function endToEndHeaders(headers: IncomingHttpHeaders | Headers): Record<string, string> {
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers).map(([name, value]) => [name, String(value)]);
  return Object.fromEntries(entries.filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

export async function startAnswerGate(target: string): Promise<AnswerGate> {
  let opened = false;
  const waiting: (() => void)[] = [];
  let held = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answer = await fetch(new URL(req.url ?? '/', target), {
      method: req.method,
      headers: endToEndHeaders(req.headers),
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await answer.arrayBuffer());
    if (!opened) {
      held += 1;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    res.writeHead(answer.status, endToEndHeaders(answer.headers));
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const open = () => {
    opened = true;
    for (const resolve of waiting.splice(0)) resolve();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => held,
    open,
    async close() {
      open();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
