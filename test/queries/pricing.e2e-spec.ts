import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { createCallbackTenant, getMessage, postCallback, sendTo, startConsentService, type ConsentService } from '../consent/consent-kit';
import { callbackFixtureBody } from '../fixtures/gupshup';
import type { TestApp } from '../support/test-app';
import { eventually } from '../sending/sending-test-kit';

describe('pricing from Gupshup’s callbacks and billing-events', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let service: ConsentService;

  beforeAll(async () => {
    service = await startConsentService();
    ({ simulator, t } = service);
  });
  afterAll(() => service?.close());

  it('a v3 callback’s pricing shows on the message and in the analytics of the day', async () => {
    const tenant = await createCallbackTenant(t, simulator, 'v3');
    const sent = await sendTo(t, tenant, '+919833000011', { category: 'order-updates' });
    const shown = await eventually(async () => {
      const res = await getMessage(t, tenant, sent.messageId);
      return res.body.status === 'seen' && res.body.pricing ? res.body : undefined;
    }, 'the message to be seen, with its pricing');
    // Counted on the UTC day it was sent (not today's: a run may cross midnight).
    const sentDay = shown.sentAt.slice(0, 10);
    // The simulator's v3 sent status: {"billable": true, "pricing_model": "CBP", "category": "service"}.
    expect(shown.pricing).toEqual({ category: 'service', billable: true, model: 'CBP' });

    const listed = await request(t.url).get('/v3/messages').query({ requestId: shown.requestId }).set(tenant.headers).expect(200);
    expect(listed.body.data[0].pricing).toEqual(shown.pricing);

    const analytics = await eventually(async () => {
      const res = await request(t.url).get('/v3/analytics/whatsapp').query({ from: sentDay, to: sentDay }).set(tenant.headers);
      return res.body.totals?.billable === 1 ? res.body : undefined;
    }, 'the analytics to count the billable message');
    expect(analytics.days[0]).toMatchObject({ date: sentDay, sent: 1, billable: 1, billableByCategory: { service: 1 } });
    expect(analytics.totals.billableByCategory).toEqual({ service: 1 });

    // The request's category filters and breaks down billable messages like the other counts.
    const filtered = await request(t.url).get('/v3/analytics/whatsapp').query({ from: sentDay, to: sentDay, category: 'other' }).set(tenant.headers).expect(200);
    expect(filtered.body.totals).toMatchObject({ billable: 0, billableByCategory: {} });
    const grouped = await request(t.url).get('/v3/analytics/whatsapp').query({ from: sentDay, to: sentDay, groupBy: 'category' }).set(tenant.headers).expect(200);
    expect(grouped.body.breakdown).toEqual([expect.objectContaining({ value: 'order-updates', billable: 1, billableByCategory: { service: 1 } })]);
  });

  it('a v2 callback’s pricing (policy and category, no billable) shows as far as it goes and counts nothing as billable', async () => {
    const tenant = await createCallbackTenant(t, simulator, 'v2');
    const sent = await sendTo(t, tenant, '+919833000021');
    const shown = await eventually(async () => {
      const res = await getMessage(t, tenant, sent.messageId);
      return res.body.status === 'seen' && res.body.pricing ? res.body : undefined;
    }, 'the message to be seen, with its pricing');
    const sentDay = shown.sentAt.slice(0, 10);
    expect(shown.pricing).toEqual({ category: 'service', billable: null, model: 'CBP' });
    const analytics = await request(t.url).get('/v3/analytics/whatsapp').query({ from: sentDay, to: sentDay }).set(tenant.headers).expect(200);
    expect(analytics.body.totals).toMatchObject({ sent: 1, billable: 0, billableByCategory: {} });

    // Gupshup's billing-event for it (references.gsId: the message's Gupshup id) says what was deducted, and outranks the status's pricing.
    const billing = callbackFixtureBody('v2-billing-event') as { timestamp: number; payload: { references: { gsId: string; destination: string } } };
    billing.timestamp = Date.now();
    billing.payload.references.gsId = shown.providerMessageId;
    billing.payload.references.destination = '919833000021';
    await postCallback(t, tenant, billing);
    const billed = await eventually(async () => {
      const res = await getMessage(t, tenant, sent.messageId);
      return res.body.pricing?.billable === true ? res.body : undefined;
    }, 'the billing-event to price the message');
    expect(billed.pricing).toEqual({ category: 'marketing', billable: true, model: 'PMP' });
    expect(billed.timeline.map((entry: { status: string }) => entry.status)).toEqual(shown.timeline.map((entry: { status: string }) => entry.status));
    const counted = await eventually(async () => {
      const res = await request(t.url).get('/v3/analytics/whatsapp').query({ from: sentDay, to: sentDay }).set(tenant.headers);
      return res.body.totals?.billable === 1 ? res.body : undefined;
    }, 'the analytics to count the billed message');
    expect(counted.totals.billableByCategory).toEqual({ marketing: 1 });
  });

  it('a v3 billing-event prices its message too', async () => {
    const tenant = await createCallbackTenant(t, simulator, 'v3');
    const sent = await sendTo(t, tenant, '+919833000031');
    const shown = await eventually(async () => {
      const res = await getMessage(t, tenant, sent.messageId);
      return res.body.status === 'seen' && res.body.pricing ? res.body : undefined;
    }, 'the message to be seen, with its pricing');
    const billing = callbackFixtureBody('v3-billing-event') as { entry: { changes: { value: { billing: { references: { gsId: string } } } }[] }[] };
    billing.entry[0].changes[0].value.billing.references.gsId = shown.providerMessageId;
    await postCallback(t, tenant, billing);
    const billed = await eventually(async () => {
      const res = await getMessage(t, tenant, sent.messageId);
      return res.body.pricing?.model === 'PMP' ? res.body : undefined;
    }, 'the billing-event to price the message');
    expect(billed.pricing).toEqual({ category: 'utility', billable: true, model: 'PMP' });
  });

  /** whatsapp_callbacks_received_total{kind="billing-event"} for this format and outcome, from /metrics. */
  async function billingCount(format: 'v2' | 'v3', outcome: string): Promise<number> {
    const text = (await request(t.url).get('/metrics').expect(200)).text;
    const line = text.split('\n').find((l) => l.startsWith(`whatsapp_callbacks_received_total{format="${format}",kind="billing-event",outcome="${outcome}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  it('counts a billing-event that prices its message as applied, and its repeat as a duplicate', async () => {
    const v2Tenant = await createCallbackTenant(t, simulator, 'v2');
    const v2Sent = await sendTo(t, v2Tenant, '+919833000041');
    const v2Shown = await eventually(async () => {
      const res = await getMessage(t, v2Tenant, v2Sent.messageId);
      return res.body.status === 'seen' ? res.body : undefined;
    }, 'the v2 message to be seen');
    const before = { applied: await billingCount('v2', 'applied'), duplicate: await billingCount('v2', 'duplicate'), ignored: await billingCount('v2', 'ignored') };
    const billing = callbackFixtureBody('v2-billing-event') as { timestamp: number; payload: { references: { gsId: string; destination: string } } };
    billing.timestamp = Date.now();
    billing.payload.references.gsId = v2Shown.providerMessageId;
    billing.payload.references.destination = '919833000041';
    await postCallback(t, v2Tenant, billing);
    await eventually(async () => ((await billingCount('v2', 'applied')) === before.applied + 1 ? true : undefined), 'the v2 billing-event counted as applied');
    // Gupshup posts it again (a retry): nothing new to record.
    await postCallback(t, v2Tenant, billing);
    await eventually(async () => ((await billingCount('v2', 'duplicate')) === before.duplicate + 1 ? true : undefined), 'the repeat counted as a duplicate');
    expect(await billingCount('v2', 'applied')).toBe(before.applied + 1);
    expect(await billingCount('v2', 'ignored')).toBe(before.ignored);
    expect((await getMessage(t, v2Tenant, v2Sent.messageId)).body.pricing).toEqual({ category: 'marketing', billable: true, model: 'PMP' });

    const v3Tenant = await createCallbackTenant(t, simulator, 'v3');
    const v3Sent = await sendTo(t, v3Tenant, '+919833000051');
    const v3Shown = await eventually(async () => {
      const res = await getMessage(t, v3Tenant, v3Sent.messageId);
      return res.body.status === 'seen' ? res.body : undefined;
    }, 'the v3 message to be seen');
    const v3Before = { applied: await billingCount('v3', 'applied'), ignored: await billingCount('v3', 'ignored') };
    const v3Billing = callbackFixtureBody('v3-billing-event') as { entry: { changes: { value: { billing: { references: { gsId: string } } } }[] }[] };
    v3Billing.entry[0].changes[0].value.billing.references.gsId = v3Shown.providerMessageId;
    await postCallback(t, v3Tenant, v3Billing);
    await eventually(async () => ((await billingCount('v3', 'applied')) === v3Before.applied + 1 ? true : undefined), 'the v3 billing-event counted as applied');
    expect(await billingCount('v3', 'ignored')).toBe(v3Before.ignored);
  });
});
