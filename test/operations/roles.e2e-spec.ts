import request from 'supertest';
import { portOutsideEphemeralRange } from '../support/ports';
import { buildCallbackBody } from '../../tools/simulator/callback-payloads';
import { createGupshupSimulator, type GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { eventually, GIVE_UP_AFTER_MS } from '../support/eventually';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const SOURCE = '917834811114';
const SRC_NAME = 'DemoAPI';
const FAST = { DISPATCH_POLL_MS: '20', SUBSCRIPTION_POLL_MS: '20', GUPSHUP_RATE_LIMIT: '0', GUPSHUP_TIMEOUT_MS: '30000', LOG_LEVEL: 'warn' };
/**
 * How long the api-only process is watched for work it must not do: a hundred of the polls that
 * a dispatch worker or a subscription would make in that time (FAST), so anything that ran would show.
 */
const QUIET_WATCH_MS = 2_000;

/** `ROLES=dispatch,subscriptions` as a process of its own (`src/main.ts`) on the same database. */
async function startWorker(databaseUrl: string, gupshupUrl: string): Promise<ServiceProcess> {
  return startServiceProcess({
    port: await portOutsideEphemeralRange(),
    env: { ...FAST, ROLES: 'dispatch,subscriptions', DATABASE_URL: databaseUrl, GUPSHUP_API_BASE_URL: gupshupUrl },
  });
}

/**
 * One switch per kind of work (ROLES): an instance that only answers HTTP takes notifications and
 * callbacks, durably, and leaves their sending and projecting to a worker instance on the same
 * database; when one runs, everything the API acknowledged completes.
 */
describe('ROLES: an API instance and a worker instance on one database', () => {
  let simulator: GupshupSimulator;
  let database: TestDatabase;
  let api: TestApp;
  let worker: ServiceProcess | undefined;
  let headers: Record<string, string>;
  let gupshupAppId: string;
  let callbackPath: string;
  const gupshupKey = 'gs-key-roles-1a2b';

  beforeAll(async () => {
    simulator = createGupshupSimulator({ eventTimeStepMs: 1000 });
    await simulator.listen();
    database = await createTestDatabase();
    api = await startTestApp({ database, env: { ...FAST, ROLES: 'api', GUPSHUP_API_BASE_URL: simulator.baseUrl! } });
    const created = await request(api.url).post('/admin/apps').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ name: 'Roles' }).expect(201);
    headers = { 'X-ENGAGESPOT-API-KEY': created.body.apiKey, 'X-ENGAGESPOT-API-SECRET': created.body.apiSecret };
    const provider = await request(api.url)
      .put('/v3/channels/whatsapp/providers/gupshup_whatsapp')
      .set(headers)
      .send({ enabled: true, config: { API_KEY: gupshupKey, SOURCE, SRC_NAME } })
      .expect(200);
    // The URL the API gives for Gupshup's console (token and all), on the port this test's service listens on.
    const given = new URL(provider.body.callbackUrl as string);
    callbackPath = `${given.pathname}${given.search}`;
    gupshupAppId = simulator.registerApp(gupshupKey, { source: SOURCE, srcName: SRC_NAME, callbackUrl: `${api.url}${callbackPath}` }).appId;
    await request(api.url).put('/v3/users/delivers').set(headers).send({ phoneNumber: '+919900000016' }).expect(200); // simulator: delivered
    await request(api.url).put('/v3/users/reads').set(headers).send({ phoneNumber: '+919900000011' }).expect(200); // simulator: read
  });
  afterAll(async () => {
    await worker?.terminate();
    await api?.close();
    await database?.drop();
    await simulator?.close();
  });

  const send = async (recipient: string): Promise<string> => {
    const res = await request(api.url).post('/v3/notifications').set(headers).send({ notification: { title: 'Roles' }, sendTo: { recipients: [recipient] } }).expect(202);
    return res.body.messages[0].messageId as string;
  };
  const status = async (messageId: string): Promise<string | undefined> => {
    const res = await request(api.url).get(`/v3/messages/${messageId}`).set(headers);
    return res.status === 200 ? (res.body.status as string) : undefined;
  };
  const watchQuietly = () => new Promise((done) => setTimeout(done, QUIET_WATCH_MS));

  it('queues and acknowledges on the API instance; sends and projects only once a worker runs', async () => {
    // API only: the notification is accepted, but nothing calls Gupshup and no view shows it.
    const first = await send('delivers');
    await watchQuietly();
    expect(simulator.requests()).toHaveLength(0);
    expect(await status(first)).toBeUndefined();

    // A worker on the same database sends it; the simulator's callbacks reach the API instance, and the worker projects them.
    worker = await startWorker(database.url, simulator.baseUrl!);
    await eventually(async () => ((await status(first)) === 'delivered' ? true : undefined), 'the first message to show delivered');
    expect(simulator.requests().filter((r) => r.path === '/wa/api/v1/msg')).toHaveLength(1);
    await simulator.waitForIdle(GIVE_UP_AFTER_MS);

    // The worker answers health and metrics, and nothing of the API.
    await request(worker.url).get('/metrics').expect(200);
    const refused = await request(worker.url).get(`/v3/messages/${first}`).set(headers).expect(404);
    expect(refused.body.message).toMatch(/runs dispatch and subscriptions only \(ROLES\), not the HTTP API/);

    // Worker gone: a read receipt and a second notification are acknowledged by the API instance, and wait.
    await worker.terminate();
    worker = undefined;
    const sentFirst = simulator.messages().find((m) => m.destination === '919900000016')!;
    const readReceipt = buildCallbackBody(
      'v2',
      {
        gupshupMessageId: sentFirst.messageId,
        whatsappMessageId: sentFirst.whatsappMessageId,
        destination: sentFirst.destination,
        appName: SRC_NAME,
        appSource: SOURCE,
        appId: gupshupAppId,
        kind: 'session',
      },
      // A minute after the simulator's own callbacks for it: later than its delivered receipt.
      { status: 'read', occurredAtMs: Date.now() + 60_000, omitGsId: false, v3FailedStyle: 'errors' },
    );
    await request(api.url)
      .post(callbackPath)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(readReceipt))
      .expect(200);
    const second = await send('reads');
    const requestsBefore = simulator.requests().length;
    await watchQuietly();
    expect(simulator.requests()).toHaveLength(requestsBefore);
    expect(await status(first)).toBe('delivered');
    expect(await status(second)).toBeUndefined();

    // A worker again: the receipt acknowledged meanwhile takes effect, and the second message is sent and tracked.
    worker = await startWorker(database.url, simulator.baseUrl!);
    await eventually(async () => ((await status(first)) === 'seen' ? true : undefined), 'the read receipt acknowledged while no worker ran to show');
    await eventually(async () => ((await status(second)) === 'seen' ? true : undefined), 'the second message to be sent and seen');
    expect(simulator.requests().filter((r) => r.path === '/wa/api/v1/msg')).toHaveLength(2);
  });
});
