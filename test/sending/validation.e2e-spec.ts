import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { MAX_RECIPIENTS_PER_REQUEST } from '../../src/whatsapp/sending';
import type { TestApp } from '../support/test-app';
import { createTenant, postNotification, putUser, startSendingApp, startSimulator, type TestTenant } from './sending-test-kit';

/** Bad requests: a clear 4xx {statusCode, message, error}, and nothing queued or sent. */
describe('POST /v3/notifications: rejected requests', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator);
    tenant = await createTenant(t, simulator);
    await putUser(t, tenant, 'valid-user', { phoneNumber: '+919988776650' });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  async function nothingStored(): Promise<void> {
    const [counts] = await t.db.query<{ jobs: string; requests: string; events: string }>(
      `SELECT (SELECT count(*) FROM whatsapp_dispatch_jobs) AS jobs,
              (SELECT count(*) FROM whatsapp_idempotency_keys) AS requests,
              (SELECT count(*) FROM es_events WHERE stream_id LIKE 'whatsapp\\_%') AS events`,
    );
    expect(counts).toEqual({ jobs: '0', requests: '0', events: '0' });
    expect(simulator.requests()).toHaveLength(0);
  }

  async function expect400(body: unknown, ...fragments: string[]): Promise<string> {
    const res = await postNotification(t, tenant, body, { 'Idempotency-Key': `bad-${Math.random()}` }).expect(400);
    expect(res.body).toEqual({ statusCode: 400, message: expect.any(String), error: 'Bad Request' });
    for (const fragment of fragments) expect(res.body.message).toContain(fragment);
    return res.body.message;
  }

  afterEach(async () => nothingStored());

  it('400 without any recipient', async () => {
    await expect400({ notification: { title: 'Hi' } }, 'at least one recipient', 'sendTo.recipients');
    await expect400({ notification: { title: 'Hi' }, sendTo: { recipients: [] }, recipients: [] }, 'at least one recipient');
  });

  it(`400 past ${MAX_RECIPIENTS_PER_REQUEST} distinct recipients, saying the limit`, async () => {
    const recipients = Array.from({ length: MAX_RECIPIENTS_PER_REQUEST + 1 }, (_, i) => `user-${i}`);
    await expect400({ notification: { title: 'Hi' }, sendTo: { recipients } }, `at most ${MAX_RECIPIENTS_PER_REQUEST} distinct recipients`, `got ${MAX_RECIPIENTS_PER_REQUEST + 1}`);
  });

  it('400 for a bad sendAt', async () => {
    for (const sendAt of ['tomorrow', '2026-13-01T09:00:00Z', '2026-12-01T09:00:00', 12345]) {
      await expect400({ notification: { title: 'Hi' }, sendTo: { recipients: ['valid-user'] }, sendAt }, 'sendAt must be an ISO 8601 date-time');
    }
  });

  it('400 for a missing or empty title, or no notification at all', async () => {
    await expect400({ notification: { message: 'no title' }, sendTo: { recipients: ['valid-user'] } }, 'notification.title is required');
    await expect400({ notification: { title: '  ' }, sendTo: { recipients: ['valid-user'] } }, 'notification.title must not be empty');
    await expect400({ sendTo: { recipients: ['valid-user'] } }, 'notification is required');
  });

  it('400 naming unknown fields, at any level', async () => {
    await expect400(
      { notification: { title: 'Hi' }, sendTo: { recipients: ['valid-user'] }, priority: 'high' },
      'priority is not a known field: allowed fields are notification, sendTo, recipients, category, workflow, data, sendAt, override',
    );
    await expect400({ notification: { title: 'Hi', colour: 'red' }, sendTo: { recipients: ['valid-user'] } }, 'notification.colour is not a known field: allowed fields are title, message, url, icon, category, templateIdentifier, templateId, workflow, data, content');
    await expect400(
      { notification: { title: 'Hi' }, sendTo: { recipients: ['valid-user'] }, override: { whatsapp_cloud: {} } },
      'override.whatsapp_cloud is not a known field: allowed fields are gupshup_whatsapp, gushup_whatsapp, channels, channel,',
    );
    await expect400(
      { notification: { title: 'Hi' }, sendTo: { recipients: ['valid-user'] }, override: { gupshup_whatsapp: { _config: { APIKEY: 'x' } } } },
      'override.gupshup_whatsapp._config.APIKEY is not a known field: allowed fields are API_KEY, SOURCE, SRC_NAME',
    );
  });

  it('400 for bad recipients, naming each entry', async () => {
    const message = await expect400(
      { notification: { title: 'Hi' }, sendTo: { recipients: [42, { phoneNumber: '+14155550123' }, { identifier: 'x', phoneNumber: '(457)-746-846' }] } },
      'sendTo.recipients[0] must be a user identifier',
      'sendTo.recipients[1].identifier is required',
      'sendTo.recipients[2].phoneNumber must be in E.164 format',
    );
    expect(message).toContain('(457)-746-846');
  });

  it('400 for a body that is not an object, and both override spellings at once', async () => {
    await expect400(['not', 'an', 'object'], 'the body must be a JSON object');
    await expect400(
      { notification: { title: 'Hi' }, sendTo: { recipients: ['valid-user'] }, override: { gupshup_whatsapp: {}, gushup_whatsapp: {} } },
      'give one of gupshup_whatsapp, its alias gushup_whatsapp or channel.whatsapp, not gupshup_whatsapp and gushup_whatsapp',
    );
    await expect400(
      { notification: { title: 'Hi' }, sendTo: { recipients: ['valid-user'] }, override: { gupshup_whatsapp: {}, channel: { whatsapp: {} } } },
      'not gupshup_whatsapp and channel.whatsapp',
    );
  });

  it('400 for Engagespot fields given twice with different values, or of the wrong kind', async () => {
    const base = { sendTo: { recipients: ['valid-user'] } };
    await expect400({ ...base, notification: { title: 'Hi', category: 'a' }, category: 'b' }, 'category and notification.category name different categories ("b", "a")');
    await expect400(
      { ...base, notification: { templateIdentifier: 'x', workflow: { identifier: 'y' } } },
      'notification.templateIdentifier and notification.workflow.identifier name different templates',
    );
    await expect400({ ...base, notification: { title: 'Hi' }, override: { channels: ['whatsapp', 'pigeon'] } }, 'override.channels[1] must be one of inApp, webPush');
    await expect400({ ...base, notification: { title: 'Hi', workflow: { cancellationKey: 'k' } } }, 'notification.workflow.identifier is required');
    await expect400({ ...base, notification: { title: 'Hi', templateId: 1.5 } }, 'notification.templateId must be a template id');
    await expect400({ ...base, notification: { title: 'Hi', url: 42 } }, 'notification.url must be a string');
    await expect400({ ...base, notification: { title: 'Hi' }, category: ' ' }, 'category must not be empty');
  });

  it('400 naming a template that is not registered, whichever field names it; a title is then not required', async () => {
    const base = { sendTo: { recipients: ['valid-user'] } };
    await expect400({ ...base, notification: { templateIdentifier: 'order_shipped' } }, 'unknown template "order_shipped"');
    await expect400({ ...base, notification: { templateId: 1234 } }, 'unknown template "1234"');
    await expect400({ ...base, notification: { title: 'Hi', workflow: { identifier: 'welcome', cancellationKey: 'k-1' } } }, 'unknown template "welcome"');
    await expect400({ ...base, notification: { title: 'Hi' }, workflow: { identifier: 'top_level' } }, 'unknown template "top_level"');
  });

  it('422 for sendTo.topics, with or without recipients', async () => {
    for (const sendTo of [{ topics: ['news'] }, { topics: ['news'], recipients: ['valid-user'] }]) {
      const res = await postNotification(t, tenant, { notification: { title: 'Hi' }, sendTo }).expect(422);
      expect(res.body.message).toContain('topics are not supported');
    }
  });

  it('400 for an unusable Idempotency-Key', async () => {
    const res = await postNotification(t, tenant, { notification: { title: 'Hi' }, sendTo: { recipients: ['valid-user'] } }, { 'Idempotency-Key': 'x'.repeat(300) }).expect(400);
    expect(res.body.message).toContain('Idempotency-Key must be 1 to 255 printable ASCII characters');
  });

  it('401 without credentials or with a wrong secret', async () => {
    const body = { notification: { title: 'Hi' }, sendTo: { recipients: ['valid-user'] } };
    const missing = await request(t.url).post('/v3/notifications').send(body).expect(401);
    expect(missing.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(missing.body.message).toContain('X-ENGAGESPOT-API-KEY');
    await request(t.url)
      .post('/v3/notifications')
      .set({ 'X-ENGAGESPOT-API-KEY': tenant.apiKey, 'X-ENGAGESPOT-API-SECRET': 'not-the-secret' })
      .send(body)
      .expect(401);
  });

  it('422 naming gupshup_whatsapp and how to enable it, when the provider is not configured or not enabled', async () => {
    const notConfigured = await createTenant(t, simulator, { enable: false });
    const body = { notification: { title: 'Hi' }, sendTo: { recipients: [{ identifier: 'someone', phoneNumber: '+919988776651' }] } };
    const res = await postNotification(t, notConfigured, body).expect(422);
    expect(res.body).toEqual({ statusCode: 422, message: expect.stringContaining('gupshup_whatsapp'), error: 'Unprocessable Entity' });
    expect(res.body.message).toContain('PUT /v3/channels/whatsapp/providers/gupshup_whatsapp');

    const disabled = await createTenant(t, simulator);
    await request(t.url).put('/v3/channels/whatsapp/providers/gupshup_whatsapp').set(disabled.headers).send({ enabled: false }).expect(200);
    await postNotification(t, disabled, body).expect(422);
    // The inline user was not created either: a rejected request changes nothing.
    await request(t.url).get('/v3/users/someone').set(disabled.headers).expect(404);
  });
});
