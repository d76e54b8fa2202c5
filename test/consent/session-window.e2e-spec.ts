import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { callbackFixtureBody } from '../fixtures/gupshup';
import type { TestApp } from '../support/test-app';
import { eventually, requestsTo, type TestTenant } from '../sending/sending-test-kit';
import { createCallbackTenant, getMessage, postCallback, sendTo, startConsentService, type ConsentService } from './consent-kit';

const PROVIDER = '/v3/channels/whatsapp/providers/gupshup_whatsapp';

/** An inbound message from this number (E.164), in Gupshup's v2 or v3 shape, written at `at`. */
function inboundMessage(format: 'v2' | 'v3', phoneNumber: string, at: number): unknown {
  if (format === 'v2') {
    const body = callbackFixtureBody('v2-inbound-message') as { timestamp: number; payload: { source: string; sender: { phone: string } } };
    body.timestamp = at;
    body.payload.source = phoneNumber.slice(1);
    body.payload.sender.phone = phoneNumber.slice(1);
    return body;
  }
  const body = callbackFixtureBody('v3-inbound-message') as { entry: { changes: { value: { messages: { from: string; timestamp: string }[] } }[] }[] };
  const [message] = body.entry[0].changes[0].value.messages;
  message.from = phoneNumber.slice(1);
  message.timestamp = String(Math.floor(at / 1000));
  return body;
}

describe('the 24-hour session window', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;
  let service: ConsentService;

  beforeAll(async () => {
    service = await startConsentService();
    ({ simulator, t } = service);
  });
  afterAll(() => service?.close());
  beforeEach(async () => {
    tenant = await createCallbackTenant(t, simulator);
  });

  it('is off by default: every message is sent', async () => {
    expect((await request(t.url).get(PROVIDER).set(tenant.headers).expect(200)).body.enforceSessionWindow).toBe(false);
    const sent = await sendTo(t, tenant, '+919822000011');
    expect(sent.status).toBe('queued');
    await eventually(async () => (requestsTo(simulator, '919822000011').length === 1 ? true : undefined), 'the message to be sent');
  });

  it.each(['v2', 'v3'] as const)('with enforceSessionWindow, only numbers that wrote in the last 24 hours get messages other than templates (%s inbound)', async (format) => {
    const put = await request(t.url).put(PROVIDER).set(tenant.headers).send({ enforceSessionWindow: true }).expect(200);
    expect(put.body).toMatchObject({ enabled: true, enforceSessionWindow: true });
    expect((await request(t.url).get(PROVIDER).set(tenant.headers).expect(200)).body.enforceSessionWindow).toBe(true);

    const silent = format === 'v2' ? '+919822000101' : '+919822000201';
    const wroteLongAgo = format === 'v2' ? '+919822000102' : '+919822000202';
    const wroteNow = format === 'v2' ? '+919822000103' : '+919822000203';
    await postCallback(t, tenant, inboundMessage(format, wroteLongAgo, Date.now() - 25 * 3_600_000));
    await postCallback(t, tenant, inboundMessage(format, wroteNow, Date.now()));

    // The inbound messages take effect a moment after the webhook's 200.
    const allowed = await eventually(async () => {
      const message = await sendTo(t, tenant, wroteNow);
      return message.status === 'queued' ? message : undefined;
    }, 'a message to the number that just wrote to be accepted');
    await eventually(async () => ((await getMessage(t, tenant, allowed.messageId)).body.status === 'seen' ? true : undefined), 'it to be sent');

    for (const phone of [silent, wroteLongAgo]) {
      const refused = await sendTo(t, tenant, phone);
      expect(refused).toMatchObject({ status: 'discarded', discardReason: { code: 'outside_session_window' } });
      expect(refused.discardReason!.reason).toMatch(/template/);
      const shown = await eventually(async () => {
        const res = await getMessage(t, tenant, refused.messageId);
        return res.status === 200 ? res.body : undefined;
      }, 'the discarded message to be shown');
      expect(shown.discardReason.code).toBe('outside_session_window');
    }

    // A template is sent whatever the window.
    const template = await sendTo(t, tenant, silent, { override: { gupshup_whatsapp: { template: { id: 'order-shipped', params: ['42'] } } } });
    expect(template.status).toBe('queued');
    await eventually(async () => (requestsTo(simulator, silent.slice(1)).length === 1 ? true : undefined), 'the template to be sent');
    expect(requestsTo(simulator, wroteLongAgo.slice(1))).toHaveLength(0);
  });

  it('a message queued for later is held to the window when it is due', async () => {
    await request(t.url).put(PROVIDER).set(tenant.headers).send({ enforceSessionWindow: true }).expect(200);
    const phone = '+919822000301';
    const queued = await sendTo(t, tenant, phone, { sendAt: new Date(Date.now() + 2000).toISOString() });
    expect(queued.status).toBe('queued');
    const shown = await eventually(async () => {
      const res = await getMessage(t, tenant, queued.messageId);
      return res.body.status === 'discarded' ? res.body : undefined;
    }, 'the message to be discarded when due');
    expect(shown.discardReason.code).toBe('outside_session_window');
    expect(requestsTo(simulator, phone.slice(1))).toHaveLength(0);
  });

  it('refuses a setting that is not true or false', async () => {
    const res = await request(t.url).put(PROVIDER).set(tenant.headers).send({ enforceSessionWindow: 'yes' }).expect(400);
    expect(res.body.message).toMatch(/enforceSessionWindow must be true or false/);
    expect((await request(t.url).get(PROVIDER).set(tenant.headers).expect(200)).body.enforceSessionWindow).toBe(false);
  });
});
