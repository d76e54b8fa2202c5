import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { buildCallbackBody } from '../../tools/simulator/callback-payloads';
import { callbackFixtureBody } from '../fixtures/gupshup';
import type { TestApp } from '../support/test-app';
import { callbackContextOf, eventually, requestsTo, type TestTenant } from '../sending/sending-test-kit';
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

  /**
   * Posts the callbacks in this order, then an opt-out of another number: the subscription reads
   * the log in order, so once that one shows, every callback before it has been applied.
   */
  let markers = 0;
  async function postAll(bodies: unknown[]): Promise<void> {
    for (const body of bodies) await postCallback(t, tenant, body);
    const marker = `+9198110009${String(++markers).padStart(2, '0')}`;
    await postCallback(t, tenant, userEvent('opted-out', marker));
    await eventually(async () => ((await suppressions(t, tenant, { phoneNumber: marker })).body.data?.length ? true : undefined), 'the callbacks to be applied');
  }

  const skippedOptOuts = async () => {
    const text = (await request(t.url).get('/metrics').expect(200)).text;
    return Number(/^whatsapp_suppression_changes_total\{change="skipped",reason="opted_out",source="user_event"\} (\d+)/m.exec(text)?.[1] ?? 0);
  };

  const reasonsOf = async (phone: string) => (await suppressions(t, tenant, { phoneNumber: phone }).expect(200)).body.data.map((s: { reason: string }) => s.reason);

  it('callbacks out of order: an opt-out older than the opt-in, arriving after it, does not suppress the number again', async () => {
    const phone = '+919811000051';
    const t0 = Date.now() - 60_000;
    const skippedBefore = await skippedOptOuts();
    await postAll([userEvent('opted-out', phone, t0), userEvent('opted-in', phone, t0 + 1000), userEvent('opted-out', phone, t0 + 999)]);
    expect(await reasonsOf(phone)).toEqual([]);
    // Counted as skipped, so an operator can tell why the opt-out did not hold.
    expect(await skippedOptOuts()).toBeGreaterThanOrEqual(skippedBefore + 1);
    expect((await sendTo(t, tenant, phone)).status).toBe('queued');

    // Nor when the opt-in comes first of all; an opt-out newer than the opt-in still counts.
    const other = '+919811000052';
    await postAll([userEvent('opted-in', other, t0 + 1000), userEvent('opted-out', other, t0)]);
    expect(await reasonsOf(other)).toEqual([]);
    await postAll([userEvent('opted-out', phone, t0 + 1001)]);
    expect(await reasonsOf(phone)).toEqual(['opted_out']);
  });

  it('a time no event can have (the year 10000, years ahead, before 2000) is read as the time the callback arrived: stored, and not winning every later comparison', async () => {
    const phone = '+919811000055';
    const posted = Date.now();
    // 253402300800000 ms is 10000-01-01, which PostgreSQL cannot store: it failed the consent subscription on every try.
    await postAll([userEvent('opted-out', phone, 253_402_300_800_000)]);
    const [suppression] = (await suppressions(t, tenant, { phoneNumber: phone }).expect(200)).body.data as { reason: string; since: string }[];
    expect(suppression.reason).toBe('opted_out');
    expect(Date.parse(suppression.since)).toBeGreaterThanOrEqual(posted - 1000);
    expect(Date.parse(suppression.since)).toBeLessThanOrEqual(Date.now());
    // An opt-in of now lifts it (a kept far-future time would have outranked it for ever); the same for an opt-out of the year 2100.
    await postAll([userEvent('opted-in', phone, Date.parse(suppression.since) + 1), userEvent('opted-out', phone, Date.UTC(2100, 0, 1))]);
    expect(await reasonsOf(phone)).toEqual(['opted_out']);
    await postAll([userEvent('opted-in', phone, Date.now() + 2000)]);
    expect(await reasonsOf(phone)).toEqual([]);
  });

  it('an operator’s DELETE counts as a lifting at the time of the request: an older opt-out arriving later does not undo it', async () => {
    const phone = '+919811000053';
    const before = Date.now() - 60_000;
    await postAll([userEvent('opted-out', phone, before)]);
    await request(t.url).delete(`${SUPPRESSIONS}/${encodeURIComponent(phone)}`).set(tenant.headers).expect(204);
    await postAll([userEvent('opted-out', phone, before + 1)]);
    expect(await reasonsOf(phone)).toEqual([]);

    // A DELETE that finds nothing (404) lifts nothing, and holds nothing off.
    const never = '+919811000054';
    await request(t.url).delete(`${SUPPRESSIONS}/${encodeURIComponent(never)}`).set(tenant.headers).expect(404);
    await postAll([userEvent('opted-out', never, before)]);
    expect(await reasonsOf(never)).toEqual(['opted_out']);

    // The operator's own suppression is made now, whatever came before.
    await request(t.url).put(`${SUPPRESSIONS}/${encodeURIComponent(phone)}`).set(tenant.headers).send({ reason: 'opted_out' }).expect(200);
    expect(await reasonsOf(phone)).toEqual(['opted_out']);
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

  describe('override.gupshup_whatsapp.destination: the number the message goes to instead of the recipient\'s', () => {
    const send = (recipients: string[], destination: unknown) =>
      request(t.url)
        .post('/v3/notifications')
        .set(tenant.headers)
        .send({ notification: { title: 'x' }, sendTo: { recipients }, override: { gupshup_whatsapp: { destination } } });

    it('a suppressed override destination is discarded at once, with no request to Gupshup', async () => {
      const own = '+919811000550';
      const suppressed = '+919811000599';
      await request(t.url).put(`/v3/users/alice`).set(tenant.headers).send({ phoneNumber: own }).expect(200);
      await request(t.url).put(`${SUPPRESSIONS}/${encodeURIComponent(suppressed)}`).set(tenant.headers).send({}).expect(200);

      const res = await send(['alice'], suppressed.slice(1)).expect(202);
      expect(res.body.messages).toEqual([expect.objectContaining({ status: 'discarded', discardReason: expect.objectContaining({ code: 'manual' }) })]);
      const shown = await eventually(async () => {
        const view = await getMessage(t, tenant, res.body.messages[0].messageId);
        return view.body.status === 'discarded' ? view.body : undefined;
      }, 'the message view to show the discard');
      expect(shown.phoneNumber).toBe(suppressed);
      expect(requestsTo(simulator, suppressed.slice(1))).toHaveLength(0);
      expect(requestsTo(simulator, own.slice(1))).toHaveLength(0);
    });

    it("goes to the override's number, which a 1002 then suppresses, not the recipient's own", async () => {
      const own = '+919811000650';
      const notOnWhatsApp = '+919811000699'; // the simulator fails numbers ending in 9 with 1002
      await request(t.url).put(`/v3/users/bob`).set(tenant.headers).send({ phoneNumber: own }).expect(200);

      const res = await send(['bob'], notOnWhatsApp).expect(202);
      expect(res.body.messages[0].status).toBe('queued');
      const [suppression] = await eventually(async () => {
        const list = await suppressions(t, tenant, { phoneNumber: notOnWhatsApp });
        return list.body.data?.length ? list.body.data : undefined;
      }, 'the 1002 to suppress the override number');
      expect(suppression).toMatchObject({ phoneNumber: notOnWhatsApp, reason: 'not_on_whatsapp' });
      expect((await getMessage(t, tenant, res.body.messages[0].messageId)).body.phoneNumber).toBe(notOnWhatsApp);
      expect(requestsTo(simulator, notOnWhatsApp.slice(1))).toHaveLength(1);
      expect(requestsTo(simulator, own.slice(1))).toHaveLength(0);
      expect((await suppressions(t, tenant, { phoneNumber: own })).body.data).toEqual([]);
    });

    it('a destination that is no phone number, or one for several recipients, is a 400 naming the field; nothing is sent', async () => {
      await request(t.url).put(`/v3/users/carol`).set(tenant.headers).send({ phoneNumber: '+919811000750' }).expect(200);
      await request(t.url).put(`/v3/users/dave`).set(tenant.headers).send({ phoneNumber: '+919811000751' }).expect(200);
      for (const destination of ['+91 not a number', '12', 'abc', true]) {
        const res = await send(['carol'], destination).expect(400);
        expect(res.body.message).toMatch(/^override\.gupshup_whatsapp\.destination must be a WhatsApp number in E\.164.*leave destination out/);
      }
      const several = await send(['carol', 'dave'], '919811000752').expect(400);
      expect(several.body.message).toMatch(/override\.gupshup_whatsapp\.destination .*exactly one recipient \(got 2\).*one request per recipient/);
      expect((await request(t.url).get('/v3/messages').set(tenant.headers).expect(200)).body.data).toEqual([]);
      expect(requestsTo(simulator, '919811000752')).toHaveLength(0);
    });
  });

  /** A v2 async `failed` callback (GUPSHUP.md §2.3) about a message the simulator accepted, posted as Gupshup would. */
  async function postFailure(messageId: string, code: number, reason: string, occurredAtMs: number): Promise<void> {
    const view = (await getMessage(t, tenant, messageId)).body as { providerMessageId: string };
    const context = callbackContextOf(simulator, view.providerMessageId);
    await postCallback(t, tenant, buildCallbackBody('v2', context, { status: 'failed', occurredAtMs, omitGsId: false, v3FailedStyle: 'errors', failure: { code, reason, stage: 'async' } }));
  }

  async function postReceipt(messageId: string, status: 'delivered' | 'read', occurredAtMs: number): Promise<void> {
    const view = (await getMessage(t, tenant, messageId)).body as { providerMessageId: string };
    await postCallback(t, tenant, buildCallbackBody('v2', callbackContextOf(simulator, view.providerMessageId), { status, occurredAtMs, omitGsId: false }));
  }

  async function messageWithStatus(messageId: string, status: string): Promise<{ timeline: { providerStatus?: string; status: string }[] }> {
    return eventually(async () => {
      const res = await getMessage(t, tenant, messageId);
      return res.body.status === status ? res.body : undefined;
    }, `message ${messageId} to be ${status}`);
  }

  /** Consent reads the log in order: once this later opt-out is recorded, everything posted before it has been read. */
  async function consentCaughtUp(marker: string): Promise<void> {
    await postCallback(t, tenant, userEvent('opted-out', marker));
    await eventually(async () => ((await suppressions(t, tenant, { phoneNumber: marker })).body.data?.length ? true : undefined), 'consent to read the marker opt-out');
  }

  it('a 1002 after the message was delivered suppresses nothing: the number is on WhatsApp', async () => {
    const phone = '+919811000051';
    simulator.setFate(phone.slice(1), { final: 'delivered' });
    const first = await sendTo(t, tenant, phone);
    await messageWithStatus(first.messageId, 'delivered');

    await postFailure(first.messageId, 1002, 'Number Does Not Exist On WhatsApp', Date.now());
    await eventually(async () => {
      const res = await getMessage(t, tenant, first.messageId);
      return res.body.timeline?.some((entry: { providerStatus?: string }) => entry.providerStatus === 'failed') ? true : undefined;
    }, 'the failure in the timeline');
    await consentCaughtUp('+919811000052');

    expect((await suppressions(t, tenant, { phoneNumber: phone })).body.data).toEqual([]);
    expect((await sendTo(t, tenant, phone)).status).toBe('queued');
  });

  it('a receipt after the 1002 that suppressed the number lifts it: the phone got the message; a 1012 stays', async () => {
    const phone = '+919811000079'; // the simulator fails numbers ending in 9 with 1002
    const first = await sendTo(t, tenant, phone);
    await messageWithStatus(first.messageId, 'discarded');
    await eventually(async () => ((await suppressions(t, tenant, { phoneNumber: phone })).body.data?.length ? true : undefined), 'the 1002 to suppress the number');

    await postReceipt(first.messageId, 'delivered', Date.now());
    await messageWithStatus(first.messageId, 'delivered');
    await eventually(async () => ((await suppressions(t, tenant, { phoneNumber: phone })).body.data?.length === 0 ? true : undefined), 'the receipt to lift the suppression');
    expect((await sendTo(t, tenant, phone)).status).toBe('queued');

    const optedOut = '+919811000085';
    simulator.setFate(optedOut.slice(1), { final: 'failed', code: 1012 });
    const second = await sendTo(t, tenant, optedOut);
    await messageWithStatus(second.messageId, 'discarded');
    await eventually(async () => ((await suppressions(t, tenant, { phoneNumber: optedOut })).body.data?.length ? true : undefined), 'the 1012 to suppress the number');
    await postReceipt(second.messageId, 'read', Date.now());
    await messageWithStatus(second.messageId, 'seen');
    await consentCaughtUp('+919811000086');
    expect((await suppressions(t, tenant, { phoneNumber: optedOut })).body.data).toMatchObject([{ reason: 'opted_out' }]);
  });

  it('a 1002 suppression runs NOT_ON_WHATSAPP_SUPPRESSION_DAYS from the failure’s own time, as its since says', async () => {
    const phone = '+919811000061';
    simulator.setFate(phone.slice(1), { final: 'sent' });
    const first = await sendTo(t, tenant, phone);
    await messageWithStatus(first.messageId, 'sent');

    // Reported late: the failure happened an hour before Gupshup's callback reached us.
    const failedAt = Date.now() - 3_600_000;
    await postFailure(first.messageId, 1002, 'Number Does Not Exist On WhatsApp', failedAt);
    const [suppression] = await eventually(async () => {
      const res = await suppressions(t, tenant, { phoneNumber: phone });
      return res.body.data?.length ? res.body.data : undefined;
    }, 'the 1002 to suppress the number');
    expect(suppression).toMatchObject({ reason: 'not_on_whatsapp', since: new Date(failedAt).toISOString(), until: new Date(failedAt + 2 * DAY_MS).toISOString() });
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

  it('a reason in the operator’s own words, as in {"reason": "..."}, adds a manual suppression with those words as its note', async () => {
    const phone = '+919811000301';
    const res = await request(t.url).put(`${SUPPRESSIONS}/${encodeURIComponent(phone)}`).set(tenant.headers).send({ reason: 'asked us by phone' }).expect(200);
    expect(res.body).toEqual({ phoneNumber: phone, reason: 'manual', since: expect.any(String), until: null, note: 'asked us by phone' });
    expect((await suppressions(t, tenant, { phoneNumber: phone })).body.data).toEqual([res.body]);
    const refused = await sendTo(t, tenant, phone);
    expect(refused).toMatchObject({ status: 'discarded', discardReason: { code: 'manual' } });
    expect(requestsTo(simulator, phone.slice(1))).toHaveLength(0);
  });

  it('bad input gets a 400 saying what to fix, and changes nothing', async () => {
    const bad = async (call: request.Test, expected: RegExp) => {
      const res = await call.expect(400);
      expect(res.body.message).toMatch(expected);
    };
    await bad(request(t.url).put(`${SUPPRESSIONS}/${encodeURIComponent('(457)-746-846')}`).set(tenant.headers).send({}), /E\.164/);
    await bad(request(t.url).delete(`${SUPPRESSIONS}/12`).set(tenant.headers), /E\.164/);
    await bad(request(t.url).put(`${SUPPRESSIONS}/%2B919811000201`).set(tenant.headers).send({ reason: 'because', note: 'too' }), /reason must be one of opted_out, not_on_whatsapp, manual when note is given/);
    await bad(request(t.url).put(`${SUPPRESSIONS}/%2B919811000201`).set(tenant.headers).send({ reason: 42 }), /reason must be/);
    await bad(request(t.url).put(`${SUPPRESSIONS}/%2B919811000201`).set(tenant.headers).send({ until: '2001-01-01T00:00:00Z' }), /until.*future/);
    await bad(request(t.url).put(`${SUPPRESSIONS}/%2B919811000201`).set(tenant.headers).send({ colour: 'red' }), /colour/);
    await bad(suppressions(t, tenant, { cursor: 'not-a-cursor' }), /cursor/);
    await bad(suppressions(t, tenant, { phoneNumber: 'nope' }), /phoneNumber/);
    await bad(suppressions(t, tenant, { limit: '0' }), /limit/);
    expect((await suppressions(t, tenant)).body.data).toEqual([]);
  });
});
