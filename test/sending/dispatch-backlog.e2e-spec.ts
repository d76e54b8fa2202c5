import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { Database } from '../../src/database/database';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { DispatchJobs } from '../../src/whatsapp/sending';
import type { TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { createTenant, eventually, postNotification, startSendingApp, startSimulator, type TestTenant } from './sending-test-kit';

describe('dispatch: claiming from a backlog', () => {
  let database: TestDatabase;
  let pool: Pool;
  let jobs: DispatchJobs;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new Pool({ connectionString: database.url, max: 2 });
    jobs = new DispatchJobs(new Database(pool));
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  /** One request of `count` jobs due `dueInMs` from now; returns their message ids. */
  async function queue(appId: string, count: number, dueInMs: number): Promise<string[]> {
    const requestId = randomUUID();
    const messageIds = Array.from({ length: count }, () => randomUUID());
    const db = new Database(pool);
    await db.transaction(async (tx) => {
      await jobs.insertRequest(tx, requestId, appId, { text: 'Backlog', overrideJson: null });
      await jobs.insertJobs(
        tx,
        appId,
        requestId,
        new Date(Date.now() + dueInMs),
        messageIds.map((messageId, i) => ({ messageId, destination: `9199${String(10_000_000 + i)}` })),
      );
    });
    return messageIds;
  }

  it('takes the oldest due jobs first, leaving excluded apps and jobs not yet due', async () => {
    // Queued out of due order, into a table whose statistics predate the backlog.
    const middle = await queue('app-a', 400, -2000);
    const newest = await queue('app-a', 400, -1000);
    const oldest = await queue('app-a', 400, -3000);
    const excluded = await queue('app-b', 400, -4000);
    const future = await queue('app-a', 400, 3_600_000);

    const options = { leaseMs: 60_000, excludeAppIds: ['app-b'] };
    const first = await jobs.claim({ ...options, limit: 50, leaseToken: randomUUID() });
    expect(first).toHaveLength(50);
    expect(first.every((job) => oldest.includes(job.messageId) && job.attempt === 1 && job.content.text === 'Backlog')).toBe(true);

    const rest = await jobs.claim({ ...options, limit: 1000, leaseToken: randomUUID() });
    const claimed = new Set([...first, ...rest].map((job) => job.messageId));
    expect(claimed.size).toBe(1050);
    expect([...oldest, ...middle, ...newest].filter((id) => claimed.has(id))).toHaveLength(1050);
    expect(oldest.every((id) => claimed.has(id)) && middle.every((id) => claimed.has(id))).toBe(true);
    expect([...excluded, ...future].some((id) => claimed.has(id))).toBe(false);
    expect((await jobs.find(first[0].messageId))?.state).toBe('in_flight');
  });
});

/**
 * Many batches in a row: a worker claims its next batch while the last one's answers are still
 * being recorded. Each message still reaches Gupshup once and is recorded sent once.
 */
describe('dispatch: a backlog of many batches', () => {
  const MESSAGES = 300;
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator, { env: { DISPATCH_WORKERS: '3', DISPATCH_BATCH_SIZE: '20' } });
    tenant = await createTenant(t, simulator);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('sends every message once and records it sent once', async () => {
    const recipients = Array.from({ length: MESSAGES }, (_, i) => ({ identifier: `bk-${i}`, phoneNumber: `+9198${String(20_000_000 + i)}` }));
    const responses = await Promise.all([
      postNotification(t, tenant, { notification: { title: 'Backlog' }, sendTo: { recipients: recipients.slice(0, MESSAGES / 2) } }).expect(202),
      postNotification(t, tenant, { notification: { title: 'Backlog' }, sendTo: { recipients: recipients.slice(MESSAGES / 2) } }).expect(202),
    ]);
    const messageIds = responses.flatMap((res) => (res.body.messages as { messageId: string }[]).map((m) => m.messageId));

    await eventually(
      async () => {
        const [row] = await t.db.query<{ count: string }>(`SELECT count(*) FROM whatsapp_dispatch_jobs WHERE app_id = $1 AND state = 'sent'`, [tenant.appId]);
        return Number(row.count) === MESSAGES ? true : undefined;
      },
      `all ${MESSAGES} messages recorded as sent`,
      30_000,
    );
    const requests = simulator.requests().filter((r) => r.headers.apikey === tenant.gupshupApiKey);
    expect(requests).toHaveLength(MESSAGES);
    expect(new Set(requests.map((r) => r.form.destination)).size).toBe(MESSAGES);

    const sent = await t.db.query<{ message_id: string; n: string; provider_ids: string[] }>(
      `SELECT data->>'messageId' AS message_id, count(*) AS n, array_agg(data->>'providerMessageId') AS provider_ids
         FROM es_events WHERE event_type = 'WhatsAppMessageSent' AND data->>'appId' = $1 GROUP BY 1`,
      [tenant.appId],
    );
    expect(sent.map((row) => row.message_id).sort()).toEqual([...messageIds].sort());
    expect(sent.every((row) => Number(row.n) === 1)).toBe(true);
    const accepted = new Set(simulator.messages().map((m) => m.messageId));
    expect(sent.every((row) => accepted.has(row.provider_ids[0]))).toBe(true);
  });
});
