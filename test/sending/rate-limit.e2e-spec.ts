import { startSimulatorProcess, type SimulatorProcess } from '../support/simulator-process';
import type { TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { createTenant, eventually, postNotification, putUser, startSendingApp, type TestTenant } from './sending-test-kit';

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
 * Each request's arrival at the simulator beside the time its attempt was marked started (after
 * its grant, right before the call), both from the first arrival: a second holding too many with
 * even hold-ups points at the grants, uneven ones at a process held up between grant and arrival.
 */
async function arrivalsAgainstAttemptStarts(app: TestApp, appId: string, requests: { receivedAt: string; form: Record<string, string> }[]): Promise<string> {
  const rows = await app.db.query<{ destination: string; started: Date | null }>(
    'SELECT destination, attempt_started_at AS started FROM whatsapp_dispatch_jobs WHERE app_id = $1',
    [appId],
  );
  const started = new Map(rows.map((row) => [row.destination, row.started?.getTime()]));
  const arrivals = requests.map((r) => ({ at: Date.parse(r.receivedAt), started: started.get(r.form.destination) })).sort((a, b) => a.at - b.at);
  const origin = arrivals[0].at;
  const lines = arrivals.map(({ at, started: s }) => `  arrived +${at - origin} ms, attempt started ${s === undefined ? '?' : `${s - origin >= 0 ? '+' : ''}${s - origin}`} ms, held up ${s === undefined ? '?' : at - s} ms`);
  return `rate limit exceeded at the simulator; arrivals against attempt starts:\n${lines.join('\n')}\n`;
}

/**
 * GUPSHUP_RATE_LIMIT per app holds across workers and across instances: two services on one
 * database, two workers each, measured where it matters, at Gupshup: a simulator in a process of
 * its own, so that its arrival times are not those of the services' event loop.
 */
describe('dispatch: the per-app rate limit', () => {
  let simulator: SimulatorProcess;
  let database: TestDatabase;
  let first: TestApp;
  let second: TestApp;
  let tenant: TestTenant;
  let other: TestTenant;

  beforeAll(async () => {
    simulator = await startSimulatorProcess();
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

    // Every message reaches Gupshup: the limit slows the sender down, it does not starve it.
    const received = await eventually(async () => {
      const requests = (await simulator.requests()).filter((r) => r.headers.apikey === tenant.gupshupApiKey);
      return requests.length >= MESSAGES ? requests : undefined;
    }, `${MESSAGES} requests at Gupshup`);
    const times = received.map((r) => Date.parse(r.receivedAt));
    const spanMs = Math.max(...times) - Math.min(...times);
    const busiest = busiestWindow(times, 1000);
    await eventually(async () => {
      const [row] = await first.db.query<{ count: string }>(`SELECT count(*) FROM whatsapp_dispatch_jobs WHERE app_id = $1 AND state = 'sent'`, [tenant.appId]);
      return Number(row.count) === MESSAGES ? true : undefined;
    }, `all ${MESSAGES} messages recorded as sent`);

    expect(received).toHaveLength(MESSAGES);
    if (busiest > LIMIT_PER_SECOND) process.stdout.write(await arrivalsAgainstAttemptStarts(first, tenant.appId, received));
    expect(busiest).toBeLessThanOrEqual(LIMIT_PER_SECOND);
    // 40 messages at 10 a second: the first and the last are at least 3.9 s apart. (How fast it
    // goes otherwise is for the benchmarks: a busy machine only makes it slower.)
    expect(spanMs).toBeGreaterThanOrEqual(((MESSAGES - 1) * 1000) / LIMIT_PER_SECOND - 50);
    process.stdout.write(`rate limit ${LIMIT_PER_SECOND}/s: ${MESSAGES} requests over ${spanMs} ms, busiest second ${busiest}\n`);
  });

  it("limits each app on its own: one app's backlog does not hold another's message back", async () => {
    const BACKLOG = 30;
    const backlog = Array.from({ length: BACKLOG }, (_, i) => ({ identifier: `bl-${i}`, phoneNumber: `+9199887781${String(i).padStart(2, '0')}` }));
    const backlogDestinations = new Set(backlog.map((r) => r.phoneNumber.slice(1)));
    await putUser(first, other, 'urgent', { phoneNumber: '+919988778200' });
    await postNotification(first, tenant, { notification: { title: 'Backlog' }, sendTo: { recipients: backlog } }).expect(202);
    await postNotification(second, other, { notification: { title: 'Urgent' }, sendTo: { recipients: ['urgent'] } }).expect(202);

    const [urgent] = await eventually(async () => {
      const requests = (await simulator.requests()).filter((r) => r.form.destination === '919988778200');
      return requests.length > 0 ? requests : undefined;
    }, 'the other app to be sent');
    const backlogTimes = await eventually(async () => {
      const times = (await simulator.requests())
        .filter((r) => r.headers.apikey === tenant.gupshupApiKey && backlogDestinations.has(r.form.destination))
        .map((r) => Date.parse(r.receivedAt));
      return times.length >= BACKLOG ? times : undefined;
    }, `the ${BACKLOG} messages of the backlog to be sent`);
    // The backlog takes at least 2.9 s at 10 a second; the other app did not wait for its end.
    expect(Math.max(...backlogTimes) - Math.min(...backlogTimes)).toBeGreaterThanOrEqual(((BACKLOG - 1) * 1000) / LIMIT_PER_SECOND - 50);
    // In the order Gupshup received them, the other app's message came before the backlog's last.
    const arrivals = await simulator.requests();
    const lastOfBacklog = arrivals.findLastIndex((r) => r.headers.apikey === tenant.gupshupApiKey && backlogDestinations.has(r.form.destination));
    const urgentAt = arrivals.findIndex((r) => r.form.destination === urgent.form.destination);
    expect(urgentAt).toBeGreaterThanOrEqual(0);
    expect(urgentAt).toBeLessThan(lastOfBacklog);
  });
});
