import { Client } from 'pg';
import { portOutsideEphemeralRange } from '../support/ports';
import { createGupshupSimulator, type GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { eventually } from '../support/eventually';
import { startServiceProcess, type ServiceProcess, type ServiceProcessOptions } from '../support/service-process';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import {
  call,
  createTenant,
  FAULT_TEST_TIMEOUT_MS,
  getMessages,
  PATIENT_CALLBACKS,
  phoneNumbers,
  RECOVERY_GIVE_UP_MS,
  sendRequestsTo,
  statusOfProviderEvent,
  StatusWatch,
  type Tenant,
} from './fault-kit';

const PARTITIONS = 6;
const MESSAGES_PER_ROUND = 24;
/**
 * Long enough that a lease is not lost to a busy machine's pauses between renewals (which would
 * move parts around and slow the test down, though nothing it checks would fail).
 */
const LEASE_MS = 5000;
const EVENT_RANK: Record<string, number> = { enqueued: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

interface HealthReport {
  status: string;
  projectionLag: Record<string, { eventsBehind: number }>;
  subscriptionPartitions?: Record<string, number[]>;
}

async function health(instance: ServiceProcess): Promise<HealthReport | undefined> {
  const answer = await call(instance.url, 'GET', '/health').catch(() => undefined);
  return answer?.status === 200 ? (answer.body as HealthReport) : undefined;
}

/**
 * The parts each instance says it runs (/health), when every cut subscription's parts are shared
 * out as `shares` says (one count per instance, in order) with no part run twice or by nobody;
 * undefined otherwise.
 */
async function sharedAs(instances: ServiceProcess[], shares: number[]): Promise<Record<string, number[]>[] | undefined> {
  const reports = await Promise.all(instances.map(health));
  if (reports.some((report) => !report?.subscriptionPartitions)) return undefined;
  const held = reports.map((report) => report!.subscriptionPartitions!);
  const names = Object.keys(held[0]);
  if (names.length === 0) return undefined;
  for (const name of names) {
    const parts = held.map((partitions) => partitions[name] ?? []);
    if (parts.some((mine, i) => mine.length !== shares[i])) return undefined;
    const all = parts.flat().sort((a, b) => a - b);
    if (all.join(',') !== Array.from({ length: PARTITIONS }, (_, i) => i + 1).join(',')) return undefined;
  }
  return held;
}

async function query<T extends object>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Three instances (every role) on one database, subscriptions cut in six parts: one is killed with
 * SIGKILL while callbacks are still being projected, its parts move to the two others, then it is
 * started again with the same command and takes its share back. Every message ends where its
 * callbacks say, none is sent twice, and every subscription has processed every event of the log
 * exactly once (each part's count of processed events is the count of events in that part).
 */
describe('faults: a killed instance started again rejoins the partitioned subscriptions', () => {
  let simulator: GupshupSimulator;
  let database: TestDatabase;
  const instances: ServiceProcess[] = [];

  beforeAll(async () => {
    simulator = createGupshupSimulator({ ...PATIENT_CALLBACKS, eventTimeStepMs: 500 });
    await simulator.listen();
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const instance of instances) await instance.stop();
    await simulator?.close();
    await database?.drop();
  });

  it(
    'moves its parts to the others, takes its share back when it returns, and applies every event once',
    async () => {
      const env = {
        DATABASE_URL: database.url,
        GUPSHUP_API_BASE_URL: simulator.baseUrl!,
        GUPSHUP_RATE_LIMIT: '0',
        DISPATCH_POLL_MS: '20',
        SUBSCRIPTION_POLL_MS: '20',
        SUBSCRIPTION_PARTITIONS: String(PARTITIONS),
        SUBSCRIPTION_LEASE_MS: String(LEASE_MS),
      };
      const options: ServiceProcessOptions[] = [];
      for (let i = 0; i < 3; i++) options.push({ env, port: await portOutsideEphemeralRange() });
      // One at a time: the first one runs the migrations.
      for (const option of options) instances.push(await startServiceProcess(option));
      await eventually(() => sharedAs(instances, [2, 2, 2]), 'the six parts of each cut subscription to be shared two by two', RECOVERY_GIVE_UP_MS, 100);

      // Gupshup's callbacks go to the first instance, which stays up.
      const tenant: Tenant = await createTenant(instances[0].url, simulator, { callbacks: true });
      const messageIds: string[] = [];
      const phones: string[] = [];
      let round = 0;
      const refusals: string[] = [];
      const send = async (through: ServiceProcess[]) => {
        const numbers = phoneNumbers(`9199740${round++}`, MESSAGES_PER_ROUND);
        // A few at a time, each with an Idempotency-Key: a 503 (no database connection free in
        // time, on a busy machine) is answered by sending the same request again, as the API says.
        for (let from = 0; from < numbers.length; from += 6) {
          const answers = await Promise.all(
            numbers.slice(from, from + 6).map((phoneNumber, i) =>
              eventually(async () => {
                const answer = await call(through[(from + i) % through.length].url, 'POST', '/v3/notifications', { ...tenant.headers, 'Idempotency-Key': `rejoin-${phoneNumber}` }, {
                  notification: { title: `Rejoin ${round}.${from + i}` },
                  sendTo: { recipients: [{ identifier: `rejoin-${phoneNumber}`, phoneNumber }] },
                });
                if (answer.status !== 503) return answer;
                refusals.push(JSON.stringify(answer.body));
                return undefined;
              }, `the notification to ${phoneNumber} to be accepted`),
            ),
          );
          for (const answer of answers) {
            expect(answer.status).toBe(202);
            messageIds.push((answer.body as { messages: { messageId: string }[] }).messages[0].messageId);
          }
        }
        phones.push(...numbers);
      };
      const sentToGupshup = (count: number) =>
        eventually(async () => {
          const [row] = await query<{ open: number }>(database.url, `SELECT count(*)::int AS open FROM whatsapp_dispatch_jobs WHERE state <> 'sent'`);
          const [sent] = await query<{ sent: number }>(database.url, `SELECT count(*)::int AS sent FROM whatsapp_dispatch_jobs WHERE state = 'sent'`);
          return row.open === 0 && sent.sent === count ? true : undefined;
        }, `${count} messages to be sent to Gupshup`);

      await send(instances);
      // The victim is killed between two sends (what a kill mid-send does is kill-one-of-three's
      // subject), while the callbacks of those messages are still arriving and being projected.
      await sentToGupshup(messageIds.length);
      const [first, second, victim] = instances;
      await victim.kill();
      await send([first, second]);

      const takenOver = await eventually(() => sharedAs([first, second], [3, 3]), "the two others to run the killed instance's parts", RECOVERY_GIVE_UP_MS, 100);
      await sentToGupshup(messageIds.length);

      // Started again with the same command: it takes two parts of each subscription back.
      const restarted = await startServiceProcess(options[2]);
      instances.push(restarted);
      const rejoined = await eventually(() => sharedAs([first, second, restarted], [2, 2, 2]), 'the restarted instance to run two parts of each again', RECOVERY_GIVE_UP_MS, 100);
      await send([restarted]);
      await sentToGupshup(messageIds.length);

      // Every message ends where Gupshup's callbacks for it say, read through the restarted instance.
      const finalStatus = (phoneNumber: string): string | undefined => {
        const sent = simulator.messages().find((message) => `+${message.destination}` === phoneNumber);
        if (!sent || sent.callbacks.length === 0) return undefined;
        const last = sent.callbacks.reduce((a, b) => (EVENT_RANK[b.event] > EVENT_RANK[a.event] ? b : a));
        return statusOfProviderEvent(last.event);
      };
      const watch = new StatusWatch();
      await eventually(
        async () => {
          const states = await getMessages(restarted.url, tenant, messageIds);
          states.forEach((state) => state && watch.observe(state));
          return states.every((state) => state && state.status === finalStatus(state.phoneNumber)) ? true : undefined;
        },
        'every message to show the status of its last callback',
        RECOVERY_GIVE_UP_MS,
        250,
      );
      expect(watch.backwards).toEqual([]);
      for (const phoneNumber of phones) expect(sendRequestsTo(simulator, phoneNumber)).toBe(1);

      // Once every subscription has caught up: each part of each subscription has processed as
      // many events as its part of the log holds, so none was processed twice (or skipped). A
      // callback Gupshup retries late may still add events: a part short of its count waits.
      const processed = await eventually(async () => {
        const rows = await query<{ name: string; processed: number; in_log: number }>(
          database.url,
          `SELECT s.name, s.events_processed::int AS processed,
                  (SELECT count(*)::int FROM es_events e
                    WHERE s.name NOT LIKE '%#%'
                       OR (hashtext(e.stream_id) & 2147483647) % split_part(s.name, '/', 2)::int = split_part(split_part(s.name, '#', 2), '/', 1)::int - 1) AS in_log
             FROM es_subscriptions s ORDER BY s.name`,
        );
        return rows.every((row) => row.processed >= row.in_log) ? rows : undefined;
      }, 'every subscription to catch up with the log');
      const cut = Object.keys(rejoined[0]);
      for (const name of cut) expect(processed.filter((row) => row.name.startsWith(`${name}#`)).map((row) => row.name)).toHaveLength(PARTITIONS);
      expect(processed.filter((row) => row.processed !== row.in_log)).toEqual([]);
      expect(processed.reduce((sum, row) => sum + row.processed, 0)).toBeGreaterThan(0);

      console.log(
        `rejoin: parts after the kill ${JSON.stringify(takenOver.map((held) => held[cut[0]]))}, ` +
          `after the restart ${JSON.stringify(rejoined.map((held) => held[cut[0]]))} (${cut[0]}); ${messageIds.length} messages; ` +
          `${refusals.length} notification(s) refused with 503 and sent again${refusals.length > 0 ? ` (${refusals[0]})` : ''}`,
      );
    },
    FAULT_TEST_TIMEOUT_MS,
  );
});
