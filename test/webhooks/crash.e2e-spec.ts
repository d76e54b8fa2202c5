import request from 'supertest';
import { createApp, appAuth } from '../apps/app-helpers';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { startTestApp, TEST_ADMIN_TOKEN, TEST_SECRET_KEY, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { eventually } from '../support/eventually';
import { queueMessage, recordSent } from '../tracking/tracking-kit';
import { portOutsideEphemeralRange } from '../support/ports';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { createEndpoint, WebhookReceiver } from './webhook-kit';

/**
 * Deliveries pending when the process is killed with SIGKILL, and status changes made while it is
 * down, all reach the endpoint after a restart, each message's in order.
 */
describe('status webhooks across kill -9', () => {
  let database: TestDatabase;
  let api: TestApp;
  let receiver: WebhookReceiver;
  let service: ServiceProcess | undefined;
  let dataDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Takes API calls and records events; the killed process does the webhook work.
    api = await startTestApp({ database, env: { SUBSCRIPTIONS_ENABLED: 'false', DISPATCH_WORKERS: '0', WEBHOOK_OUT_CONCURRENCY: '0', WEBHOOK_OUT_ALLOW_PRIVATE: 'true' } });
    receiver = new WebhookReceiver();
    await receiver.listen();
    dataDir = makeTempDir('webhooks-crash-');
  });
  afterAll(async () => {
    await service?.kill();
    await api?.close();
    await receiver?.close();
    await database?.drop();
    if (dataDir) removeTempDir(dataDir);
  });

  const serviceEnv = () => ({
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SECRET_KEY: TEST_SECRET_KEY,
    LOG_LEVEL: 'error',
    LOG_FORMAT: 'json',
    DISPATCH_WORKERS: '0',
    SUBSCRIPTION_POLL_MS: '20',
    WEBHOOK_OUT_ALLOW_PRIVATE: 'true',
    WEBHOOK_OUT_BACKOFF_MS: '20',
    WEBHOOK_OUT_MAX_BACKOFF_MS: '100',
    WEBHOOK_OUT_POLL_MS: '20',
    WEBHOOK_OUT_TIMEOUT_MS: '1000',
  });

  it('delivers every status change after a restart', async () => {
    const app = await createApp(api, 'Crash');
    const headers = appAuth(app);
    await createEndpoint(api, headers, { url: `${receiver.url}/crash` });
    let up = false;
    receiver.on('/crash', () => ({ status: up ? 200 : 503 }));

    service = await startServiceProcess({ env: serviceEnv(), port: await portOutsideEphemeralRange() });
    const before = [];
    for (let i = 0; i < 10; i++) before.push(await queueMessage(api, app.id, { gupshupId: `gs-crash-${i}` }));
    // Every change has its delivery, and they are being attempted (and failing) when the process dies.
    await eventually(async () => {
      const [{ count }] = await api.db.query<{ count: string }>('SELECT count(*) FROM webhook_deliveries WHERE app_id = $1', [app.id]);
      return Number(count) === 20 && receiver.at('/crash').length >= 5 ? true : undefined;
    }, 'the deliveries to be made and attempted');
    await service?.kill();

    // Changes made while the service is down.
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await queueMessage(api, app.id));
    for (const [i, message] of during.entries()) await recordSent(api, message, `gs-during-${i}`);

    up = true;
    service = await startServiceProcess({ env: serviceEnv(), port: await portOutsideEphemeralRange() });
    const messages = [...before, ...during];
    await eventually(() => {
      const acknowledgedIds = new Set(receiver.acknowledged('/crash').map((each) => each.payload.data.messageId));
      return messages.every((message) => acknowledgedIds.has(message.messageId)) && receiver.acknowledged('/crash').length >= 30 ? true : undefined;
    }, 'every change to be delivered after the restart');
    for (const message of messages) {
      const types = receiver
        .acknowledged('/crash')
        .filter((each) => each.payload.data.messageId === message.messageId)
        .map((each) => each.payload.type);
      // At least once: a delivery whose answer was lost with the process may come twice, never out of order.
      expect([...new Set(types)]).toEqual(['message.queued', 'message.sent']);
      expect(types.indexOf('message.sent')).toBeGreaterThan(types.lastIndexOf('message.queued'));
    }
    await request(service.url).get('/health').expect(200);
  });
});
