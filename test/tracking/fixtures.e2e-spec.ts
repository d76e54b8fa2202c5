import request from 'supertest';
import { statusFromProviderStatus } from '../../src/whatsapp/domain';
import type { DeliveryReport } from '../../src/whatsapp/gupshup/callback-parser';
import { callbackFixtureBody, gupshupCallbackFixtureNames, gupshupCallbackFixtures, type GupshupCallbackFixtureName } from '../../test/fixtures/gupshup';
import type { TestApp } from '../support/test-app';
import { catchUp, createTenant, deliveryEvents, messageView, parkedRows, postCallback, queueMessage, startTrackingApp, type TestMessage } from './tracking-kit';

const deliveryFixtures = gupshupCallbackFixtureNames.filter((name) => gupshupCallbackFixtures[name].expected.kind === 'delivery');
const ignoredFixtures = gupshupCallbackFixtureNames.filter((name) => gupshupCallbackFixtures[name].expected.kind === 'ignored');

function reportsOf(name: GupshupCallbackFixtureName): DeliveryReport[] {
  const expected = gupshupCallbackFixtures[name].expected;
  return expected.kind === 'delivery' ? expected.reports : [];
}

/** A fixture whose report carries both this WhatsApp id and a Gupshup id: posting it first teaches the service the WhatsApp id. */
function fixtureTeaching(whatsappId: string): { name: GupshupCallbackFixtureName; gupshupId: string } {
  for (const name of deliveryFixtures) {
    const report = reportsOf(name).find((r) => r.whatsappMessageId === whatsappId && r.gupshupMessageId);
    if (report) return { name, gupshupId: report.gupshupMessageId! };
  }
  throw new Error(`no fixture carries WhatsApp id ${whatsappId} with a Gupshup id`);
}

describe('every Gupshup callback fixture, through the real webhook', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTrackingApp()));
  afterAll(() => t.close());

  it.each(deliveryFixtures)('%s: 200 with an empty body, and one DeliveryStatusChanged per report on the right message', async (name) => {
    const tenant = await createTenant(t);
    const messages = new Map<string, TestMessage>();
    const messageFor = async (gupshupId: string) => {
      if (!messages.has(gupshupId)) messages.set(gupshupId, await queueMessage(t, tenant.id, { gupshupId }));
      return messages.get(gupshupId)!;
    };
    const teachers: GupshupCallbackFixtureName[] = [];
    const targets: { report: DeliveryReport; message: TestMessage; gupshupId: string }[] = [];
    for (const report of reportsOf(name)) {
      if (report.gupshupMessageId) {
        targets.push({ report, message: await messageFor(report.gupshupMessageId), gupshupId: report.gupshupMessageId });
        continue;
      }
      // A receipt without gsId: its message is found by the WhatsApp id a companion callback taught.
      const teacher = fixtureTeaching(report.whatsappMessageId!);
      teachers.push(teacher.name);
      targets.push({ report, message: await messageFor(teacher.gupshupId), gupshupId: teacher.gupshupId });
    }
    await catchUp(t);
    for (const teacher of teachers) await postCallback(t, tenant.apiKey, callbackFixtureBody(teacher)).expect(200);

    const res = await postCallback(t, tenant.apiKey, callbackFixtureBody(name)).expect(200);
    expect(res.text).toBe('');

    for (const { report, message, gupshupId } of targets) {
      const events = await deliveryEvents(t, message.messageId);
      const matching = events.filter((event) => event.data.providerStatus === report.providerStatus && event.data.occurredAt === report.occurredAt.toISOString());
      expect(matching).toHaveLength(1);
      expect(matching[0].data).toEqual({
        appId: tenant.id,
        messageId: message.messageId,
        providerStatus: report.providerStatus,
        status: statusFromProviderStatus(report.providerStatus),
        providerMessageId: gupshupId,
        ...(report.whatsappMessageId && { whatsappMessageId: report.whatsappMessageId }),
        occurredAt: report.occurredAt.toISOString(),
        receivedAt: expect.any(String),
        ...(report.code && { code: report.code }),
        ...(report.reason && { reason: report.reason }),
        ...(report.pricing && { pricing: report.pricing }),
        format: report.format,
      });
      const view = await messageView(t, message.messageId);
      expect(view.timeline).toContainEqual(expect.objectContaining({ providerStatus: report.providerStatus, at: report.occurredAt.toISOString() }));
    }
    expect(await parkedRows(t, tenant.id)).toEqual([]);

    // The same through the public API, once the projection has caught up.
    await catchUp(t);
    for (const { message } of targets) {
      const expected = await messageView(t, message.messageId);
      const got = await request(t.url).get(`/v3/messages/${message.messageId}`).set(tenant.headers).expect(200);
      expect(got.body).toMatchObject({ messageId: message.messageId, status: expected.status, providerMessageId: expected.providerMessageId });
      expect(got.body.timeline).toHaveLength(expected.timeline.length);
    }
  });

  it.each(ignoredFixtures)('%s: 200 with an empty body, recorded as it came, and nothing derived from it', async (name) => {
    const tenant = await createTenant(t);
    const count = async () => {
      const [row] = await t.db.query<{ raw: number; derived: number }>(
        `SELECT count(*) FILTER (WHERE event_type = 'GupshupCallbackReceived')::int AS raw,
                count(*) FILTER (WHERE event_type <> 'GupshupCallbackReceived')::int AS derived FROM es_events`,
      );
      return row;
    };
    const before = await count();
    const res = await postCallback(t, tenant.apiKey, callbackFixtureBody(name)).expect(200);
    expect(res.text).toBe('');
    expect(await count()).toEqual({ raw: before.raw + 1, derived: before.derived });
    expect(await parkedRows(t, tenant.id)).toEqual([]);
  });

  it('one message told by several fixtures: enqueued, sent, then a read a week later without gsId, ends seen with every step in its timeline', async () => {
    const tenant = await createTenant(t);
    const message = await queueMessage(t, tenant.id, { gupshupId: '59f8db90-c37e-4408-90ab-cc54ef8246ad', phoneNumber: '+919985010102' });
    await catchUp(t);
    for (const name of ['v2-enqueued', 'v2-sent', 'v2-read-late-without-gsid'] as const) {
      await postCallback(t, tenant.apiKey, callbackFixtureBody(name)).expect(200);
    }
    const view = await messageView(t, message.messageId);
    expect(view).toMatchObject({
      status: 'seen',
      providerMessageId: '59f8db90-c37e-4408-90ab-cc54ef8246ad',
      whatsappMessageId: 'gBEGkYaYVSEEAgkD7bRi9syGnBk',
      seenAt: new Date(1711535398 * 1000).toISOString(),
      deliveredAt: null,
    });
    expect(view.timeline.filter((entry) => entry.providerStatus).map((entry) => entry.providerStatus)).toEqual(['enqueued', 'sent', 'read']);
  });
});
