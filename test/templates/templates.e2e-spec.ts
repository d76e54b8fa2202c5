import request from 'supertest';
import { callbackFixtureBody } from '../fixtures/gupshup';
import { EventStore } from '../../src/event-store';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import type { SimulatedTemplateStatus } from '../../tools/simulator/template-events';
import { templateStatusStreamId, templateStreamId } from '../../src/whatsapp/templates/template-events';
import type { TestApp } from '../support/test-app';
import { captureLog } from '../support/captured-log';
import {
  createTenant,
  createTenantWithCallbacks,
  eventually,
  GUPSHUP_SOURCE,
  GUPSHUP_SRC_NAME,
  jobInState,
  postNotification,
  putUser,
  requestsTo,
  startSendingApp,
  startSimulator,
  type TestTenant,
} from '../sending/sending-test-kit';

const TEMPLATES = '/v3/channels/whatsapp/templates';
const GUPSHUP_TEMPLATE_ID = 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b';

/**
 * WhatsApp templates end to end: the registry over HTTP, sends naming a template reaching the
 * simulator's template endpoint, and statuses from template-events the simulator posts to the
 * app's callback URL (token included).
 */
describe('WhatsApp templates', () => {
  const log = captureLog();
  let simulator: GupshupSimulator;
  let t: TestApp;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator, { env: { LOG_FORMAT: 'json', LOG_LEVEL: 'info' }, logDestination: log.stream });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  const tenantWithCallbacks = () => createTenantWithCallbacks(t, simulator);

  const putTemplate = (tenant: TestTenant, identifier: string, body: unknown) =>
    request(t.url).put(`${TEMPLATES}/${encodeURIComponent(identifier)}`).set(tenant.headers).send(body as object);

  async function templateStatus(tenant: TestTenant, identifier: string): Promise<string> {
    const res = await request(t.url).get(`${TEMPLATES}/${identifier}`).set(tenant.headers).expect(200);
    return res.body.status as string;
  }

  /** Sets the template's status on the simulator (a template-event to the webhook) and waits until the service knows it. */
  async function gupshupSays(tenant: TestTenant, identifier: string, status: SimulatedTemplateStatus, gupshupTemplateId = GUPSHUP_TEMPLATE_ID) {
    const event = await simulator.setTemplateStatus(tenant.gupshupApiKey, gupshupTemplateId, { status, elementName: 'order_shipped', languageCode: 'en' });
    expect(event.state).toBe('delivered');
    await eventually(async () => ((await templateStatus(tenant, identifier)) === status ? true : undefined), `template ${identifier} to be ${status}`);
  }

  it('registers, shows, lists, replaces and removes templates, with an event for every change', async () => {
    const tenant = await tenantWithCallbacks();
    const definition = { gupshupTemplateId: GUPSHUP_TEMPLATE_ID, params: ['{{data.orderId}}', '{{recipient.firstName}}'], header: { type: 'image', url: '{{data.imageUrl}}' } };
    const saved = await putTemplate(tenant, 'order_shipped', definition).expect(200);
    expect(saved.body).toEqual({ identifier: 'order_shipped', ...definition, status: 'unknown', updatedAt: expect.any(String) });
    expect((await request(t.url).get(`${TEMPLATES}/order_shipped`).set(tenant.headers).expect(200)).body).toEqual(saved.body);

    // The same definition again changes nothing; a new one replaces it.
    await putTemplate(tenant, 'order_shipped', definition).expect(200);
    await putTemplate(tenant, 'order_shipped', { ...definition, header: null }).expect(200);
    await putTemplate(tenant, 'welcome', { gupshupTemplateId: 'tpl-welcome' }).expect(200);
    const list = await request(t.url).get(TEMPLATES).set(tenant.headers).expect(200);
    expect(list.body.data.map((template: { identifier: string; header: unknown; params: unknown }) => [template.identifier, template.header, template.params])).toEqual([
      ['order_shipped', null, definition.params],
      ['welcome', null, []],
    ]);

    // Another app sees none of them.
    const other = await createTenant(t, simulator);
    expect((await request(t.url).get(TEMPLATES).set(other.headers).expect(200)).body).toEqual({ data: [] });
    await request(t.url).get(`${TEMPLATES}/order_shipped`).set(other.headers).expect(404);

    await request(t.url).delete(`${TEMPLATES}/welcome`).set(tenant.headers).expect(204);
    await request(t.url).delete(`${TEMPLATES}/welcome`).set(tenant.headers).expect(404);
    await request(t.url).get(`${TEMPLATES}/welcome`).set(tenant.headers).expect(404);

    const store = t.app.get(EventStore);
    const events = await store.readStream(templateStreamId(tenant.appId, 'order_shipped'));
    expect(events.map((event) => [event.type, (event.data as { created?: boolean }).created])).toEqual([
      ['WhatsAppTemplateSaved', true],
      ['WhatsAppTemplateSaved', false],
    ]);
    expect((await store.readStream(templateStreamId(tenant.appId, 'welcome'))).map((event) => event.type)).toEqual(['WhatsAppTemplateSaved', 'WhatsAppTemplateDeleted']);
  });

  it('answers a bad definition 400 naming every problem, and stores nothing', async () => {
    const tenant = await tenantWithCallbacks();
    const res = await putTemplate(tenant, 'bad', {
      gupshupTemplateId: '',
      params: ['{{user.name}}', 42, 'Order {{data.orderId'],
      header: { type: 'audio', url: 'not a url', filename: 'f' },
      extra: true,
    }).expect(400);
    for (const part of ['gupshupTemplateId', 'params[0]', '{{user.name}}', 'params[1]', 'params[2]', 'has a {{ without its }}', 'header.type', 'header.url must be an https:// URL', 'extra']) {
      expect(res.body.message).toContain(part);
    }
    const filename = await putTemplate(tenant, 'bad', { gupshupTemplateId: 't', header: { type: 'image', url: 'https://x.test/a.png', filename: 'a.png' } }).expect(400);
    expect(filename.body.message).toBe('header.filename is for a document header only: leave it out for an image or a video');
    await request(t.url).put(`${TEMPLATES}/bad`).set(tenant.headers).send('[1]').set('content-type', 'application/json').expect(400);
    await request(t.url).get(`${TEMPLATES}/bad`).set(tenant.headers).expect(404);
  });

  it('sends the template by identifier, templateId or workflow: filled params and the media header reach Gupshup', async () => {
    const tenant = await tenantWithCallbacks();
    await putTemplate(tenant, 'order_shipped', {
      gupshupTemplateId: GUPSHUP_TEMPLATE_ID,
      params: ['{{data.orderId}}', 'Dear {{recipient.firstName}}', '{{data.total}}'],
      header: { type: 'image', url: '{{data.imageUrl}}' },
    }).expect(200);
    await putTemplate(tenant, '42', { gupshupTemplateId: 'tpl-numeric', params: ['{{recipient.address.city}}'], header: { type: 'document', url: 'https://x.test/{{data.orderId}}.pdf', filename: 'invoice-{{data.orderId}}.pdf' } }).expect(200);
    await putUser(t, tenant, 'ada', { phoneNumber: '+919988770001', firstName: 'Ada', address: { city: 'Pune' } });

    const data = { orderId: 'A-1', total: 12.5, imageUrl: 'https://x.test/a.png' };
    const byIdentifier = await postNotification(t, tenant, { notification: { templateIdentifier: 'order_shipped' }, sendTo: { recipients: ['ada'] }, data }).expect(202);
    const [message] = byIdentifier.body.messages;
    expect(message.status).toBe('queued');
    await jobInState(t, message.messageId, 'sent');
    const [sent] = requestsTo(simulator, '919988770001');
    expect(sent.path).toBe('/wa/api/v1/template/msg');
    expect(sent.headers.apikey).toBe(tenant.gupshupApiKey);
    expect(sent.form).toEqual({
      channel: 'whatsapp',
      source: GUPSHUP_SOURCE,
      'src.name': GUPSHUP_SRC_NAME,
      destination: '919988770001',
      template: JSON.stringify({ id: GUPSHUP_TEMPLATE_ID, params: ['A-1', 'Dear Ada', '12.5'] }),
      message: JSON.stringify({ type: 'image', image: { link: 'https://x.test/a.png' } }),
    });

    // The message shows its template, and its callbacks take it to seen like any other.
    const shown = await eventually(async () => {
      const res = await request(t.url).get(`/v3/messages/${message.messageId}`).set(tenant.headers);
      return res.status === 200 && res.body.status === 'seen' ? res.body : undefined;
    }, 'the template message to be seen');
    expect(shown).toMatchObject({ template: 'order_shipped', requestId: byIdentifier.body.requestId });

    // templateId (a number in the SDK's types), workflow.identifier and a top-level workflow (no
    // notification object needed then) name it the same way.
    const byTemplateId = await postNotification(t, tenant, { notification: { templateId: 42 }, sendTo: { recipients: ['ada'] }, data }).expect(202);
    const byWorkflow = await postNotification(t, tenant, { notification: { title: 'ignored', workflow: { identifier: 'order_shipped' } }, recipients: ['ada'], data }).expect(202);
    const byTopLevelWorkflow = await postNotification(t, tenant, { workflow: { identifier: 'order_shipped' }, sendTo: { recipients: ['ada'] }, data }).expect(202);
    for (const accepted of [byTemplateId, byWorkflow, byTopLevelWorkflow]) await jobInState(t, accepted.body.messages[0].messageId, 'sent');
    // They may reach Gupshup in any order: each is told by its template.
    const later = requestsTo(simulator, '919988770001').slice(1);
    expect(later).toHaveLength(3);
    const numeric = later.find((received) => JSON.parse(received.form.template).id === 'tpl-numeric')!;
    const workflows = later.filter((received) => JSON.parse(received.form.template).id === GUPSHUP_TEMPLATE_ID);
    expect(JSON.parse(numeric.form.template)).toEqual({ id: 'tpl-numeric', params: ['Pune'] });
    expect(JSON.parse(numeric.form.message)).toEqual({ type: 'document', document: { link: 'https://x.test/A-1.pdf', filename: 'invoice-A-1.pdf' } });
    expect(workflows.map((received) => JSON.parse(received.form.template))).toEqual([
      { id: GUPSHUP_TEMPLATE_ID, params: ['A-1', 'Dear Ada', '12.5'] },
      { id: GUPSHUP_TEMPLATE_ID, params: ['A-1', 'Dear Ada', '12.5'] },
    ]);
  });

  it('refuses an unknown template or missing data with 400 naming it, and discards a recipient whose profile lacks a field', async () => {
    const tenant = await tenantWithCallbacks();
    await putTemplate(tenant, 'greeting', { gupshupTemplateId: 'tpl-greeting', params: ['{{recipient.firstName}}', '{{data.code}}'] }).expect(200);
    await putUser(t, tenant, 'named', { phoneNumber: '+919988770011', firstName: 'Grace' });
    await putUser(t, tenant, 'nameless', { phoneNumber: '+919988770012' });

    const unknown = await postNotification(t, tenant, { notification: { templateIdentifier: 'nope' }, sendTo: { recipients: ['named'] } }).expect(400);
    expect(unknown.body.message).toContain('unknown template "nope"');
    const noData = await postNotification(t, tenant, { notification: { templateIdentifier: 'greeting' }, sendTo: { recipients: ['named'] }, data: { code: ' ' } }).expect(400);
    expect(noData.body.message).toContain('data.code');
    expect(noData.body.message).toContain('{{data.code}}');

    const res = await postNotification(t, tenant, { notification: { templateIdentifier: 'greeting' }, sendTo: { recipients: ['named', 'nameless'] }, data: { code: 7 } }).expect(202);
    const [named, nameless] = res.body.messages;
    expect(named.status).toBe('queued');
    expect(nameless).toMatchObject({ status: 'discarded', discardReason: { code: 'template_param_missing', reason: expect.stringContaining('recipient.firstName') } });
    await jobInState(t, named.messageId, 'sent');
    expect(requestsTo(simulator, '919988770012')).toEqual([]);
    expect(JSON.parse(requestsTo(simulator, '919988770011')[0].form.template)).toEqual({ id: 'tpl-greeting', params: ['Grace', '7'] });
  });

  it('refuses a header URL from data that is no URL with 400 naming it; discards a recipient whose profile gives one', async () => {
    const tenant = await tenantWithCallbacks();
    await putTemplate(tenant, 'boxed', { gupshupTemplateId: 'tpl-boxed', params: ['{{data.orderId}}'], header: { type: 'image', url: '{{data.imageUrl}}' } }).expect(200);
    await putTemplate(tenant, 'portrait', { gupshupTemplateId: 'tpl-portrait', header: { type: 'image', url: '{{recipient.avatarUrl}}' } }).expect(200);
    await putUser(t, tenant, 'fay', { phoneNumber: '+919988770051', avatarUrl: 'https://example.com/fay.png' });
    await putUser(t, tenant, 'gus', { phoneNumber: '+919988770052', avatarUrl: 'not a url' });

    for (const imageUrl of ['not a url', 'ftp://example.com/box.png', 'javascript:alert(1)']) {
      const bad = await postNotification(t, tenant, { notification: { templateIdentifier: 'boxed' }, sendTo: { recipients: ['fay'] }, data: { orderId: 'F-1', imageUrl } }).expect(400);
      expect(bad.body.message).toMatch(/^data\.imageUrl gives the media header URL of the WhatsApp template "boxed" \(\{\{data\.imageUrl\}\}\), which must be an https:\/\/ URL/);
    }
    expect((await request(t.url).get('/v3/messages').set(tenant.headers).expect(200)).body.data).toEqual([]);

    const res = await postNotification(t, tenant, { notification: { templateIdentifier: 'portrait' }, sendTo: { recipients: ['fay', 'gus'] } }).expect(202);
    const [fay, gus] = res.body.messages;
    expect(fay.status).toBe('queued');
    expect(gus).toMatchObject({
      status: 'discarded',
      discardReason: { code: 'template_param_invalid', reason: expect.stringMatching(/recipient\.avatarUrl, which gave "not a url" .*https:\/\/ URL/) },
    });
    await jobInState(t, fay.messageId, 'sent');
    expect(JSON.parse(requestsTo(simulator, '919988770051')[0].form.message)).toEqual({ type: 'image', image: { link: 'https://example.com/fay.png' } });
    expect(requestsTo(simulator, '919988770052')).toEqual([]);
  });

  it("follows Gupshup's template-events: a rejected or paused template is discarded without a request, an approved one is sent again", async () => {
    const tenant = await tenantWithCallbacks();
    await putTemplate(tenant, 'order_shipped', { gupshupTemplateId: GUPSHUP_TEMPLATE_ID, params: ['{{data.orderId}}'] }).expect(200);
    await putUser(t, tenant, 'bob', { phoneNumber: '+919988770021' });
    const send = () => postNotification(t, tenant, { notification: { templateIdentifier: 'order_shipped' }, sendTo: { recipients: ['bob'] }, data: { orderId: 'B-2' } }).expect(202);

    await gupshupSays(tenant, 'order_shipped', 'rejected');
    const rejected = (await send()).body.messages[0];
    expect(rejected).toMatchObject({ status: 'discarded', discardReason: { code: 'template_not_approved', reason: expect.stringContaining('rejected') } });

    await gupshupSays(tenant, 'order_shipped', 'approved');
    const approved = (await send()).body.messages[0];
    await jobInState(t, approved.messageId, 'sent');

    await gupshupSays(tenant, 'order_shipped', 'paused');
    const paused = (await send()).body.messages[0];
    expect(paused).toMatchObject({ status: 'discarded', discardReason: { code: 'template_not_approved' } });
    const view = await eventually(async () => {
      const res = await request(t.url).get(`/v3/messages/${paused.messageId}`).set(tenant.headers);
      return res.status === 200 && res.body.status === 'discarded' ? res.body : undefined;
    }, 'the paused template message to show as discarded');
    expect(view).toMatchObject({ template: 'order_shipped', discardReason: { code: 'template_not_approved' } });

    // One request in all: the approved send.
    expect(requestsTo(simulator, '919988770021')).toHaveLength(1);
    const changes = await t.app.get(EventStore).readStream(templateStatusStreamId(tenant.appId, GUPSHUP_TEMPLATE_ID));
    expect(changes.map((event) => [(event.data as { previousStatus: string }).previousStatus, (event.data as { status: string }).status])).toEqual([
      ['unknown', 'rejected'],
      ['rejected', 'approved'],
      ['approved', 'paused'],
    ]);
    // Another app's template of the same Gupshup id is not affected.
    const other = await tenantWithCallbacks();
    expect((await putTemplate(other, 'order_shipped', { gupshupTemplateId: GUPSHUP_TEMPLATE_ID }).expect(200)).body.status).toBe('unknown');
  });

  it('discards a deleted, pending or in-appeal template without a request; a flagged one (still sendable) is sent', async () => {
    const tenant = await tenantWithCallbacks();
    await putTemplate(tenant, 'promo', { gupshupTemplateId: 'tpl-promo', params: ['{{data.code}}'] }).expect(200);
    await putUser(t, tenant, 'eve', { phoneNumber: '+919988770041' });
    const send = async () =>
      (await postNotification(t, tenant, { notification: { templateIdentifier: 'promo' }, sendTo: { recipients: ['eve'] }, data: { code: 'E-5' } }).expect(202)).body.messages[0];
    /** Gupshup's template-event with a status the simulator does not post itself. */
    const templateEvent = async (status: string) => {
      const body = callbackFixtureBody('v2-template-event') as { timestamp: number; payload: Record<string, unknown> };
      const event = { ...body, timestamp: Date.now(), payload: { ...body.payload, id: 'tpl-promo', status: status.toUpperCase() } };
      await request(t.url).post(tenant.callbackPath).set('Content-Type', 'application/json').send(JSON.stringify(event)).expect(200);
      await eventually(async () => ((await templateStatus(tenant, 'promo')) === status ? true : undefined), `template promo to be ${status}`);
    };

    for (const status of ['deleted', 'pending'] as const) {
      await gupshupSays(tenant, 'promo', status, 'tpl-promo');
      expect(await send()).toMatchObject({ status: 'discarded', discardReason: { code: 'template_not_approved', reason: expect.stringContaining(status) } });
    }
    await templateEvent('in_appeal');
    expect(await send()).toMatchObject({ status: 'discarded', discardReason: { code: 'template_not_approved', reason: expect.stringContaining('in_appeal') } });
    expect(requestsTo(simulator, '919988770041')).toEqual([]);

    // Flagged is a quality warning: Gupshup still sends the template.
    await templateEvent('flagged');
    const flagged = await send();
    expect(flagged.status).toBe('queued');
    await jobInState(t, flagged.messageId, 'sent');
    expect(requestsTo(simulator, '919988770041')).toHaveLength(1);
  });

  it('applies only authenticated template-events, and never an older one over a newer', async () => {
    const tenant = await tenantWithCallbacks();
    await request(t.url).put('/v3/channels/whatsapp/providers/gupshup_whatsapp').set(tenant.headers).send({ acceptLegacyCallbackUrl: true }).expect(200);
    await putTemplate(tenant, 'legacy', { gupshupTemplateId: 'tpl-legacy' }).expect(200);
    await putTemplate(tenant, 'ordered', { gupshupTemplateId: 'tpl-ordered' }).expect(200);
    /** Gupshup's documented template-event, for this template, status and time. */
    const templateEvent = (id: string, status: string, timestamp: number) => {
      const body = callbackFixtureBody('v2-template-event') as { timestamp: number; payload: Record<string, unknown> };
      return { ...body, timestamp, payload: { ...body.payload, id, status } };
    };
    const post = (path: string, body: unknown) => request(t.url).post(path).set('Content-Type', 'application/json').send(JSON.stringify(body)).expect(200);
    const legacyPath = tenant.callbackPath.split('?')[0];

    // Without the token (the legacy URL), then with it: once the second is applied, the first was read and left.
    await post(legacyPath, templateEvent('tpl-legacy', 'paused', 1_700_000_000_000));
    await post(tenant.callbackPath, templateEvent('tpl-ordered', 'approved', 1_700_000_002_000));
    await eventually(async () => ((await templateStatus(tenant, 'ordered')) === 'approved' ? true : undefined), 'the authenticated template-event applied');
    expect(await templateStatus(tenant, 'legacy')).toBe('unknown');

    // An older event arriving late changes nothing; a newer one does.
    await post(tenant.callbackPath, templateEvent('tpl-ordered', 'paused', 1_700_000_001_000));
    await post(tenant.callbackPath, templateEvent('tpl-legacy', 'rejected', 1_700_000_003_000));
    await eventually(async () => ((await templateStatus(tenant, 'legacy')) === 'rejected' ? true : undefined), 'the later template-event applied');
    expect(await templateStatus(tenant, 'ordered')).toBe('approved');
    await post(tenant.callbackPath, templateEvent('tpl-ordered', 'disabled', 1_700_000_004_000));
    await eventually(async () => ((await templateStatus(tenant, 'ordered')) === 'disabled' ? true : undefined), 'a newer template-event applied');
  });

  it('checks the status again when a queued message comes due: paused meanwhile, it is discarded without a request', async () => {
    const tenant = await tenantWithCallbacks();
    await putTemplate(tenant, 'reminder', { gupshupTemplateId: 'tpl-reminder', params: ['{{data.day}}'] }).expect(200);
    await putUser(t, tenant, 'cy', { phoneNumber: '+919988770031' });
    await putUser(t, tenant, 'di', { phoneNumber: '+919988770032' });
    const later = new Date(Date.now() + 60 * 60 * 1000).toISOString();
    const queued = await postNotification(t, tenant, { notification: { templateIdentifier: 'reminder' }, sendTo: { recipients: ['cy'] }, data: { day: 'Monday' }, sendAt: later }).expect(202);
    const [message] = queued.body.messages;
    expect(message.status).toBe('queued');

    await gupshupSays(tenant, 'reminder', 'paused', 'tpl-reminder');
    // Its time comes.
    await t.db.query('UPDATE whatsapp_dispatch_jobs SET due_at = now() WHERE message_id = $1', [message.messageId]);
    const discarded = await jobInState(t, message.messageId, 'discarded');
    expect(discarded.attempts).toBe(0);
    const view = await eventually(async () => {
      const res = await request(t.url).get(`/v3/messages/${message.messageId}`).set(tenant.headers);
      return res.status === 200 && res.body.status === 'discarded' ? res.body : undefined;
    }, 'the paused template message to show as discarded');
    expect(view.discardReason).toMatchObject({ code: 'template_not_approved', reason: expect.stringContaining('paused') });
    expect(requestsTo(simulator, '919988770031')).toEqual([]);

    // Approved again, a new message goes.
    await gupshupSays(tenant, 'reminder', 'approved', 'tpl-reminder');
    const now = await postNotification(t, tenant, { notification: { templateIdentifier: 'reminder' }, sendTo: { recipients: ['di'] }, data: { day: 'Tuesday' } }).expect(202);
    await jobInState(t, now.body.messages[0].messageId, 'sent');
    expect(JSON.parse(requestsTo(simulator, '919988770032')[0].form.template)).toEqual({ id: 'tpl-reminder', params: ['Tuesday'] });
  });

  it('logs a message its paused template kept from Gupshup as an info refused line, then one discard warning', async () => {
    const tenant = await tenantWithCallbacks();
    await putTemplate(tenant, 'pause_logged', { gupshupTemplateId: 'tpl-pause-logged' }).expect(200);
    await putUser(t, tenant, 'ev', { phoneNumber: '+919988770041' });
    const later = new Date(Date.now() + 60 * 60 * 1000).toISOString();
    const queued = await postNotification(t, tenant, { notification: { templateIdentifier: 'pause_logged' }, sendTo: { recipients: ['ev'] }, sendAt: later }).expect(202);
    const { requestId, messages } = queued.body as { requestId: string; messages: { messageId: string }[] };
    const { messageId } = messages[0];
    await gupshupSays(tenant, 'pause_logged', 'paused', 'tpl-pause-logged');
    await t.db.query('UPDATE whatsapp_dispatch_jobs SET due_at = now() WHERE message_id = $1', [messageId]);
    await jobInState(t, messageId, 'discarded');

    const linesOf = () => log.lines().filter((line) => line.messageId === messageId && (line.level === 'warn' || line.action !== undefined));
    const lines = await eventually(() => (linesOf().length >= 2 ? linesOf() : undefined), 'the refused and discard lines');
    expect(lines.map((line) => [line.context, line.level, line.action])).toEqual([
      ['WhatsAppTemplates', 'info', 'refused'],
      ['WhatsAppDispatcher', 'warn', 'discard'],
    ]);
    expect(lines[0]).toMatchObject({ appId: tenant.appId, requestId, status: 'paused', code: 'template_not_approved', gupshupTemplateId: 'tpl-pause-logged' });
    expect(lines[1]).toMatchObject({ appId: tenant.appId, requestId, code: 'template_not_approved' });
  });
});
