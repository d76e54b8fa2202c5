import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { gzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { CreateWhatsAppAppCommand, GetWhatsAppMessageQuery, type CreatedApp, type MessageResponse } from 'whatsapp-notify';
import { eventually } from '../../../test/support/eventually';
import { portOutsideEphemeralRange } from '../../../test/support/ports';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database';
import { createGupshupSimulator, type GupshupSimulator } from '../../../tools/simulator/gupshup-simulator';
import type { HostSettings } from '../src/app.module';
import { createHostApp } from '../src/main';
import { OrderNotifier } from '../src/order-notifier';

const SOURCE = '917834811114';
const SRC_NAME = 'DemoAPI';
/** The module's body limit (bodyLimitBytes), below the host's own (Fastify's default, 1 MiB). */
const MODULE_BODY_LIMIT = 64 * 1024;
/** The module's send route: a body it cannot read is refused before the credentials are asked for. */
const MODULE_ROUTE = '/whatsapp/v3/notifications';
/** A route of the host's own that takes a body. */
const HOST_ROUTE = '/orders/A-1/notes';

interface StatusRow {
  app_id: string;
  message_id: string;
  status: string;
  previous: string | null;
}

describe('a NestJS application with the packed whatsapp-notify module', () => {
  let simulator: GupshupSimulator;
  let database: TestDatabase;
  let settings: HostSettings;
  let port: number;
  let host: NestFastifyApplication;

  const url = () => `http://127.0.0.1:${port}`;
  const post = (path: string, contentType: string, body: string) => fetch(`${url()}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const statusRows = () =>
    host.get(DataSource).query<StatusRow[]>('SELECT app_id, message_id, status, previous FROM public.order_message_statuses ORDER BY id');

  async function startHost(): Promise<void> {
    host = await createHostApp(settings);
    await host.listen(port, '127.0.0.1');
  }

  /** An app of the module with Gupshup enabled (through the module's REST route), whose key the simulator knows. */
  async function createShop(name: string): Promise<CreatedApp> {
    const created = await host.get(CommandBus).execute(new CreateWhatsAppAppCommand({ name }));
    const gupshupApiKey = `gs-${created.id.slice(0, 8)}`;
    simulator.registerApp(gupshupApiKey, { source: SOURCE, srcName: SRC_NAME, callbackUrl: created.callbackUrl });
    const enabled = await fetch(`${url()}/whatsapp/v3/channels/whatsapp/providers/gupshup_whatsapp`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'X-ENGAGESPOT-API-KEY': created.apiKey, 'X-ENGAGESPOT-API-SECRET': created.apiSecret },
      body: JSON.stringify({ enabled: true, config: { API_KEY: gupshupApiKey, SOURCE, SRC_NAME } }),
    });
    expect(enabled.status).toBe(200);
    return created;
  }

  beforeAll(async () => {
    // Callbacks that find the application stopped are tried again until it is back.
    simulator = createGupshupSimulator({ callbackRetries: 1000, callbackRetryBackoffMs: 20, callbackRetryMaxBackoffMs: 200 });
    await simulator.listen();
    database = await createTestDatabase({ migrate: false });
    // The host is started again on this port later in the file.
    port = await portOutsideEphemeralRange();
    settings = {
      databaseUrl: database.url,
      publicBaseUrl: `http://127.0.0.1:${port}`,
      gupshupApiBaseUrl: simulator.baseUrl!,
      secretKey: '0f'.repeat(32),
      whatsApp: { subscriptionPollMs: 20, dispatchPollMs: 20, databaseConnectTimeoutMs: 120_000, bodyLimitBytes: MODULE_BODY_LIMIT },
    };
    await startHost();
  });

  afterAll(async () => {
    await host?.close();
    await simulator?.close();
    await database?.drop();
  });

  it('keeps its tables in its own schema, beside the host table it leaves alone', async () => {
    const tables = await host
      .get(DataSource)
      .query<{ table_schema: string; table_name: string }[]>(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('public', 'whatsapp_notify') ORDER BY 1, 2",
      );
    const inSchema = (schema: string) => tables.filter((table) => table.table_schema === schema).map((table) => table.table_name);
    expect(inSchema('public')).toEqual(['order_message_statuses']);
    expect(inSchema('whatsapp_notify')).toEqual(expect.arrayContaining(['es_events', 'es_subscriptions', 'schema_migrations', 'message_status_view', 'event_bus_message_states']));
  });

  it("serves the dashboard the package ships under the route prefix, and none at the host's root", async () => {
    const page = await fetch(`${url()}/whatsapp/dashboard`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(assets).toEqual(expect.arrayContaining([expect.stringMatching(/^\/whatsapp\/dashboard\/assets\/.+\.js$/)]));
    for (const asset of assets) expect((await fetch(`${url()}${asset}`)).status).toBe(200);
    expect((await fetch(`${url()}/dashboard`)).status).toBe(404);
  });

  it("refuses a body over the module's limit on its routes with the service's 413, and leaves the host's routes to the host's limit", async () => {
    const overModuleLimit = JSON.stringify({ note: 'x'.repeat(MODULE_BODY_LIMIT) });
    const refused = await post(MODULE_ROUTE, 'application/json', overModuleLimit);
    expect(refused.status).toBe(413);
    expect(await refused.json()).toEqual({ statusCode: 413, message: `Request body is too large: the limit is ${MODULE_BODY_LIMIT} bytes (BODY_LIMIT_BYTES)`, error: 'Payload Too Large' });
    // Gupshup's webhook keeps its own limit, named in its own words.
    const callback = await post('/whatsapp/api/v1/apps/any-key/webhook/gupshup_whatsapp?token=t', 'application/json', overModuleLimit);
    expect(callback.status).toBe(413);
    expect(await callback.json()).toEqual({ statusCode: 413, message: expect.stringMatching(/^The callback body is larger than the webhook accepts: at most 65536 bytes/), error: 'Payload Too Large' });

    const hostTaken = await post(HOST_ROUTE, 'application/json', overModuleLimit);
    expect(hostTaken.status).toBe(201);
    const hostRefused = await post(HOST_ROUTE, 'application/json', JSON.stringify({ note: 'x'.repeat(1024 * 1024) }));
    expect(hostRefused.status).toBe(413);
    expect(await hostRefused.json()).toEqual({ statusCode: 413, message: 'Request body is too large' });
  });

  it("refuses malformed JSON on its routes with the service's 400 saying where, reads an empty JSON body as none, and leaves the host's routes to the host", async () => {
    const refused = await post(MODULE_ROUTE, 'application/json', '{"notification": ');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      statusCode: 400,
      message: expect.stringMatching(/^Body is not valid JSON \(.+\): send a JSON document with Content-Type: application\/json$/),
      error: 'Bad Request',
    });
    // Engagespot's SDK sends Content-Type: application/json without a body: no body, so the route goes on to ask for credentials.
    expect((await post(MODULE_ROUTE, 'application/json', '')).status).toBe(401);

    const hostRefused = await post(HOST_ROUTE, 'application/json', '{"note": ');
    expect(hostRefused.status).toBe(400);
    expect(await hostRefused.json()).toEqual({ statusCode: 400, message: "Body is not valid JSON but content-type is set to 'application/json'" });
    const hostEmpty = await post(HOST_ROUTE, 'application/json', '');
    expect(hostEmpty.status).toBe(400);
    expect(await hostEmpty.json()).toEqual({ statusCode: 400, message: "Body cannot be empty when content-type is set to 'application/json'" });
  });

  it.each([
    ['text/plain', '{"note": "Leave at the door"}', '{"note": "Leave at the door"}'],
    ['application/x-www-form-urlencoded', 'note=Leave+at+the+door', { note: 'Leave at the door' }],
  ])("refuses a body sent as %s on its routes with the service's 415; the host's routes read it as the host does", async (type, body, hostRead) => {
    const refused = await post(MODULE_ROUTE, type, body);
    expect(refused.status).toBe(415);
    expect(await refused.json()).toEqual({ statusCode: 415, message: `The body was sent as ${type}: send it as JSON with Content-Type: application/json`, error: 'Unsupported Media Type' });

    const hostTaken = await post(HOST_ROUTE, type, body);
    expect(hostTaken.status).toBe(201);
    expect(await hostTaken.json()).toEqual({ orderId: 'A-1', note: hostRead });
  });

  it("refuses a body of a type nobody parses on its routes with the service's 415; the host's routes answer the host's 415", async () => {
    const refused = await post(MODULE_ROUTE, 'application/xml', '<notification/>');
    expect(refused.status).toBe(415);
    expect(await refused.json()).toEqual({ statusCode: 415, message: 'Unsupported Media Type: send the body as JSON with Content-Type: application/json', error: 'Unsupported Media Type' });

    const hostRefused = await post(HOST_ROUTE, 'application/xml', '<note/>');
    expect(hostRefused.status).toBe(415);
    expect(await hostRefused.json()).toEqual({ statusCode: 415, message: 'Unsupported Media Type' });
  });

  it("refuses a compressed body on its routes with the service's 415, naming the encoding", async () => {
    const refused = await fetch(`${url()}${MODULE_ROUTE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ notification: { title: 'Hi' }, sendTo: { recipients: ['user-1'] } })),
    });
    expect(refused.status).toBe(415);
    expect(await refused.json()).toEqual({
      statusCode: 415,
      message: 'The body was sent compressed (Content-Encoding: gzip), which is not accepted: send it uncompressed, as JSON with Content-Type: application/json',
      error: 'Unsupported Media Type',
    });
  });

  it('sends through the CommandBus, hands each app exactly its status changes in order, across a restart, and answers through the QueryBus', async () => {
    const shop = await createShop('Shop');
    const otherShop = await createShop('Other shop');
    // Callbacks come a little later than the send's answer, so that the restart below falls between them.
    simulator.setFate('919988770001', { final: 'read', delayMs: 300 });
    simulator.setFate('919988770002', { final: 'read', delayMs: 300 });

    const notifier = host.get(OrderNotifier);
    const sent = await notifier.notifyShipped(shop.id, { identifier: 'ada', phoneNumber: '+919988770001' }, 'A-1');
    const other = await notifier.notifyShipped(otherShop.id, { identifier: 'bob', phoneNumber: '+919988770002' }, 'B-1');
    expect(sent.messages).toEqual([{ messageId: expect.any(String), recipient: 'ada', status: 'queued' }]);
    const messageId = sent.messages[0].messageId;
    const otherMessageId = other.messages[0].messageId;

    // The send reached the simulator, as Gupshup's API.
    await eventually(() => simulator.requests().find((request) => request.form.destination === '919988770001'), 'the send request at the simulator');
    await eventually(async () => ((await statusRows()).some((row) => row.message_id === messageId && row.status === 'sent') ? true : undefined), "the host's handler to record sent");

    // A restart in the middle: what was not published before it is published after it.
    await host.close();
    await startHost();

    const rows = await eventually(async () => {
      const all = await statusRows();
      const done = [messageId, otherMessageId].every((id) => all.some((row) => row.message_id === id && row.status === 'seen'));
      return done ? all : undefined;
    }, "the host's handler to record seen for both messages");

    const of = (id: string) => rows.filter((row) => row.message_id === id);
    expect(of(messageId)).toEqual([
      { app_id: shop.id, message_id: messageId, status: 'queued', previous: null },
      { app_id: shop.id, message_id: messageId, status: 'sent', previous: 'queued' },
      { app_id: shop.id, message_id: messageId, status: 'delivered', previous: 'sent' },
      { app_id: shop.id, message_id: messageId, status: 'seen', previous: 'delivered' },
    ]);
    expect(of(otherMessageId).map((row) => [row.app_id, row.status])).toEqual([
      [otherShop.id, 'queued'],
      [otherShop.id, 'sent'],
      [otherShop.id, 'delivered'],
      [otherShop.id, 'seen'],
    ]);
    expect(rows.filter((row) => row.app_id === shop.id).map((row) => row.message_id)).toEqual(Array(4).fill(messageId));
    expect(rows).toHaveLength(8);

    // Gupshup's callbacks came in through the module's webhook, under the host's route prefix.
    const callbacks = simulator.message(simulator.messages().find((message) => message.destination === '919988770001')!.messageId)!.callbacks;
    expect(callbacks.map((callback) => callback.state)).toEqual(callbacks.map(() => 'delivered'));
    expect(callbacks[0].url).toContain(`127.0.0.1:${port}/whatsapp/api/v1/apps/${shop.apiKey}/webhook/gupshup_whatsapp?token=`);

    const read = await eventually(async () => {
      const message = await host.get(QueryBus).execute(new GetWhatsAppMessageQuery(shop.id, messageId));
      return message.status === 'seen' ? message : undefined;
    }, 'the message to read as seen through the QueryBus');
    expect(read).toMatchObject<Partial<MessageResponse>>({ messageId, recipient: 'ada', status: 'seen', phoneNumber: '+919988770001' });
    await expect(host.get(QueryBus).execute(new GetWhatsAppMessageQuery(otherShop.id, messageId))).rejects.toMatchObject({ status: 404 });
  });
});
