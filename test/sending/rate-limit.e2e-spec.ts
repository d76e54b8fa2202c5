import { ARRIVAL_MARGIN_SECONDS, rateLimitShape } from '../../src/whatsapp/sending/dispatch/app-rate-limiter';
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

/** Each request's arrival at the simulator, with the limiter's slot and the attempt's start of its message. */
interface Arrival {
  at: number;
  slot: number;
  started: number;
}

async function arrivalsWithSlots(app: TestApp, appId: string, requests: { receivedAt: string; form: Record<string, string> }[]): Promise<Arrival[]> {
  const rows = await app.db.query<{ destination: string; slot: Date | null; started: Date | null }>(
    'SELECT destination, rate_slot_at AS slot, attempt_started_at AS started FROM whatsapp_dispatch_jobs WHERE app_id = $1',
    [appId],
  );
  const byDestination = new Map(rows.map((row) => [row.destination, row]));
  return requests.map((request) => {
    const row = byDestination.get(request.form.destination);
    if (!row?.slot || !row.started) throw new Error(`no rate slot or attempt start recorded for ${request.form.destination}: ${JSON.stringify(row)}`);
    return { at: Date.parse(request.receivedAt), slot: row.slot.getTime(), started: row.started.getTime() };
  });
}

/** What to read when an expectation fails: each request from its slot to its arrival. */
function describeArrivals(arrivals: Arrival[]): string {
  const sorted = [...arrivals].sort((a, b) => a.at - b.at);
  const origin = Math.min(...sorted.map((a) => a.slot));
  return sorted.map((a) => `slot +${a.slot - origin} ms, attempt started +${a.started - origin} ms, arrived +${a.at - origin} ms (held up ${a.at - a.slot} ms)`).join('\n');
}

/**
 * GUPSHUP_RATE_LIMIT per app holds across workers and across instances: two services on one
 * database, two workers each. The limiter's slots (the database's clock) must be an interval
 * apart; at Gupshup (a simulator in a process of its own) no second may hold more than the limit
 * among the requests held up between slot and arrival no more than ARRIVAL_MARGIN_SECONDS longer
 * than the least held-up one: the margin the limiter leaves. On a busy machine a process can hold
 * a request up longer, and it then arrives bunched with later ones; the test prints how many.
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
    await eventually(async () => {
      const [row] = await first.db.query<{ count: string }>(`SELECT count(*) FROM whatsapp_dispatch_jobs WHERE app_id = $1 AND state = 'sent'`, [tenant.appId]);
      return Number(row.count) === MESSAGES ? true : undefined;
    }, `all ${MESSAGES} messages recorded as sent`);
    expect(received).toHaveLength(MESSAGES);
    const arrivals = await arrivalsWithSlots(first, tenant.appId, received);
    const report = describeArrivals(arrivals);

    // The limiter's slots: an interval apart at least (to a microsecond's rounding), so no second holds more than the limit.
    const slots = arrivals.map((a) => a.slot).sort((a, b) => a - b);
    const intervalMs = rateLimitShape(LIMIT_PER_SECOND).intervalSeconds * 1000;
    const closestSlots = Math.min(...slots.slice(1).map((slot, i) => slot - slots[i]));
    expect({ slotsAnIntervalApart: closestSlots >= intervalMs - 0.01, report }).toEqual({ slotsAnIntervalApart: true, report });
    // No request reaches Gupshup before its slot (one machine's clock, read by two processes: 5 ms for their readings).
    expect(arrivals.filter((a) => a.at < a.slot - 5)).toEqual([]);
    // At Gupshup, among the requests held up within the margin of the least held-up one.
    const least = Math.min(...arrivals.map((a) => a.at - a.slot));
    const withinMargin = arrivals.filter((a) => a.at - a.slot <= least + ARRIVAL_MARGIN_SECONDS * 1000);
    const busiest = busiestWindow(
      withinMargin.map((a) => a.at),
      1000,
    );
    expect({ withinTheLimit: busiest <= LIMIT_PER_SECOND, busiest, report }).toEqual({ withinTheLimit: true, busiest, report });
    // 40 messages at 10 a second: the first and the last slots are 39 intervals apart at least. (How
    // fast it goes otherwise is for the benchmarks: a busy machine only makes it slower.)
    expect(slots[slots.length - 1] - slots[0]).toBeGreaterThanOrEqual((MESSAGES - 1) * intervalMs - 1);
    const times = arrivals.map((a) => a.at);
    process.stdout.write(
      `rate limit ${LIMIT_PER_SECOND}/s: ${MESSAGES} requests over ${Math.max(...times) - Math.min(...times)} ms, ` +
        `slots at least ${closestSlots.toFixed(1)} ms apart; busiest second at Gupshup ${busiestWindow(times, 1000)}, ` +
        `${busiest} among the ${withinMargin.length} requests held up within ${ARRIVAL_MARGIN_SECONDS * 1000} ms of the least\n`,
    );
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
