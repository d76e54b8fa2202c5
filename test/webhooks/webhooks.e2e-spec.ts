import request from 'supertest';
import { SubscriptionManager } from '../../src/event-store';
import { STATUS_CHANGE_SUBSCRIPTION } from '../../src/webhooks/status-changes/status-change.subscription';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { createTenant, eventTypes, eventually, putUser, startSendingApp, startSimulator, type TestTenant } from '../sending/sending-test-kit';
import type { TestApp } from '../support/test-app';
import { createEndpoint, deliveriesOf, gate, verifies, WebhookReceiver } from './webhook-kit';

/**
 * Status webhooks end to end: messages sent through the service to the Gupshup simulator, whose
 * callbacks raise their statuses, and a customer's system on loopback receiving the deliveries.
 */
describe('status webhooks', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let receiver: WebhookReceiver;
  let tenants = 0;

  beforeAll(async () => {
    simulator = await startSimulator();
    receiver = new WebhookReceiver();
    await receiver.listen();
    t = await startSendingApp(simulator, {
      env: {
        WEBHOOK_OUT_ALLOW_PRIVATE: 'true',
        WEBHOOK_OUT_BACKOFF_MS: '50',
        WEBHOOK_OUT_MAX_BACKOFF_MS: '200',
        WEBHOOK_OUT_POLL_MS: '20',
        // Longer than any wait here, even on a loaded machine: a held answer must not time out and be
        // retried while the slow-endpoint test counts the requests it holds open.
        WEBHOOK_OUT_TIMEOUT_MS: '600000',
        WEBHOOK_OUT_ENDPOINT_CONCURRENCY: '8',
        // A delivery failing for 20 s is given up; an endpoint failing for 30 s is disabled.
        WEBHOOK_OUT_RETRY_HOURS: String(20 / 3600),
        WEBHOOK_OUT_DISABLE_AFTER_HOURS: String(30 / 3600),
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    await simulator?.close();
  });

  /** An app whose Gupshup (the simulator) posts its callbacks back to the service, in order. */
  async function tenant(): Promise<TestTenant> {
    const created = await createTenant(t, simulator);
    simulator.registerApp(created.gupshupApiKey, { source: '917834811114', srcName: 'DemoAPI', callbackUrl: `${t.url}${created.callbackPath}` });
    tenants++;
    return created;
  }

  /** An endpoint's in-flight counter, and its deliveries in flight counted. */
  async function inFlightCount(endpointId: string): Promise<{ counter: number; rows: number }> {
    const [row] = await t.db.query<{ counter: number; rows: number }>(
      `SELECT e.in_flight AS counter, (SELECT count(*)::int FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'in_flight') AS rows
         FROM webhook_endpoints e WHERE e.id = $1`,
      [endpointId],
    );
    return row;
  }

  async function send(app: TestTenant, phoneNumber: string, category?: string): Promise<string> {
    const user = `user-${tenants}-${phoneNumber.slice(-4)}`;
    await putUser(t, app, user, { phoneNumber });
    const res = await request(t.url)
      .post('/v3/notifications')
      .set(app.headers)
      .send({ notification: { title: 'Order shipped', message: 'Track it' }, sendTo: { recipients: [user] }, ...(category ? { category } : {}) })
      .expect(202);
    return (res.body as { messages: { messageId: string }[] }).messages[0].messageId;
  }

  it('creates, lists, changes and deletes endpoints; the secret is shown only on creation and rotation', async () => {
    const app = await tenant();
    const created = await createEndpoint(t, app.headers, { url: `${receiver.url}/crud`, events: ['message.delivered'], description: 'CRM' });
    expect(created).toMatchObject({ url: `${receiver.url}/crud`, events: ['message.delivered'], description: 'CRM', enabled: true });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);

    const listed = await request(t.url).get('/v3/webhooks').set(app.headers).expect(200);
    expect(listed.body.data).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain(created.secret.slice(6));
    const one = await request(t.url).get(`/v3/webhooks/${created.id}`).set(app.headers).expect(200);
    expect(one.body.secret).toBeUndefined();

    const patched = await request(t.url).patch(`/v3/webhooks/${created.id}`).set(app.headers).send({ events: [], enabled: false }).expect(200);
    expect(patched.body).toMatchObject({ events: [], enabled: false });

    expect(created.previousSecretExpiresAt).toBeNull();
    const rotated = await request(t.url).post(`/v3/webhooks/${created.id}/rotate-secret`).set(app.headers).expect(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    // The replaced secret signs beside the new one for WEBHOOK_OUT_SECRET_GRACE_HOURS (24), and the endpoint says until when.
    const hoursLeft = (Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()) / 3_600_000;
    expect(hoursLeft).toBeGreaterThan(23);
    expect(hoursLeft).toBeLessThanOrEqual(24.1);
    expect((await request(t.url).get(`/v3/webhooks/${created.id}`).set(app.headers).expect(200)).body.previousSecretExpiresAt).toBe(rotated.body.previousSecretExpiresAt);

    // Another app sees none of it.
    const other = await tenant();
    await request(t.url).get(`/v3/webhooks/${created.id}`).set(other.headers).expect(404);
    await request(t.url).delete(`/v3/webhooks/${created.id}`).set(other.headers).expect(404);

    await request(t.url).delete(`/v3/webhooks/${created.id}`).set(app.headers).expect(204);
    await request(t.url).get(`/v3/webhooks/${created.id}`).set(app.headers).expect(404);
  });

  it('moves updatedAt on a PATCH that changes a field, and leaves it on one that changes nothing', async () => {
    const app = await tenant();
    const created = await createEndpoint(t, app.headers, { url: `${receiver.url}/touched`, events: ['message.seen'], description: 'CRM' });
    const patch = (body: object) => request(t.url).patch(`/v3/webhooks/${created.id}`).set(app.headers).send(body).expect(200);
    const stored = (await request(t.url).get(`/v3/webhooks/${created.id}`).set(app.headers).expect(200)).body as { updatedAt: string };

    // Nothing sent, or every field sent as it already is: the endpoint answered unchanged.
    for (const body of [{}, { url: `${receiver.url}/touched`, events: ['message.seen'], description: 'CRM', enabled: true }]) {
      expect((await patch(body)).body).toEqual(stored);
    }
    expect((await request(t.url).get(`/v3/webhooks/${created.id}`).set(app.headers).expect(200)).body).toEqual(stored);

    const changed = (await patch({ description: 'Billing' })).body as { description: string; updatedAt: string };
    expect(changed.description).toBe('Billing');
    expect(Date.parse(changed.updatedAt)).toBeGreaterThan(Date.parse(stored.updatedAt));
    const disabled = (await patch({ enabled: false })).body as { enabled: boolean; updatedAt: string };
    expect(disabled.enabled).toBe(false);
    expect(Date.parse(disabled.updatedAt)).toBeGreaterThan(Date.parse(changed.updatedAt));
  });

  it('takes events null as every type, and description null as none, on a POST as on a PATCH', async () => {
    const app = await tenant();
    const created = await request(t.url).post('/v3/webhooks').set(app.headers).send({ url: `${receiver.url}/nulls`, events: null, description: null }).expect(201);
    expect(created.body).toMatchObject({ events: [], description: null });
    const patched = await request(t.url).patch(`/v3/webhooks/${created.body.id}`).set(app.headers).send({ events: null, description: null }).expect(200);
    expect(patched.body).toMatchObject({ events: [], description: null });

    // Every type is delivered to it.
    const messageId = await send(app, '+919900000061');
    await eventually(() => (receiver.acknowledged('/nulls').some((each) => each.payload.type === 'message.seen' && each.payload.data.messageId === messageId) ? true : undefined), 'the status changes to be delivered');
    expect(new Set(receiver.acknowledged('/nulls').map((each) => each.payload.type))).toEqual(new Set(['message.queued', 'message.sent', 'message.delivered', 'message.seen']));
  });

  it('answers bad input with a 400 naming the field', async () => {
    const app = await tenant();
    const cases: [unknown, RegExp][] = [
      [{}, /url/],
      [{ url: 'not a url' }, /url.*https:\/\//],
      [{ url: 'ftp://example.com/x' }, /url/],
      [{ url: 'https://example.com/x', events: ['message.read'] }, /events.*message\.queued/],
      [{ url: 'https://example.com/x', extra: 1 }, /extra/],
    ];
    for (const [body, message] of cases) {
      const res = await request(t.url).post('/v3/webhooks').set(app.headers).send(body as object).expect(400);
      expect(res.body.message).toMatch(message);
    }
    await request(t.url).get('/v3/webhooks/not-a-uuid').set(app.headers).expect(400);
    const listed = await request(t.url).get('/v3/webhooks').set(app.headers).expect(200);
    expect(listed.body.data).toEqual([]);
  });

  it('refuses a deliveries filter by messageId that is no message id (a UUID) with a 400 saying what to pass', async () => {
    const app = await tenant();
    const endpoint = await createEndpoint(t, app.headers, { url: `${receiver.url}/filtered` });
    const deliveries = (query: Record<string, string>) => request(t.url).get(`/v3/webhooks/${endpoint.id}/deliveries`).query(query).set(app.headers);
    const expected = 'messageId must be a messageId (a UUID), as returned by POST /v3/notifications';
    for (const messageId of ['not-a-message-id', '6f1c1d8e-3b0a-4f5e-9c2d-1a2b3c4d5e6f7', ' 6f1c1d8e-3b0a-4f5e-9c2d-1a2b3c4d5e6f']) {
      const res = await deliveries({ messageId }).expect(400);
      expect(res.body.message).toBe(expected);
    }
    // Each problem once, beside the others.
    const both = await deliveries({ status: 'lost', messageId: 'x' }).expect(400);
    expect(both.body.message).toBe(`status must be one of pending, in_flight, delivered, failed; ${expected}`);
    // A well-formed id of no message of the app is no mistake: nothing is listed.
    expect((await deliveries({ messageId: '6f1c1d8e-3b0a-4f5e-9c2d-1a2b3c4d5e6f' }).expect(200)).body).toEqual({ data: [], nextCursor: null });
  });

  it('delivers queued → sent → delivered → seen, signed, in order while an earlier delivery is retried; a non-rising callback adds nothing', async () => {
    const app = await tenant();
    const endpoint = await createEndpoint(t, app.headers, { url: `${receiver.url}/ordered` });
    // The first attempt of the first delivery fails: everything after it must wait for its retry.
    receiver.on('/ordered', (received, nth) => ({ status: received.payload.type === 'message.queued' && nth === 1 ? 503 : 200 }));

    const messageId = await send(app, '+919900000041', 'shipping'); // ends in 1: the simulator reports it read
    const acknowledged = await eventually(() => {
      const list = receiver.acknowledged('/ordered').filter((each) => each.payload.data.messageId === messageId);
      return list.length >= 4 ? list : undefined;
    }, 'the four status changes to be acknowledged');

    expect(acknowledged.map((each) => each.payload.type)).toEqual(['message.queued', 'message.sent', 'message.delivered', 'message.seen']);
    expect(acknowledged.map((each) => each.payload.data.previousStatus)).toEqual([null, 'queued', 'sent', 'delivered']);
    for (const each of acknowledged) expect(verifies(endpoint.secret, each)).toBe(true);
    expect(verifies(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, acknowledged[0])).toBe(false);
    expect(acknowledged[3].payload.data).toMatchObject({
      messageId,
      status: 'seen',
      phoneNumber: '+919900000041',
      providerMessageId: expect.any(String),
      category: 'shipping',
      template: null,
    });

    // The retried delivery kept its webhook-id, and its attempts are listed.
    const queuedAttempts = receiver.at('/ordered').filter((each) => each.payload.type === 'message.queued' && each.payload.data.messageId === messageId);
    expect(queuedAttempts.map((each) => each.answeredWith)).toEqual([503, 200]);
    expect(new Set(queuedAttempts.map((each) => each.headers['webhook-id'])).size).toBe(1);
    const listed = await deliveriesOf(t, app.headers, endpoint.id, { messageId });
    const queued = listed.find((each) => each.type === 'message.queued')!;
    expect(queued.status).toBe('delivered');
    expect(queued.attempts.map((attempt) => attempt.statusCode)).toEqual([503, 200]);

    // A late copy of `delivered` (another provider time, so a new event) does not raise `seen`.
    const delivered = simulator
      .messages()
      .flatMap((m) => m.callbacks)
      .find((c) => c.event === 'delivered' && JSON.stringify(c.body).includes(simulator.messages().find((m) => m.destination === '919900000041')!.messageId))!;
    const late = structuredClone(delivered.body) as { timestamp: number; payload: { payload: { ts: number } } };
    late.timestamp += 2000;
    late.payload.payload.ts += 2;
    const before = (await eventTypes(t, messageId)).length;
    await request(t.url).post(app.callbackPath).set('Content-Type', 'application/json').send(JSON.stringify(late)).expect(200);
    await eventually(async () => ((await eventTypes(t, messageId)).length > before ? true : undefined), 'the late callback to be recorded');
    await t.app.get(SubscriptionManager).runner(STATUS_CHANGE_SUBSCRIPTION).catchUp();
    expect(await deliveriesOf(t, app.headers, endpoint.id, { messageId })).toHaveLength(4);
  });

  it('after a rotation signs with the new and the previous secret, pending retries too, for WEBHOOK_OUT_SECRET_GRACE_HOURS (24); then with the new one only', async () => {
    const app = await tenant();
    const endpoint = await createEndpoint(t, app.headers, { url: `${receiver.url}/rotating` });
    // Refused until the new secret verifies: a retry signed before the rotation is never the one acknowledged.
    const current: { secret?: string } = {};
    receiver.on('/rotating', (received) => ({ status: current.secret && verifies(current.secret, received) ? 200 : 503 }));
    const testEvent = async () => (await request(t.url).post(`/v3/webhooks/${endpoint.id}/test`).set(app.headers).expect(202)).body.deliveryId as string;
    const acknowledged = (deliveryId: string) =>
      eventually(() => receiver.acknowledged('/rotating').find((each) => each.headers['webhook-id'] === deliveryId), 'the delivery to be acknowledged');

    const pending = await testEvent();
    const before = await eventually(() => receiver.at('/rotating').find((each) => each.headers['webhook-id'] === pending), 'a first attempt');
    expect(verifies(endpoint.secret, before)).toBe(true);
    expect(String(before.headers['webhook-signature']).split(' ')).toHaveLength(1);

    const rotated = (await request(t.url).post(`/v3/webhooks/${endpoint.id}/rotate-secret`).set(app.headers).expect(200)).body.secret as string;
    current.secret = rotated;
    // The retry of the delivery queued before the rotation, and one queued after it.
    for (const deliveryId of [pending, await testEvent()]) {
      const signed = await acknowledged(deliveryId);
      expect(String(signed.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verifies(rotated, signed)).toBe(true);
      expect(verifies(endpoint.secret, signed)).toBe(true);
    }
    expect(JSON.stringify((await request(t.url).get(`/v3/webhooks/${endpoint.id}`).set(app.headers).expect(200)).body)).not.toContain(endpoint.secret.slice(6));

    // The grace period over (on the database's clock, which decides it): the new secret alone.
    await t.db.query('UPDATE webhook_endpoints SET previous_secret_until = now() WHERE id = $1', [endpoint.id]);
    const after = await acknowledged(await testEvent());
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(rotated, after)).toBe(true);
    expect(verifies(endpoint.secret, after)).toBe(false);
    expect((await request(t.url).get(`/v3/webhooks/${endpoint.id}`).set(app.headers).expect(200)).body.previousSecretExpiresAt).toBeNull();
  });

  it('retries a failing endpoint with backoff, lists its attempts, gives up, disables it, and delivers again once fixed', async () => {
    const app = await tenant();
    const endpoint = await createEndpoint(t, app.headers, { url: `${receiver.url}/failing` });
    let healthy = false;
    receiver.on('/failing', () => ({ status: healthy ? 200 : 500 }));

    const test = await request(t.url).post(`/v3/webhooks/${endpoint.id}/test`).set(app.headers).expect(202);
    const deliveryId = test.body.deliveryId as string;
    const failed = await eventually(async () => {
      const [delivery] = (await deliveriesOf(t, app.headers, endpoint.id)).filter((each) => each.id === deliveryId);
      return delivery?.status === 'failed' ? delivery : undefined;
    }, 'the test delivery to be given up');
    expect(failed.attempts.length).toBeGreaterThanOrEqual(3);
    expect(failed.attempts.every((attempt) => attempt.statusCode === 500 && attempt.error?.startsWith('HTTP 500'))).toBe(true);
    // Backoff: the gaps between attempts grow (with jitter, each at least half its step).
    const times = failed.attempts.map((attempt) => Date.parse(attempt.at));
    expect(times[times.length - 1] - times[0]).toBeGreaterThanOrEqual(25 * (failed.attempts.length - 1));

    // No success past WEBHOOK_OUT_DISABLE_AFTER_HOURS, and nothing more to deliver: disabled all the same.
    const disabled = await eventually(async () => {
      const res = await request(t.url).get(`/v3/webhooks/${endpoint.id}`).set(app.headers).expect(200);
      return res.body.enabled ? undefined : (res.body as { disabledReason: string });
    }, 'the endpoint to be disabled');
    expect((await deliveriesOf(t, app.headers, endpoint.id)).map((each) => each.id)).toEqual([deliveryId]);
    expect(disabled.disabledReason).toMatch(/no successful delivery/);
    const metrics = await request(t.url).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/webhook_out_attempts_total\{outcome="retry",status_code="500"\} [1-9]/);
    expect(metrics.text).toMatch(/webhook_out_endpoints_disabled_total [1-9]/);

    // Fixed and enabled again: a manual retry of the failed delivery goes through.
    healthy = true;
    await request(t.url).patch(`/v3/webhooks/${endpoint.id}`).set(app.headers).send({ enabled: true }).expect(200);
    await request(t.url).post(`/v3/webhooks/${endpoint.id}/deliveries/${deliveryId}/retry`).set(app.headers).expect(202);
    await eventually(async () => {
      const [delivery] = (await deliveriesOf(t, app.headers, endpoint.id)).filter((each) => each.id === deliveryId);
      return delivery?.status === 'delivered' ? delivery : undefined;
    }, 'the retried delivery to go through');
    const tests = receiver.acknowledged('/failing').filter((each) => each.payload.type === 'webhook.test');
    expect(verifies(endpoint.secret, tests[0])).toBe(true);
  });

  it('gives each delivery its own WEBHOOK_OUT_RETRY_HOURS from its first attempt, however long it waited behind an earlier one', async () => {
    const app = await tenant();
    const endpoint = await createEndpoint(t, app.headers, { url: `${receiver.url}/held` });
    // message.queued fails until it is given up (20 s); message.sent, waiting behind it all that
    // time, fails 20 times (2 to 4 s of backoff) and then goes through.
    receiver.on('/held', (received, nth) => {
      if (received.payload.type === 'message.queued') return { status: 500 };
      return { status: received.payload.type === 'message.sent' && nth <= 20 ? 500 : 200 };
    });
    const messageId = await send(app, '+919900000062');
    const sent = await eventually(async () => {
      const found = (await deliveriesOf(t, app.headers, endpoint.id, { messageId })).find((each) => each.type === 'message.sent');
      return found && ['delivered', 'failed'].includes(found.status) ? found : undefined;
    }, 'the message.sent delivery to end');
    const queued = (await deliveriesOf(t, app.headers, endpoint.id, { messageId })).find((each) => each.type === 'message.queued')!;
    expect(queued.status).toBe('failed');
    expect(sent.status).toBe('delivered');
    expect(sent.attempts.map((attempt) => attempt.statusCode)).toEqual([...Array(20).fill(500), 200]);
    expect(Date.parse(sent.attempts[0].at)).toBeGreaterThanOrEqual(Date.parse(queued.attempts.at(-1)!.at));
  });

  it('does not let a slow endpoint delay another', async () => {
    const app = await tenant();
    const slow = await createEndpoint(t, app.headers, { url: `${receiver.url}/slow` });
    const fast = await createEndpoint(t, app.headers, { url: `${receiver.url}/fast` });
    const held = gate();
    receiver.on('/slow', () => ({ status: 200, hold: held.promise }));
    try {
      for (let i = 0; i < 40; i++) await request(t.url).post(`/v3/webhooks/${slow.id}/test`).set(app.headers).expect(202);
      await eventually(() => (receiver.at('/slow').length >= 1 ? true : undefined), 'the slow endpoint to be called');
      await request(t.url).post(`/v3/webhooks/${fast.id}/test`).set(app.headers).expect(202);
      // The fast endpoint's delivery arrives while the slow endpoint still holds its answers.
      await eventually(() => (receiver.acknowledged('/fast').length === 1 ? true : undefined), 'the fast endpoint to get its delivery');
      expect(receiver.acknowledged('/slow')).toHaveLength(0);
      // The slow endpoint never has more requests open than its concurrency limit, which its counter holds.
      expect(receiver.at('/slow').length).toBe(8);
      expect(await inFlightCount(slow.id)).toEqual({ counter: 8, rows: 8 });
    } finally {
      held.open();
    }
    await eventually(
      () => (new Set(receiver.acknowledged('/slow').map((each) => each.headers['webhook-id'])).size === 40 ? true : undefined),
      'the slow endpoint to get every delivery',
    );
    await eventually(async () => ((await inFlightCount(slow.id)).counter === 0 ? true : undefined), 'the last outcomes to be recorded');
    expect(await inFlightCount(slow.id)).toEqual({ counter: 0, rows: 0 });
  });

  it('replays every status change since a time, in order, as new deliveries', async () => {
    const app = await tenant();
    const endpoint = await createEndpoint(t, app.headers, { url: `${receiver.url}/replay`, events: ['message.sent', 'message.delivered'] });
    const from = new Date(Date.now() - 60_000).toISOString();
    const messageId = await send(app, '+919900000056'); // ends in 6: delivered
    const first = await eventually(() => {
      const list = receiver.acknowledged('/replay').filter((each) => each.payload.data.messageId === messageId);
      return list.length >= 2 ? list : undefined;
    }, 'sent and delivered');
    expect(first.map((each) => each.payload.type)).toEqual(['message.sent', 'message.delivered']);

    const res = await request(t.url).post(`/v3/webhooks/${endpoint.id}/replay`).set(app.headers).send({ from }).expect(202);
    expect(res.body).toEqual({ queued: 2 });
    const all = await eventually(() => {
      const list = receiver.acknowledged('/replay').filter((each) => each.payload.data.messageId === messageId);
      return list.length >= 4 ? list : undefined;
    }, 'the replayed deliveries');
    expect(all.map((each) => each.payload.type)).toEqual(['message.sent', 'message.delivered', 'message.sent', 'message.delivered']);
    expect(all[2].body).toBe(all[0].body);
    expect(all[2].headers['webhook-id']).not.toBe(all[0].headers['webhook-id']);

    await request(t.url).post(`/v3/webhooks/${endpoint.id}/replay`).set(app.headers).send({ from: 'yesterday' }).expect(400);
  });

  it("keeps a message's order when a replay queues its changes behind its live deliveries, still open", async () => {
    const app = await tenant();
    const endpoint = await createEndpoint(t, app.headers, { url: `${receiver.url}/interleaved` });
    // The message's first delivery fails until the replay is queued: everything else of the message waits behind it.
    let hold = true;
    receiver.on('/interleaved', (received) => ({ status: hold && received.payload.type === 'message.queued' ? 503 : 200 }));
    const from = new Date(Date.now() - 60_000).toISOString();
    const messageId = await send(app, '+919900000041'); // ends in 1: the simulator reports it read
    await eventually(async () => ((await deliveriesOf(t, app.headers, endpoint.id, { messageId })).length >= 4 ? true : undefined), 'the four live deliveries queued');

    // The replay's first delivery of the message is queued pending, behind the live ones; the
    // rest wait behind it. None may go before the one ahead of it closes.
    const res = await request(t.url).post(`/v3/webhooks/${endpoint.id}/replay`).set(app.headers).send({ from }).expect(202);
    expect(res.body).toEqual({ queued: 4 });
    hold = false;

    const all = await eventually(() => {
      const list = receiver.acknowledged('/interleaved').filter((each) => each.payload.data.messageId === messageId);
      return list.length >= 8 ? list : undefined;
    }, 'the live and the replayed deliveries');
    const lifecycle = ['message.queued', 'message.sent', 'message.delivered', 'message.seen'];
    expect(all.map((each) => each.payload.type)).toEqual([...lifecycle, ...lifecycle]);
    expect(new Set(all.map((each) => each.headers['webhook-id'])).size).toBe(8);
    // The last answers are recorded a round after they arrive.
    await eventually(async () => {
      const listed = await deliveriesOf(t, app.headers, endpoint.id, { messageId });
      return listed.length === 8 && listed.every((each) => each.status === 'delivered') ? true : undefined;
    }, 'all eight deliveries recorded delivered');
    expect(await inFlightCount(endpoint.id)).toEqual({ counter: 0, rows: 0 });
  });
});

describe('status webhooks: addresses', () => {
  let t: TestApp;
  let simulator: GupshupSimulator;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator, { env: { WEBHOOK_OUT_CONCURRENCY: '0' } });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('accepts only https on public addresses unless WEBHOOK_OUT_ALLOW_PRIVATE=true', async () => {
    const app = await createTenant(t, simulator);
    for (const url of ['http://example.com/hook', 'https://127.0.0.1/hook', 'https://10.1.2.3/hook', 'https://[::1]/hook', 'https://localhost/hook', 'https://169.254.169.254/latest', 'https://[::127.0.0.1]/x']) {
      const res = await request(t.url).post('/v3/webhooks').set(app.headers).send({ url }).expect(400);
      expect(res.body.message).toMatch(/^url must/);
    }
    // A name that does not resolve cannot be shown public: refused, saying so (.invalid never resolves).
    const unresolved = await request(t.url).post('/v3/webhooks').set(app.headers).send({ url: 'https://hooks.example.invalid/x' }).expect(400);
    expect(unresolved.body.message).toMatch(/^url's host must resolve: hooks\.example\.invalid could not be resolved \(\w+\); check the host name/);
    await createEndpoint(t, app.headers, { url: 'https://93.184.215.14/hook' });
  });
});
