import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { callbackFixtureBody } from '../fixtures/gupshup';
import type { TestApp } from '../support/test-app';
import { eventually, requestsTo, type TestTenant } from '../sending/sending-test-kit';
import { createCallbackTenant, getMessage, postCallback, sendTo, startConsentService, SUPPRESSIONS, suppressions, type ConsentService } from './consent-kit';

const DAY_MS = 86_400_000;

/** A user-event for this number (E.164), with Gupshup's own envelope. */
function userEvent(type: 'opted-out' | 'opted-in', phoneNumber: string, at = Date.now()): unknown {
  const body = callbackFixtureBody(type === 'opted-out' ? 'v2-user-event-opted-out' : 'v2-user-event-opted-in') as { timestamp: number; payload: { phone: string } };
  body.timestamp = at;
  body.payload.phone = phoneNumber.slice(1);
  return body;
}

describe('suppressions: opt-outs, numbers not on WhatsApp and the operators’ own', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let service: ConsentService;

  beforeAll(async () => {
    service = await startConsentService({ NOT_ON_WHATSAPP_SUPPRESSION_DAYS: '2' });
    ({ simulator, t } = service);
  });
  afterAll(() => service?.close());

  let tenant: TestTenant;
  beforeEach(async () => {
    tenant = await createCallbackTenant(t, simulator);
  });

  it('an opted-out number gets no request and its message says why; an opt-in lifts it', async () => {
    const phone = '+919811000011';
    await postCallback(t, tenant, userEvent('opted-out', phone));
    await eventually(async () => ((await suppressions(t, tenant, { phoneNumber: phone })).body.data?.length ? true : undefined), 'the opt-out to be recorded');

    const refused = await sendTo(t, tenant, phone);
    expect(refused.status).toBe('discarded');
    expect(refused.discardReason?.code).toBe('opted_out');
    const shown = await eventually(async () => {
      const res = await getMessage(t, tenant, refused.messageId);
      return res.body.status === 'discarded' ? res.body : undefined;
    }, 'the message view to show the discard');
    expect(shown.discardReason.code).toBe('opted_out');
    expect(shown.discardReason.reason).toMatch(/opted out/);
    expect((await suppressions(t, tenant, { phoneNumber: phone })).body.data).toEqual([
      { phoneNumber: phone, reason: 'opted_out', since: expect.any(String), until: null, note: null },
    ]);

    await postCallback(t, tenant, userEvent('opted-in', phone));
    await eventually(async () => ((await suppressions(t, tenant, { phoneNumber: phone })).body.data?.length === 0 ? true : undefined), 'the opt-in to lift it');
    const sent = await sendTo(t, tenant, phone);
    expect(sent.status).toBe('queued');
    await eventually(async () => ((await getMessage(t, tenant, sent.messageId)).body.status === 'seen' ? true : undefined), 'the message after the opt-in to be sent');
    expect(requestsTo(simulator, phone.slice(1))).toHaveLength(1);
  });

  it('a number suppressed after its message was queued is not sent to', async () => {
    const phone = '+919811000021';
    const sendAt = new Date(Date.now() + 3000).toISOString();
    const queued = await sendTo(t, tenant, phone, { sendAt });
    expect(queued.status).toBe('queued');
    await request(t.url).put(`${SUPPRESSIONS}/${encodeURIComponent(phone)}`).set(tenant.headers).send({ note: 'asked by phone' }).expect(200);

    const shown = await eventually(async () => {
      const res = await getMessage(t, tenant, queued.messageId);
      return res.body.status === 'discarded' ? res.body : undefined;
    }, 'the queued message to be discarded when due');
    expect(shown.discardReason.code).toBe('manual');
    expect(shown.discardReason.reason).toContain('asked by phone');
    expect(requestsTo(simulator, phone.slice(1))).toHaveLength(0);
  });

  it('a 1002 suppresses the number as not_on_whatsapp for NOT_ON_WHATSAPP_SUPPRESSION_DAYS; a 1012 as opted_out', async () => {
    const notOnWhatsApp = '+919811000039'; // the simulator fails numbers ending in 9 with 1002
    const first = await sendTo(t, tenant, notOnWhatsApp);
    expect(first.status).toBe('queued');
    const [suppression] = await eventually(async () => {
      const res = await suppressions(t, tenant, { phoneNumber: notOnWhatsApp });
      return res.body.data?.length ? res.body.data : undefined;
    }, 'the 1002 to suppress the number');
    expect(suppression).toMatchObject({ phoneNumber: notOnWhatsApp, reason: 'not_on_whatsapp', note: expect.stringContaining('1002') });
    const days = (Date.parse(suppression.until) - Date.now()) / DAY_MS;
    expect(days).toBeGreaterThan(1.9);
    expect(days).toBeLessThanOrEqual(2);

    const second = await sendTo(t, tenant, notOnWhatsApp);
    expect(second).toMatchObject({ status: 'discarded', discardReason: { code: 'not_on_whatsapp' } });
    expect(requestsTo(simulator, notOnWhatsApp.slice(1))).toHaveLength(1);

    const optedOut = '+919811000045';
    simulator.setFate(optedOut.slice(1), { final: 'failed', code: 1012 });
    await sendTo(t, tenant, optedOut);
    const [byCode] = await eventually(async () => {
      const res = await suppressions(t, tenant, { phoneNumber: optedOut });
      return res.body.data?.length ? res.body.data : undefined;
    }, 'the 1012 to suppress the number');
    expect(byCode).toMatchObject({ reason: 'opted_out', until: null });
  });

  it('operators suppress and lift numbers through the API, one page at a time', async () => {
    const numbers = ['+919811000101', '+919811000102', '+919811000103'];
    for (const number of numbers) {
      const res = await request(t.url).put(`${SUPPRESSIONS}/${encodeURIComponent(number)}`).set(tenant.headers).send({ reason: 'manual', note: 'complaint' }).expect(200);
      expect(res.body).toEqual({ phoneNumber: number, reason: 'manual', since: expect.any(String), until: null, note: 'complaint' });
    }
    // Digits without the +, and no body at all, are accepted too.
    await request(t.url).put(`${SUPPRESSIONS}/919811000104`).set(tenant.headers).expect(200);

    const first = await suppressions(t, tenant, { limit: '3' }).expect(200);
    expect(first.body.data.map((s: { phoneNumber: string }) => s.phoneNumber)).toEqual(numbers);
    const second = await suppressions(t, tenant, { limit: '3', cursor: first.body.nextCursor }).expect(200);
    expect(second.body).toEqual({ data: [expect.objectContaining({ phoneNumber: '+919811000104', reason: 'manual', note: null })], nextCursor: null });

    const refused = await sendTo(t, tenant, numbers[0]);
    expect(refused).toMatchObject({ status: 'discarded', discardReason: { code: 'manual' } });

    await request(t.url).delete(`${SUPPRESSIONS}/${encodeURIComponent(numbers[0])}`).set(tenant.headers).expect(204);
    await request(t.url).delete(`${SUPPRESSIONS}/${encodeURIComponent(numbers[0])}`).set(tenant.headers).expect(404);
    expect((await sendTo(t, tenant, numbers[0])).status).toBe('queued');

    // Another app sees none of them.
    const other = await createCallbackTenant(t, simulator);
    expect((await suppressions(t, other)).body).toEqual({ data: [], nextCursor: null });
  });

  it('bad input gets a 400 saying what to fix, and changes nothing', async () => {
    const bad = async (call: request.Test, expected: RegExp) => {
      const res = await call.expect(400);
      expect(res.body.message).toMatch(expected);
    };
    await bad(request(t.url).put(`${SUPPRESSIONS}/${encodeURIComponent('(457)-746-846')}`).set(tenant.headers).send({}), /E\.164/);
    await bad(request(t.url).delete(`${SUPPRESSIONS}/12`).set(tenant.headers), /E\.164/);
    await bad(request(t.url).put(`${SUPPRESSIONS}/%2B919811000201`).set(tenant.headers).send({ reason: 'because' }), /reason must be one of manual, opted_out, not_on_whatsapp|reason.*one of/);
    await bad(request(t.url).put(`${SUPPRESSIONS}/%2B919811000201`).set(tenant.headers).send({ until: '2001-01-01T00:00:00Z' }), /until.*future/);
    await bad(request(t.url).put(`${SUPPRESSIONS}/%2B919811000201`).set(tenant.headers).send({ colour: 'red' }), /colour/);
    await bad(suppressions(t, tenant, { cursor: 'not-a-cursor' }), /cursor/);
    await bad(suppressions(t, tenant, { phoneNumber: 'nope' }), /phoneNumber/);
    await bad(suppressions(t, tenant, { limit: '0' }), /limit/);
    expect((await suppressions(t, tenant)).body.data).toEqual([]);
  });
});
