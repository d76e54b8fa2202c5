import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import type { TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { createTenant, eventually, postNotification, putUser, startSendingApp, startSimulator, type TestTenant } from './sending-test-kit';

const LIMIT_PER_SECOND = 10;
const MESSAGES = 40;

/** The most requests seen in any window [t, t + windowMs) that starts at a request. */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let busiest = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end] < sorted[start] + windowMs) end++;
    busiest = Math.max(busiest, end - start);
  }
  return busiest;
}

/**
 * GUPSHUP_RATE_LIMIT per app holds across workers and across instances: two services on one
 * database, two workers each, measured where it matters, at Gupshup.
 */
describe('dispatch: the per-app rate limit', () => {
  let simulator: GupshupSimulator;
  let database: TestDatabase;
  let first: TestApp;
  let second: TestApp;
  let tenant: TestTenant;
  let other: TestTenant;

  beforeAll(async () => {
    simulator = await startSimulator();
    database = await createTestDatabase();
    const env = { GUPSHUP_RATE_LIMIT: String(LIMIT_PER_SECOND), DISPATCH_WORKERS: '2', DISPATCH_BATCH_SIZE: '10' };
    first = await startSendingApp(simulator, { database, env });
    second = await startSendingApp(simulator, { database, env });
    tenant = await createTenant(first, simulator);
    other = await createTenant(first, simulator);
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await database?.drop();
    await simulator?.close();
  });

  it(`never lets more than ${LIMIT_PER_SECOND} requests of one app reach Gupshup in any second`, async () => {
    const recipients = Array.from({ length: MESSAGES }, (_, i) => ({ identifier: `rl-${i}`, phoneNumber: `+9199887780${String(i).padStart(2, '0')}` }));
    // Half the messages through each instance, so that both have them queued at once.
    const [a, b] = await Promise.all([
      postNotification(first, tenant, { notification: { title: 'Sale' }, sendTo: { recipients: recipients.slice(0, MESSAGES / 2) } }).expect(202),
      postNotification(second, tenant, { notification: { title: 'Sale' }, sendTo: { recipients: recipients.slice(MESSAGES / 2) } }).expect(202),
    ]);
    expect([...a.body.messages, ...b.body.messages].every((m: { status: string }) => m.status === 'queued')).toBe(true);

    const received = await eventually(
      () => {
        const requests = simulator.requests().filter((r) => r.headers.apikey === tenant.gupshupApiKey);
        return requests.length >= MESSAGES ? requests : undefined;
      },
      `${MESSAGES} requests at Gupshup`,
      20_000,
    );
    const times = received.map((r) => Date.parse(r.receivedAt));
    const spanMs = Math.max(...times) - Math.min(...times);
    const busiest = busiestWindow(times, 1000);
    await eventually(async () => {
      const [row] = await first.db.query<{ count: string }>(`SELECT count(*) FROM whatsapp_dispatch_jobs WHERE app_id = $1 AND state = 'sent'`, [tenant.appId]);
      return Number(row.count) === MESSAGES ? true : undefined;
    }, `all ${MESSAGES} messages recorded as sent`);

    expect(received).toHaveLength(MESSAGES);
    expect(busiest).toBeLessThanOrEqual(LIMIT_PER_SECOND);
    // 40 messages at 10 a second: the first and the last are at least 3.9 s apart.
    expect(spanMs).toBeGreaterThanOrEqual(((MESSAGES - 1) * 1000) / LIMIT_PER_SECOND - 50);
    // And the limit does not starve the sender either.
    expect(spanMs).toBeLessThan(((MESSAGES - 1) * 1000) / LIMIT_PER_SECOND + 2500);
    process.stdout.write(`rate limit ${LIMIT_PER_SECOND}/s: ${MESSAGES} requests over ${spanMs} ms, busiest second ${busiest}\n`);
  });

  it("limits each app on its own: one app's backlog does not slow another", async () => {
    const backlog = Array.from({ length: 20 }, (_, i) => ({ identifier: `bl-${i}`, phoneNumber: `+9199887781${String(i).padStart(2, '0')}` }));
    await postNotification(first, tenant, { notification: { title: 'Backlog' }, sendTo: { recipients: backlog } }).expect(202);
    await putUser(first, other, 'urgent', { phoneNumber: '+919988778200' });
    const sentAt = Date.now();
    await postNotification(second, other, { notification: { title: 'Urgent' }, sendTo: { recipients: ['urgent'] } }).expect(202);
    const [urgent] = await eventually(() => {
      const requests = simulator.requests().filter((r) => r.form.destination === '919988778200');
      return requests.length > 0 ? requests : undefined;
    }, 'the other app to be sent');
    // Well before the first app's 2-second backlog drains.
    expect(Date.parse(urgent.receivedAt) - sentAt).toBeLessThan(1000);
  });
});
