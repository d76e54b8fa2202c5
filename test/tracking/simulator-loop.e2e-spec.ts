import request from 'supertest';
import { createGupshupSimulator, type GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { GIVE_UP_AFTER_MS } from '../support/eventually';
import type { TestApp } from '../support/test-app';
import { createTenant, eventually, startTrackingApp, webhookPath, type TrackingTenant } from './tracking-kit';

const SOURCE = '917834811114';
const SRC_NAME = 'DemoAPI';

/**
 * The whole loop with Gupshup played by the project's simulator: POST /v3/notifications, the
 * dispatcher calls the simulator, the simulator posts its callbacks (shuffled, twice each, some
 * before the send answer, some without gsId) to the webhook, and GET /v3/messages shows the outcome.
 */
describe.each(['v2', 'v3'] as const)('send, then track through the simulator’s %s callbacks', (format) => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TrackingTenant;

  beforeAll(async () => {
    // Callbacks are posted once each, and waited for as long as the service takes on a busy machine.
    simulator = createGupshupSimulator({ reorder: true, duplicates: true, eventTimeStepMs: 1000, callbackRetries: 0, callbackTimeoutMs: 60_000 });
    await simulator.listen();
    t = await startTrackingApp({
      env: {
        SUBSCRIPTIONS_ENABLED: 'true',
        SUBSCRIPTION_POLL_MS: '20',
        DISPATCH_WORKERS: '2',
        DISPATCH_POLL_MS: '20',
        GUPSHUP_RATE_LIMIT: '0',
        // The simulator answers some sends only once their callbacks are in: on a busy machine that
        // may take a while, and a timeout would send the message twice.
        GUPSHUP_TIMEOUT_MS: '30000',
        GUPSHUP_API_BASE_URL: simulator.baseUrl!,
      },
    });
    tenant = await createTenant(t);
    const gupshupKey = `gupshup-key-${format}-1a2b`;
    simulator.registerApp(gupshupKey, { source: SOURCE, srcName: SRC_NAME, callbackUrl: `${t.url}${webhookPath(tenant.apiKey)}`, callbackFormat: format });
    await request(t.url)
      .put('/v3/channels/whatsapp/providers/gupshup_whatsapp')
      .set(tenant.headers)
      .send({ enabled: true, config: { API_KEY: gupshupKey, SOURCE, SRC_NAME } })
      .expect(200);
  });
  afterAll(async () => {
    await simulator?.close();
    await t?.close();
  });

  it('ends every message at the status its callbacks tell', async () => {
    // The simulator decides by the last digit: 1 read, 6 delivered, 8 sent only, 9 failed (1002).
    const users = [
      { id: 'reads', phone: '+919900000011', expected: 'seen' },
      { id: 'delivers', phone: '+919900000016', expected: 'delivered' },
      { id: 'only-sent', phone: '+919900000018', expected: 'sent' },
      { id: 'fails', phone: '+919900000019', expected: 'discarded' },
      { id: 'early', phone: '+919900000021', expected: 'seen' },
      { id: 'late', phone: '+919900000031', expected: 'seen' },
    ];
    // Callbacks before Gupshup's answer to the send; receipts without gsId a week later.
    simulator.setFate('919900000021', { final: 'read', callbackBeforeResponse: true });
    simulator.setFate('919900000031', { final: 'read', omitGsId: true });
    for (const user of users) {
      await request(t.url).put(`/v3/users/${user.id}`).set(tenant.headers).send({ phoneNumber: user.phone }).expect(200);
    }
    const sent = await request(t.url)
      .post('/v3/notifications')
      .set(tenant.headers)
      .send({ notification: { title: 'Order shipped', message: 'Track it' }, sendTo: { recipients: users.map((user) => user.id) } })
      .expect(202);
    const messageIds = new Map<string, string>(sent.body.messages.map((m: { recipient: string; messageId: string }) => [m.recipient, m.messageId]));

    await simulator.waitForMessages(users.length, GIVE_UP_AFTER_MS);
    await simulator.waitForIdle(GIVE_UP_AFTER_MS);
    expect(simulator.messages().flatMap((m) => m.callbacks).filter((c) => c.state !== 'delivered')).toEqual([]);

    for (const user of users) {
      const messageId = messageIds.get(user.id)!;
      const simulated = simulator.messages().find((m) => m.destination === user.phone.slice(1))!;
      const simulatedStatuses = JSON.stringify([...new Set(simulated.callbacks.map((c) => c.event))].sort());
      const providerStatusesOf = (view: { timeline: { providerStatus?: string }[] }) =>
        JSON.stringify(view.timeline.flatMap((entry) => (entry.providerStatus ? [entry.providerStatus] : [])).sort());
      // The status can be reached before every callback is in the view (an early one may be parked).
      const shown = await eventually(
        async () => {
          const res = await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers);
          return res.status === 200 && res.body.status === user.expected && providerStatusesOf(res.body) === simulatedStatuses ? res.body : undefined;
        },
        `${user.id} to be ${user.expected} with every callback in its timeline`,
      );
      expect(shown.providerMessageId).toBe(simulated.messageId);
      expect(providerStatusesOf(shown)).toBe(simulatedStatuses);
      if (user.expected === 'discarded') expect(shown.discardReason).toEqual({ code: '1002', reason: 'Number Does Not Exist On WhatsApp' });
    }
  });
});
