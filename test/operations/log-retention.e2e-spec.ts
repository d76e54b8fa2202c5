import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { EventLogRetention, listLogPartitions, LogArchiveImport, type LogPartition } from '../../src/event-store';
import { ProjectionRebuilder } from '../../src/whatsapp/projections';
import { createGupshupSimulator, type GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { eventually, GIVE_UP_AFTER_MS } from '../support/eventually';
import type { TestApp } from '../support/test-app';
import { snapshotViews, waitForProjections } from '../projections/whatsapp-test-data';
import { createTenant, startTrackingApp, webhookPath, type TrackingTenant } from '../tracking/tracking-kit';

const SOURCE = '917834811114';
const DAY_MS = 24 * 60 * 60 * 1000;

async function eventsOfKind(t: TestApp, parent: string): Promise<number> {
  const [row] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${parent}`);
  return row.n;
}

/** The partition of `parent` that holds events written now. */
async function currentPartition(t: TestApp, parent: string): Promise<LogPartition> {
  const now = Date.now();
  const partition = (await listLogPartitions(t.db, { parent })).find((p) => (p.from?.getTime() ?? -Infinity) <= now && p.to.getTime() > now);
  if (!partition) throw new Error(`no partition of ${parent} holds now`);
  return partition;
}

/**
 * Retention by partition: messages sent through the simulator and tracked from its callbacks;
 * then, as if MESSAGE_RETENTION_DAYS and RAW_CALLBACK_RETENTION_DAYS had passed, their partitions
 * are exported and dropped while the views keep answering; a rebuild without the archives loses
 * the messages, and one after loading the archives back gives the views that were there.
 */
describe('event log retention: export, drop, load back, rebuild', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TrackingTenant;

  beforeAll(async () => {
    simulator = createGupshupSimulator({ eventTimeStepMs: 1000, callbackRetries: 0, callbackTimeoutMs: 60_000 });
    await simulator.listen();
    t = await startTrackingApp({
      env: {
        SUBSCRIPTIONS_ENABLED: 'true',
        DISPATCH_WORKERS: '2',
        GUPSHUP_RATE_LIMIT: '0',
        GUPSHUP_TIMEOUT_MS: '30000',
        GUPSHUP_API_BASE_URL: simulator.baseUrl!,
        MESSAGE_RETENTION_DAYS: '90',
        RAW_CALLBACK_RETENTION_DAYS: '30',
      },
    });
    tenant = await createTenant(t);
    const gupshupKey = 'gupshup-key-retention-1a2b';
    simulator.registerApp(gupshupKey, { source: SOURCE, srcName: 'DemoAPI', callbackUrl: `${t.url}${webhookPath(tenant.apiKey)}`, callbackFormat: 'v2' });
    await request(t.url)
      .put('/v3/channels/whatsapp/providers/gupshup_whatsapp')
      .set(tenant.headers)
      .send({ enabled: true, config: { API_KEY: gupshupKey, SOURCE, SRC_NAME: 'DemoAPI' } })
      .expect(200);
  });
  afterAll(async () => {
    await simulator?.close();
    await t?.close();
  });

  it('keeps the views, exports what it drops, and a rebuild from the archives gives the same views', async () => {
    // The simulator decides by the last digit: 1 read, 6 delivered, 9 failed.
    const users = [
      { id: 'reads', phone: '+919900000011', expected: 'seen' },
      { id: 'delivers', phone: '+919900000016', expected: 'delivered' },
      { id: 'fails', phone: '+919900000019', expected: 'discarded' },
    ];
    for (const user of users) await request(t.url).put(`/v3/users/${user.id}`).set(tenant.headers).send({ phoneNumber: user.phone }).expect(200);
    const sent = await request(t.url)
      .post('/v3/notifications')
      .set(tenant.headers)
      .send({ notification: { title: 'Order shipped', message: 'Track it' }, sendTo: { recipients: users.map((u) => u.id) } })
      .expect(202);
    const messageIds: string[] = sent.body.messages.map((m: { messageId: string }) => m.messageId);
    await simulator.waitForMessages(users.length, GIVE_UP_AFTER_MS);
    await simulator.waitForIdle(GIVE_UP_AFTER_MS);
    const answers = new Map<string, unknown>();
    for (const [index, messageId] of messageIds.entries()) {
      const body = await eventually(async () => {
        const res = await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers);
        return res.status === 200 && res.body.status === users[index].expected ? res.body : undefined;
      }, `message ${users[index].id} to be ${users[index].expected}`);
      answers.set(messageId, body);
    }
    await waitForProjections(t);
    const views = await snapshotViews(t.db);
    expect(await eventsOfKind(t, 'es_events_messages')).toBeGreaterThan(0);
    expect(await eventsOfKind(t, 'es_events_raw_callbacks')).toBeGreaterThan(0);
    const kept = await eventsOfKind(t, 'es_events_kept');

    // Not yet: the partitions are younger than their retention.
    const retention = t.app.get(EventLogRetention);
    expect(await retention.retire()).toEqual([]);

    // The messages' partition is 90 days past its end, so is the raw callbacks' (30 days).
    const messagesPartition = await currentPartition(t, 'es_events_messages');
    const rawPartition = await currentPartition(t, 'es_events_raw_callbacks');
    const asOf = new Date(Math.max(messagesPartition.to.getTime() + 90 * DAY_MS, rawPartition.to.getTime() + 30 * DAY_MS) + 1000);
    const retired = await retention.retire(asOf);
    // The partitions for now are gone with them: the next cover (every process runs it regularly) brings empty ones.
    await retention.cover();

    const retiredMessages = retired.find((r) => r.tableName === messagesPartition.tableName)!;
    const retiredRaw = retired.find((r) => r.tableName === rawPartition.tableName)!;
    expect(retiredMessages.events).toBeGreaterThan(0);
    expect(retiredRaw.events).toBeGreaterThan(0);
    expect(await eventsOfKind(t, 'es_events_messages')).toBe(0);
    expect(await eventsOfKind(t, 'es_events_raw_callbacks')).toBe(0);
    expect(await eventsOfKind(t, 'es_events_kept')).toBe(kept);
    // The streams that ended in the dropped partitions go with them.
    const [{ streams }] = await t.db.query<{ streams: number }>(
      `SELECT count(*)::int AS streams FROM es_streams WHERE stream_type IN ('whatsapp_message', 'whatsapp_notification', 'gupshup_callback')`,
    );
    expect(streams).toBe(0);
    const dropped = await listLogPartitions(t.db, { parent: 'es_events_messages', withDropped: true });
    expect(dropped.find((p) => p.tableName === messagesPartition.tableName)).toMatchObject({ state: 'dropped', exportedEvents: retiredMessages.events });

    // An operator sees it in /metrics.
    const metrics = await request(t.url).get('/metrics').expect(200);
    expect(metrics.text).toContain(`event_log_retired_events{parent="es_events_messages"} ${retiredMessages.events}`);
    expect(metrics.text).toMatch(/event_log_partitions\{parent="es_events_raw_callbacks",state="dropped"\} [1-9]/);

    // The archives: a header, then one line per event, in log order.
    for (const archive of [retiredMessages, retiredRaw]) {
      expect(archive.file && existsSync(archive.file)).toBe(true);
      const lines = gunzipSync(readFileSync(archive.file!)).toString('utf8').trim().split('\n');
      expect(JSON.parse(lines[0])).toMatchObject({ format: 'es_events/1', table: archive.tableName, events: archive.events });
      expect(lines).toHaveLength(archive.events + 1);
    }

    // The API answers from the views, which stay.
    for (const messageId of messageIds) {
      const res = await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers).expect(200);
      expect(res.body).toEqual(answers.get(messageId));
    }

    // A rebuild without the events has no messages to build.
    const rebuilder = t.app.get(ProjectionRebuilder);
    await rebuilder.rebuild();
    await waitForProjections(t);
    await request(t.url).get(`/v3/messages/${messageIds[0]}`).set(tenant.headers).expect(404);

    // Loaded back (twice: the second load adds nothing), then rebuilt: the views that were there.
    const archives = t.app.get(LogArchiveImport);
    const [messagesLoad, rawLoad] = await archives.load([retiredMessages.file!, retiredRaw.file!], 1);
    expect(messagesLoad).toMatchObject({ loaded: retiredMessages.events, skipped: 0 });
    expect(rawLoad).toMatchObject({ loaded: retiredRaw.events, skipped: 0 });
    const [again] = await archives.load([retiredMessages.file!], 1);
    expect(again).toMatchObject({ loaded: 0, skipped: retiredMessages.events });
    // What was loaded is kept from retirement for the day asked for (only empty partitions ahead of now go, in this made-up future).
    expect((await retention.retire(asOf)).filter((r) => r.events > 0)).toEqual([]);
    await retention.cover();
    expect(await eventsOfKind(t, 'es_events_messages')).toBe(retiredMessages.events);

    await rebuilder.rebuild();
    await waitForProjections(t);
    expect(await snapshotViews(t.db)).toEqual(views);
    for (const messageId of messageIds) {
      const res = await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers).expect(200);
      expect(res.body).toEqual(answers.get(messageId));
    }

    // The log goes on: a new message is sent and tracked after all this.
    await request(t.url).put('/v3/users/after').set(tenant.headers).send({ phoneNumber: '+919900000041' }).expect(200);
    const next = await request(t.url)
      .post('/v3/notifications')
      .set(tenant.headers)
      .send({ notification: { title: 'Again', message: 'Still here' }, sendTo: { recipients: ['after'] } })
      .expect(202);
    await eventually(async () => {
      const res = await request(t.url).get(`/v3/messages/${next.body.messages[0].messageId}`).set(tenant.headers);
      return res.status === 200 && res.body.status === 'seen' ? true : undefined;
    }, 'the new message to be seen');
  });
});
