import request from 'supertest';
import { buildCallbackBody } from '../../tools/simulator/callback-payloads';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import type { ProviderStatus } from '../../src/whatsapp/gupshup/callback-parser';
import { captureLog } from '../support/captured-log';
import type { TestApp } from '../support/test-app';
import { callbackContextOf, createTenantWithCallbacks, eventually, job, postNotification, putUser, requestsTo, startSendingApp, startSimulator, type TestTenant } from './sending-test-kit';

interface ShownMessage {
  status: string;
  providerMessageId: string;
  timeline: { status: string; providerStatus?: string; code?: string }[];
}

/**
 * Gupshup gives no order: a `failed` callback dated after the message's receipt may arrive before
 * it. The receipt, when it comes, overtakes what the failure did: a resend not yet made is
 * withdrawn, and a line says so. The resend is due ten minutes after the failure here, so that it
 * is still waiting when the receipt arrives.
 */
describe('a receipt that arrives after the failed callback it overtakes', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  const log = captureLog();
  let phoneSuffix = 10;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator, {
      env: { DISPATCH_BACKOFF_MS: '600000', SUBSCRIPTIONS_ENABLED: 'true', SUBSCRIPTION_POLL_MS: '20', LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      logDestination: log.stream,
    });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  /** A message Gupshup accepted and reported `sent`, nothing more yet; its tenant, id and number. */
  async function sentMessage(identifier: string): Promise<{ tenant: TestTenant; messageId: string; destination: string; shown: ShownMessage }> {
    const tenant = await createTenantWithCallbacks(t, simulator);
    phoneSuffix += 1;
    const destination = `91997766${phoneSuffix}1`;
    simulator.setFate(destination, { final: 'sent' });
    await putUser(t, tenant, identifier, { phoneNumber: `+${destination}` });
    const res = await postNotification(t, tenant, { notification: { title: 'Your order shipped' }, sendTo: { recipients: [identifier] } }).expect(202);
    const messageId = res.body.messages[0].messageId as string;
    const shown = await shownWhen(tenant, messageId, (m) => m.status === 'sent' && m.timeline.some((entry) => entry.providerStatus === 'sent'), 'the message to be sent');
    return { tenant, messageId, destination, shown };
  }

  function shownWhen(tenant: TestTenant, messageId: string, ready: (shown: ShownMessage) => boolean, what: string): Promise<ShownMessage> {
    return eventually(async () => {
      const res = await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers);
      return res.status === 200 && ready(res.body as ShownMessage) ? (res.body as ShownMessage) : undefined;
    }, what);
  }

  /** Posts a v2 callback (GUPSHUP.md §2.3) about the message to the tenant's callback URL, as Gupshup does. */
  async function postV2(tenant: TestTenant, gupshupMessageId: string, status: ProviderStatus, occurredAtMs: number, failure?: { code: number; reason: string }) {
    const context = callbackContextOf(simulator, gupshupMessageId);
    const body = buildCallbackBody('v2', context, { status, occurredAtMs, omitGsId: false, v3FailedStyle: 'errors', ...(failure && { failure: { ...failure, stage: 'async' as const } }) });
    await request(t.url).post(tenant.callbackPath).send(body).expect(200);
  }

  const overtakenLine = (messageId: string) =>
    eventually(() => log.lines().find((line) => line.messageId === messageId && line.action === 'overtaken'), `the overtaken line of ${messageId}`);

  it('withdraws the resend a passing failure scheduled when an earlier-dated delivered receipt arrives after it', async () => {
    const { tenant, messageId, destination, shown } = await sentMessage('throttled-then-delivered');
    const deliveredAt = Date.now();
    await postV2(tenant, shown.providerMessageId, 'failed', deliveredAt + 5000, { code: 130429, reason: 'Rate limit hit' });
    await shownWhen(tenant, messageId, (m) => m.timeline.some((entry) => entry.providerStatus === 'failed' && entry.status === 'queued'), 'the failure to send the message back');
    expect((await job(t, messageId))?.state).toBe('pending');

    await postV2(tenant, shown.providerMessageId, 'delivered', deliveredAt);
    await shownWhen(tenant, messageId, (m) => m.status === 'delivered', 'the message to be delivered');
    // Withdrawn in the transaction that recorded the receipt: never claimed again.
    expect((await job(t, messageId))?.state).toBe('sent');
    expect(await overtakenLine(messageId)).toMatchObject({
      appId: tenant.appId,
      code: '130429',
      resendWithdrawn: true,
      message: 'the resend after failed callback 130429 was overtaken by an earlier-dated delivered receipt: its resend is withdrawn, not sent',
    });
    expect(requestsTo(simulator, destination)).toHaveLength(1);
    expect(log.lines().filter((line) => line.messageId === messageId && line.action === 'overtaken')).toHaveLength(1);
  });

  it('says so when an earlier-dated receipt arrives after a permanent failure had discarded the message', async () => {
    const { tenant, messageId, shown } = await sentMessage('undeliverable-then-read');
    const readAt = Date.now();
    await postV2(tenant, shown.providerMessageId, 'failed', readAt + 5000, { code: 131026, reason: 'Message undeliverable' });
    await shownWhen(tenant, messageId, (m) => m.status === 'discarded', 'the failure to discard the message');

    await postV2(tenant, shown.providerMessageId, 'read', readAt);
    await shownWhen(tenant, messageId, (m) => m.status === 'seen', 'the message to be seen');
    expect(await overtakenLine(messageId)).toMatchObject({
      code: '131026',
      resendWithdrawn: false,
      message: 'the discard after failed callback 131026 was overtaken by an earlier-dated read receipt: the message is not discarded',
    });
    // The discard counted stays (counters only rise); beside it, the contradiction is counted.
    const metrics = (await request(t.url).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^whatsapp_dispatch_outcomes_total\{outcome="discarded",code="callback_131026"\} 1$/m);
    expect(metrics).toMatch(/^whatsapp_dispatch_outcomes_total\{outcome="overtaken",code="callback_131026"\} 1$/m);
  });
});
