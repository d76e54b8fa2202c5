import request from 'supertest';
import { EventStore } from '../../src/event-store';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import type { TestApp } from '../support/test-app';
import {
  createTenant,
  eventTypes,
  GUPSHUP_SOURCE,
  GUPSHUP_SRC_NAME,
  jobInState,
  messageEvents,
  postNotification,
  putUser,
  requestsTo,
  startSendingApp,
  startSimulator,
  type TestTenant,
} from './sending-test-kit';

/** What Gupshup receives, field by field, for every form of the v3 body. */
describe('POST /v3/notifications: the request Gupshup receives', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator);
    tenant = await createTenant(t, simulator);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  /** Sends, expects one queued message, waits for it to be sent, and returns the one request Gupshup got. */
  async function sendAndCapture(body: unknown, destination: string) {
    const res = await postNotification(t, tenant, body).expect(202);
    expect(res.body.messages).toHaveLength(1);
    const [message] = res.body.messages;
    expect(message.status).toBe('queued');
    await jobInState(t, message.messageId, 'sent');
    const received = requestsTo(simulator, destination);
    expect(received).toHaveLength(1);
    return { response: res.body, message, received: received[0] };
  }

  it('sends a plain notification as a text message: path, apikey header and every form field', async () => {
    await putUser(t, tenant, 'plain-user', { phoneNumber: '+919988776601' });
    const { response, message, received } = await sendAndCapture(
      { notification: { title: 'Your order shipped', message: 'Track it at https://example.com/t/1' }, sendTo: { recipients: ['plain-user'] } },
      '919988776601',
    );

    expect(response).toEqual({ requestId: expect.any(String), messages: [{ messageId: expect.any(String), recipient: 'plain-user', status: 'queued' }] });
    expect(received.method).toBe('POST');
    expect(received.path).toBe('/wa/api/v1/msg');
    expect(received.headers.apikey).toBe(tenant.gupshupApiKey);
    expect(received.headers['content-type']).toContain('application/x-www-form-urlencoded');
    expect(received.form).toEqual({
      channel: 'whatsapp',
      source: GUPSHUP_SOURCE,
      'src.name': GUPSHUP_SRC_NAME,
      destination: '919988776601',
      message: JSON.stringify({ type: 'text', text: 'Your order shipped\n\nTrack it at https://example.com/t/1' }),
    });

    // The message's stream tells the same story: queued, then sent with Gupshup's id.
    const events = await messageEvents(t, message.messageId);
    expect(events.map((event) => event.type)).toEqual(['WhatsAppMessageQueued', 'WhatsAppMessageSent']);
    const gupshupMessageId = JSON.parse(received.response!.body!).messageId;
    expect(events[1].data).toMatchObject({ providerMessageId: gupshupMessageId, attempt: 1 });
  });

  it('sends only the title when there is no message', async () => {
    await putUser(t, tenant, 'title-only', { phoneNumber: '+919988776602' });
    const { received } = await sendAndCapture({ notification: { title: 'Ping' }, sendTo: { recipients: ['title-only'] } }, '919988776602');
    expect(received.form.message).toBe(JSON.stringify({ type: 'text', text: 'Ping' }));
  });

  it('puts an image message from override.gupshup_whatsapp in place of the text', async () => {
    await putUser(t, tenant, 'image-user', { phoneNumber: '+919988776603' });
    const image = { type: 'image', originalUrl: 'https://picsum.photos/200', previewUrl: 'https://picsum.photos/100', caption: 'Your parcel' };
    const { received } = await sendAndCapture(
      { notification: { title: 'ignored for images' }, sendTo: { recipients: ['image-user'] }, override: { gupshup_whatsapp: { message: image } } },
      '919988776603',
    );
    expect(received.path).toBe('/wa/api/v1/msg');
    expect(received.form).toEqual({
      channel: 'whatsapp',
      source: GUPSHUP_SOURCE,
      'src.name': GUPSHUP_SRC_NAME,
      destination: '919988776603',
      message: JSON.stringify(image),
    });
  });

  it('accepts the misspelled override.gushup_whatsapp and passes extra keys such as disablePreview as they are', async () => {
    await putUser(t, tenant, 'alias-user', { phoneNumber: '+919988776604' });
    const { received } = await sendAndCapture(
      {
        notification: { title: 'Link', message: 'https://example.com' },
        sendTo: { recipients: ['alias-user'] },
        override: { gushup_whatsapp: { disablePreview: true, encode: 'false' } },
      },
      '919988776604',
    );
    expect(received.form).toEqual({
      channel: 'whatsapp',
      source: GUPSHUP_SOURCE,
      'src.name': GUPSHUP_SRC_NAME,
      destination: '919988776604',
      message: JSON.stringify({ type: 'text', text: 'Link\n\nhttps://example.com' }),
      disablePreview: 'true',
      encode: 'false',
    });
  });

  it("reads the SDK's override.channel.whatsapp like override.gupshup_whatsapp, and ignores other channels' overrides", async () => {
    await putUser(t, tenant, 'channel-user', { phoneNumber: '+919988776614' });
    const { received } = await sendAndCapture(
      {
        notification: { title: 'Link', message: 'https://example.com' },
        sendTo: { recipients: ['channel-user'] },
        override: { channels: ['whatsapp', 'email'], channel: { whatsapp: { disablePreview: true }, email: { cc: ['abc@abc.com'] } } },
      },
      '919988776614',
    );
    expect(received.form).toMatchObject({ destination: '919988776614', disablePreview: 'true' });
    expect(received.form).not.toHaveProperty('cc');
  });

  it('uses _config API_KEY, SOURCE and SRC_NAME for this request only, and never records the key whole', async () => {
    simulator.registerApp('second-gupshup-account-key-7788', { source: '15550001111', srcName: 'OtherApp' });
    await putUser(t, tenant, 'config-user', { phoneNumber: '+919988776605' });
    const { response, received } = await sendAndCapture(
      {
        notification: { title: 'From the other number' },
        sendTo: { recipients: ['config-user'] },
        override: { gupshup_whatsapp: { _config: { API_KEY: 'second-gupshup-account-key-7788', SOURCE: '+15550001111', SRC_NAME: 'OtherApp' } } },
      },
      '919988776605',
    );
    expect(received.headers.apikey).toBe('second-gupshup-account-key-7788');
    expect(received.form).toEqual({
      channel: 'whatsapp',
      source: '15550001111',
      'src.name': 'OtherApp',
      destination: '919988776605',
      message: JSON.stringify({ type: 'text', text: 'From the other number' }),
    });

    // The request's event shows the key masked; the stored content holds it only encrypted.
    const [requested] = await t.app.get(EventStore).readStream(`whatsapp_notification-${response.requestId}`);
    expect(JSON.stringify(requested.data)).not.toContain('second-gupshup-account-key-7788');
    expect((requested.data as { override: { _config: { API_KEY: string } } }).override._config.API_KEY).toBe('****7788');
    const [stored] = await t.db.query<{ content: unknown }>('SELECT content FROM whatsapp_dispatch_requests WHERE request_id = $1', [response.requestId]);
    expect(JSON.stringify(stored.content)).not.toContain('second-gupshup-account-key-7788');

    // The next request without _config goes out with the app's own configuration again.
    await putUser(t, tenant, 'config-user-2', { phoneNumber: '+919988776615' });
    const next = await sendAndCapture({ notification: { title: 'Back to normal' }, sendTo: { recipients: ['config-user-2'] } }, '919988776615');
    expect(next.received.headers.apikey).toBe(tenant.gupshupApiKey);
    expect(next.received.form.source).toBe(GUPSHUP_SOURCE);
  });

  it('sends a template to /wa/api/v1/template/msg with the template as JSON text and no text message', async () => {
    await putUser(t, tenant, 'template-user', { phoneNumber: '+919988776606' });
    const template = { id: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b', params: ['Agent', 'Local Address', 'Tracking code'] };
    const { received } = await sendAndCapture(
      { notification: { title: 'Order update' }, sendTo: { recipients: ['template-user'] }, override: { gupshup_whatsapp: { template } } },
      '919988776606',
    );
    expect(received.path).toBe('/wa/api/v1/template/msg');
    expect(received.headers.apikey).toBe(tenant.gupshupApiKey);
    expect(received.form).toEqual({
      channel: 'whatsapp',
      source: GUPSHUP_SOURCE,
      'src.name': GUPSHUP_SRC_NAME,
      destination: '919988776606',
      template: JSON.stringify(template),
    });
  });

  it('creates an inline user first, in the same request, and sends to its number', async () => {
    const { message, received } = await sendAndCapture(
      {
        notification: { title: 'Welcome' },
        sendTo: { recipients: [{ identifier: 'inline-user', phoneNumber: '+14155550123', firstName: 'Ada' }] },
      },
      '14155550123',
    );
    expect(message.recipient).toBe('inline-user');
    expect(received.form.destination).toBe('14155550123');
    const user = await request(t.url).get('/v3/users/inline-user').set(tenant.headers).expect(200);
    expect(user.body).toMatchObject({ identifier: 'inline-user', phoneNumber: '+14155550123', firstName: 'Ada' });
  });

  it('merges sendTo.recipients with the older top-level recipients, one message per distinct user', async () => {
    await putUser(t, tenant, 'merge-a', { phoneNumber: '+919988776607' });
    await putUser(t, tenant, 'merge-b', { phoneNumber: '+919988776608' });
    const res = await postNotification(t, tenant, {
      notification: { title: 'Both lists' },
      sendTo: { recipients: ['merge-a', 'merge-b', 'merge-a'] },
      recipients: ['merge-b'],
    }).expect(202);
    expect(res.body.messages.map((m: { recipient: string }) => m.recipient)).toEqual(['merge-a', 'merge-b']);
    for (const message of res.body.messages) await jobInState(t, message.messageId, 'sent');
    expect(requestsTo(simulator, '919988776607')).toHaveLength(1);
    expect(requestsTo(simulator, '919988776608')).toHaveLength(1);
  });

  it('reads a null sendTo or recipients as absent, as clients that write unset fields as null send them', async () => {
    await putUser(t, tenant, 'null-fields', { phoneNumber: '+919988776610' });
    const viaRecipients = await postNotification(t, tenant, { notification: { title: 'Null sendTo' }, sendTo: null, recipients: ['null-fields'] }).expect(202);
    const viaSendTo = await postNotification(t, tenant, { notification: { title: 'Null recipients' }, sendTo: { recipients: ['null-fields'] }, recipients: null }).expect(202);
    for (const res of [viaRecipients, viaSendTo]) expect(res.body.messages.map((m: { recipient: string }) => m.recipient)).toEqual(['null-fields']);
    const neither = await postNotification(t, tenant, { notification: { title: 'No one' }, sendTo: null, recipients: null }).expect(400);
    expect(neither.body.message).toContain('at least one recipient is required');
  });

  it('discards at once, with a reason, a recipient that is unknown or has no usable phone number, and sends to the others', async () => {
    await putUser(t, tenant, 'no-phone', { email: 'nophone@example.com' });
    await putUser(t, tenant, 'has-phone', { phoneNumber: '+919988776609' });
    const res = await postNotification(t, tenant, {
      notification: { title: 'Mixed' },
      sendTo: { recipients: ['nobody-here', 'no-phone', 'has-phone'] },
    }).expect(202);

    const [unknown, noPhone, ok] = res.body.messages;
    expect(unknown).toEqual({
      messageId: expect.any(String),
      recipient: 'nobody-here',
      status: 'discarded',
      discardReason: { code: 'unknown_recipient', reason: expect.stringContaining('PUT /v3/users/nobody-here') },
    });
    expect(noPhone).toMatchObject({ recipient: 'no-phone', status: 'discarded', discardReason: { code: 'no_phone_number' } });
    expect(ok).toMatchObject({ recipient: 'has-phone', status: 'queued' });

    expect(await eventTypes(t, unknown.messageId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppMessageDiscarded']);
    const [, discarded] = await messageEvents(t, noPhone.messageId);
    expect(discarded.data).toMatchObject({ source: 'recipient', code: 'no_phone_number' });
    await jobInState(t, ok.messageId, 'sent');
    // Discarded messages have no dispatch job and never reach Gupshup.
    const jobs = await t.db.query('SELECT 1 FROM whatsapp_dispatch_jobs WHERE message_id = ANY($1::uuid[])', [[unknown.messageId, noPhone.messageId]]);
    expect(jobs).toHaveLength(0);
  });
});
