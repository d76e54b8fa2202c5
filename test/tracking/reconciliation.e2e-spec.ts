import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { appendNewStreams } from '../../src/event-store';
import { WhatsAppMessageSent } from '../../src/whatsapp/domain';
import { GupshupCallbackReceived, rawCallbackStreamId } from '../../src/whatsapp/tracking/receiving/gupshup-callback-received.event';
import { DispatchJobs, LeaseExpiry, OutcomeUnknownResolver } from '../../src/whatsapp/sending';
import type { ProviderStatus } from '../../src/whatsapp/gupshup/callback-parser';
import { buildCallbackBody, type CallbackMessageContext } from '../../tools/simulator/callback-payloads';
import type { TestApp } from '../support/test-app';
import {
  catchUp,
  createTenant,
  deliveryEvents,
  messageView,
  metricValue,
  parkedRows,
  postCallback,
  startTrackingApp,
  streamEvents,
  type TestMessage,
  type TrackingTenant,
} from './tracking-kit';

let phoneSequence = 0;

/** A phone number no other test of this file uses. */
function newPhone(): string {
  phoneSequence += 1;
  return `+9198${String(Date.now() % 1e6).padStart(6, '0')}${String(phoneSequence).padStart(2, '0')}`;
}

/** An app with gupshup_whatsapp enabled; nothing is sent (no dispatch workers run). */
async function sendingTenant(t: TestApp): Promise<TrackingTenant> {
  const tenant = await createTenant(t);
  await request(t.url)
    .put('/v3/channels/whatsapp/providers/gupshup_whatsapp')
    .set(tenant.headers)
    .send({ enabled: true, config: { API_KEY: 'gupshup-key-never-called-1a2b', SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } })
    .expect(200);
  return tenant;
}

let userSequence = 0;

/**
 * A message sent through POST /v3/notifications whose dispatch lost its answer, as the sending side
 * records it: its worker claimed it at `startedAt` and stopped; the lease ran out and the dispatcher
 * parked it as outcome_unknown with a WhatsAppDispatchOutcomeUnknown.
 */
async function lostDispatch(t: TestApp, tenant: TrackingTenant, phoneNumber: string, startedAt: Date): Promise<TestMessage> {
  userSequence += 1;
  const user = `lost-${userSequence}`;
  await request(t.url).put(`/v3/users/${user}`).set(tenant.headers).send({ phoneNumber }).expect(200);
  // Scheduled an hour ahead, so that it is only ever "claimed" by the update below.
  const sendAt = new Date(Date.now() + 3600_000).toISOString();
  const res = await request(t.url).post('/v3/notifications').set(tenant.headers).send({ notification: { title: 'Lost' }, sendTo: { recipients: [user] }, sendAt }).expect(202);
  const messageId: string = res.body.messages[0].messageId;
  await t.db.query(
    `UPDATE whatsapp_dispatch_jobs SET state = 'in_flight', lease_token = gen_random_uuid(), locked_until = now() - interval '1 second',
            attempt_started_at = $2 WHERE message_id = $1`,
    [messageId, startedAt],
  );
  await t.app.get(LeaseExpiry).expireAll();
  expect((await t.app.get(DispatchJobs).find(messageId))?.state).toBe('outcome_unknown');
  return { appId: tenant.id, messageId, phoneNumber };
}

async function jobState(t: TestApp, messageId: string) {
  return (await t.app.get(DispatchJobs).find(messageId))?.state;
}

function callbackFor(message: TestMessage, gupshupId: string, status: ProviderStatus, occurredAtMs: number) {
  const ctx: CallbackMessageContext = {
    gupshupMessageId: gupshupId,
    whatsappMessageId: `wamid.${gupshupId}`,
    destination: message.phoneNumber.slice(1),
    appName: 'DemoAPI',
    appSource: '917834811114',
    appId: 'gupshup-app-1',
    kind: 'session',
  };
  return buildCallbackBody('v2', ctx, { status, occurredAtMs, omitGsId: false, v3FailedStyle: 'errors' });
}

async function sentEvents(t: TestApp, messageId: string): Promise<WhatsAppMessageSent[]> {
  return (await streamEvents(t, messageId)).filter((event): event is WhatsAppMessageSent => event instanceof WhatsAppMessageSent);
}

describe('reconciling a send whose answer was lost, from its callbacks', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTrackingApp()));
  afterAll(() => t.close());

  it('an enqueued callback for an unknown Gupshup id to the phone of a lost dispatch settles it as sent and is applied', async () => {
    const tenant = await sendingTenant(t);
    const startedAt = new Date(Date.now() - 10_000);
    const message = await lostDispatch(t, tenant, newPhone(), startedAt);
    await catchUp(t);
    const reconciledBefore = await metricValue(t, 'whatsapp_dispatches_reconciled_total');

    const gupshupId = randomUUID();
    await postCallback(t, tenant.apiKey, callbackFor(message, gupshupId, 'enqueued', startedAt.getTime() + 3000)).expect(200);
    expect((await sentEvents(t, message.messageId)).map((event) => event.data)).toEqual([
      { appId: tenant.id, messageId: message.messageId, providerMessageId: gupshupId, attempt: 1, sentAt: startedAt.toISOString() },
    ]);
    // The job table follows the WhatsAppMessageSent the translator recorded.
    await catchUp(t);
    expect(await jobState(t, message.messageId)).toBe('sent');
    expect(await parkedRows(t, tenant.id)).toEqual([]);
    expect(await metricValue(t, 'whatsapp_dispatches_reconciled_total')).toBe(reconciledBefore + 1);

    // Later callbacks find the message by that id like any other, and the public view shows it.
    await postCallback(t, tenant.apiKey, callbackFor(message, gupshupId, 'delivered', startedAt.getTime() + 8000)).expect(200);
    await catchUp(t);
    expect(await messageView(t, message.messageId)).toMatchObject({ status: 'delivered', providerMessageId: gupshupId });
    const shown = await request(t.url).get(`/v3/messages/${message.messageId}`).set(tenant.headers).expect(200);
    expect(shown.body).toMatchObject({ status: 'delivered', providerMessageId: gupshupId });
    expect(await sentEvents(t, message.messageId)).toHaveLength(1);
  });

  it('settles nothing once an operator has sent the message again: the report is of a call that is no longer the message\'s', async () => {
    const tenant = await sendingTenant(t);
    const startedAt = new Date(Date.now() - 10_000);
    const message = await lostDispatch(t, tenant, newPhone(), startedAt);
    await catchUp(t);
    expect(await t.app.get(OutcomeUnknownResolver).resend(message.messageId)).toBe(true);

    await postCallback(t, tenant.apiKey, callbackFor(message, randomUUID(), 'enqueued', startedAt.getTime() + 3000)).expect(200);
    await catchUp(t);
    expect(await sentEvents(t, message.messageId)).toEqual([]);
    expect(await jobState(t, message.messageId)).toBe('pending');
  });

  it('callbacks parked before the lost dispatch was recorded are reconciled when it is', async () => {
    const tenant = await sendingTenant(t);
    const phoneNumber = newPhone();
    const startedAt = new Date(Date.now() - 5_000);
    const gupshupId = randomUUID();
    const early: TestMessage = { appId: tenant.id, messageId: 'not-known-yet', phoneNumber };
    await postCallback(t, tenant.apiKey, callbackFor(early, gupshupId, 'enqueued', startedAt.getTime() + 1000)).expect(200);
    await postCallback(t, tenant.apiKey, callbackFor(early, gupshupId, 'sent', startedAt.getTime() + 2000)).expect(200);
    expect(await parkedRows(t, tenant.id)).toHaveLength(2);

    const message = await lostDispatch(t, tenant, phoneNumber, startedAt);
    await catchUp(t);
    expect(await parkedRows(t, tenant.id)).toEqual([]);
    expect((await sentEvents(t, message.messageId)).map((event) => event.data.providerMessageId)).toEqual([gupshupId]);
    expect((await deliveryEvents(t, message.messageId)).map((event) => event.data.providerStatus)).toEqual(['enqueued', 'sent']);
    expect(await jobState(t, message.messageId)).toBe('sent');
  });

  it('does not guess: two lost dispatches to one phone leave the callback parked', async () => {
    const tenant = await sendingTenant(t);
    const phoneNumber = newPhone();
    const startedAt = new Date(Date.now() - 5_000);
    const first = await lostDispatch(t, tenant, phoneNumber, startedAt);
    const second = await lostDispatch(t, tenant, phoneNumber, startedAt);
    await catchUp(t);
    await postCallback(t, tenant.apiKey, callbackFor(first, randomUUID(), 'enqueued', startedAt.getTime() + 1000)).expect(200);
    expect(await sentEvents(t, first.messageId)).toEqual([]);
    expect(await sentEvents(t, second.messageId)).toEqual([]);
    expect(await parkedRows(t, tenant.id)).toEqual([expect.objectContaining({ state: 'waiting', provider_status: 'enqueued' })]);
    expect(await jobState(t, first.messageId)).toBe('outcome_unknown');
  });

  it('does not guess: two unknown Gupshup ids for the phone of one lost dispatch leave both parked', async () => {
    const tenant = await sendingTenant(t);
    const phoneNumber = newPhone();
    const startedAt = new Date(Date.now() - 5_000);
    const early: TestMessage = { appId: tenant.id, messageId: 'not-known-yet', phoneNumber };
    await postCallback(t, tenant.apiKey, callbackFor(early, randomUUID(), 'enqueued', startedAt.getTime() + 1000)).expect(200);
    await postCallback(t, tenant.apiKey, callbackFor(early, randomUUID(), 'enqueued', startedAt.getTime() + 1500)).expect(200);
    const message = await lostDispatch(t, tenant, phoneNumber, startedAt);
    await catchUp(t);
    expect(await sentEvents(t, message.messageId)).toEqual([]);
    expect(await parkedRows(t, tenant.id)).toHaveLength(2);
  });

  it('takes only authenticated callbacks as evidence: an unauthenticated enqueued for the phone stays parked', async () => {
    const tenant = await sendingTenant(t);
    const startedAt = new Date(Date.now() - 10_000);
    const message = await lostDispatch(t, tenant, newPhone(), startedAt);
    await catchUp(t);
    // As the webhook records a callback that did not prove it comes from Gupshup.
    const eventId = randomUUID();
    const data = { appId: tenant.id, receivedAt: new Date().toISOString(), authenticated: false, body: callbackFor(message, randomUUID(), 'enqueued', startedAt.getTime() + 3000) };
    await appendNewStreams(t.db, GupshupCallbackReceived, [{ streamId: rawCallbackStreamId(eventId), eventId, dataJson: JSON.stringify(data) }]);
    await catchUp(t);
    expect(await sentEvents(t, message.messageId)).toEqual([]);
    expect(await jobState(t, message.messageId)).toBe('outcome_unknown');
    expect(await parkedRows(t, tenant.id)).toEqual([expect.objectContaining({ state: 'waiting', provider_status: 'enqueued' })]);

    // The same report, authenticated, settles it.
    await postCallback(t, tenant.apiKey, callbackFor(message, randomUUID(), 'enqueued', startedAt.getTime() + 4000)).expect(200);
    await catchUp(t);
    expect(await sentEvents(t, message.messageId)).toHaveLength(1);
    expect(await jobState(t, message.messageId)).toBe('sent');
  });

  it('does not cross apps, nor take callbacks from long after the attempt', async () => {
    const a = await sendingTenant(t);
    const b = await createTenant(t);
    const startedAt = new Date(Date.now() - 5_000);
    const message = await lostDispatch(t, a, newPhone(), startedAt);
    await catchUp(t);
    await postCallback(t, b.apiKey, callbackFor(message, randomUUID(), 'enqueued', startedAt.getTime() + 1000)).expect(200);
    await postCallback(t, a.apiKey, callbackFor(message, randomUUID(), 'enqueued', startedAt.getTime() + 2 * 60 * 60 * 1000)).expect(200);
    expect(await sentEvents(t, message.messageId)).toEqual([]);
    expect(await parkedRows(t, b.id)).toHaveLength(1);
    expect(await parkedRows(t, a.id)).toHaveLength(1);
  });
});
