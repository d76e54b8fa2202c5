import { Client } from 'pg';
import { portOutsideEphemeralRange } from '../support/ports';
import { createGupshupSimulator, type GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
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
} from '../faults/fault-kit';
import { eventually } from '../support/eventually';
import { startReverseProxy, type ReverseProxy } from '../support/reverse-proxy';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const MESSAGES = 60;
const FAST = { DISPATCH_POLL_MS: '20', SUBSCRIPTION_POLL_MS: '20', GUPSHUP_RATE_LIMIT: '0', LOG_LEVEL: 'warn' };
/**
 * The workers share the views' projection and the webhook subscription in four parts each. The
 * leases are long enough that a busy machine's pauses between renewals do not keep moving parts
 * from one worker to the other (as in the restart test of test/faults).
 */
const PARTITIONED = { SUBSCRIPTION_PARTITIONS: '4', SUBSCRIPTION_LEASE_MS: '5000' };
const VIEWS = 'whatsapp_message_views';
const EVENT_RANK: Record<string, number> = { enqueued: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/**
 * docker-compose.yml's "scaled" profile as processes: two API instances (ROLES=api) behind nginx
 * with the deployment's own proxy configuration, and workers (ROLES=dispatch,subscriptions; two
 * here, sharing the partitioned subscriptions), on one PostgreSQL. Clients and Gupshup talk to
 * the proxy only.
 */
describe('the scaled deployment: two API instances behind nginx and a worker', () => {
  let simulator: GupshupSimulator;
  let database: TestDatabase;
  let proxy: ReverseProxy | undefined;
  const instances: ServiceProcess[] = [];

  beforeAll(async () => {
    simulator = createGupshupSimulator({ ...PATIENT_CALLBACKS, eventTimeStepMs: 1000 });
    await simulator.listen();
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await proxy?.stop();
    for (const instance of instances) await instance.stop();
    await database?.drop();
    await simulator?.close();
  });

  it(
    'serves clients and callbacks through the proxy on both instances, and loses nothing when one of them is killed',
    async () => {
      const proxyPort = await portOutsideEphemeralRange();
      const common = { ...FAST, DATABASE_URL: database.url, GUPSHUP_API_BASE_URL: simulator.baseUrl!, PUBLIC_BASE_URL: `http://127.0.0.1:${proxyPort}` };
      const [api1, api2, worker1, worker2] = await Promise.all([
        startServiceProcess({ port: await portOutsideEphemeralRange(), env: { ...common, ROLES: 'api', TRUST_PROXY: 'loopback' } }),
        startServiceProcess({ port: await portOutsideEphemeralRange(), env: { ...common, ROLES: 'api', TRUST_PROXY: 'loopback' } }),
        // The worker killed below only projects: what a crash mid-dispatch does is the fault tests' subject.
        startServiceProcess({ port: await portOutsideEphemeralRange(), env: { ...common, ...PARTITIONED, ROLES: 'subscriptions' } }),
        startServiceProcess({ port: await portOutsideEphemeralRange(), env: { ...common, ...PARTITIONED, ROLES: 'dispatch,subscriptions' } }),
      ]);
      instances.push(api1, api2, worker1, worker2);
      // The views' four partitions are shared by the two workers, two each.
      const leaseHolders = async () => {
        const client = new Client({ connectionString: database.url });
        await client.connect();
        try {
          const { rows } = await client.query<{ member_id: string }>(
            'SELECT member_id FROM es_subscription_leases WHERE subscription = $1 AND expires_at > now() ORDER BY partition',
            [VIEWS],
          );
          return rows.map((row) => row.member_id);
        } finally {
          await client.end();
        }
      };
      await eventually(async () => {
        const holders = await leaseHolders();
        return holders.length === 4 && new Set(holders).size === 2 ? true : undefined;
      }, 'the two workers to hold two partitions of the views each').catch(async (error: Error) => {
        // What the leases and the workers said, so that a failure here explains itself.
        const client = new Client({ connectionString: database.url });
        await client.connect();
        const leases = await client.query('SELECT subscription, partition, member_id, expires_at, now() AS now FROM es_subscription_leases ORDER BY 1, 2');
        const members = await client.query('SELECT *, now() AS now FROM es_subscription_members');
        await client.end();
        throw new Error(
          `${error.message}\nleases: ${JSON.stringify(leases.rows)}\nmembers: ${JSON.stringify(members.rows)}\n` +
            `worker 1 said: ${worker1.output().slice(-3000)}\nworker 2 said: ${worker2.output().slice(-3000)}`,
        );
      });
      proxy = await startReverseProxy({ port: proxyPort, upstreams: [`127.0.0.1:${api1.port}`, `127.0.0.1:${api2.port}`] });

      // The app is made, and its callback URL given, through the proxy: Gupshup posts there too.
      const tenant: Tenant = await createTenant(proxy.url, simulator, { callbacks: true });
      expect(tenant.callbackUrl.startsWith(`${proxy.url}/`)).toBe(true);

      const phones = phoneNumbers('91997300', MESSAGES);
      const messageIds: string[] = [];
      const sendHalf = async (numbers: string[]) => {
        const answers = await Promise.all(
          numbers.map((phoneNumber, i) =>
            call(proxy!.url, 'POST', '/v3/notifications', tenant.headers, {
              notification: { title: `Scaled ${i}` },
              sendTo: { recipients: [{ identifier: `scaled-${phoneNumber}`, phoneNumber }] },
            }),
          ),
        );
        const refused = answers.find((answer) => answer.status !== 202);
        if (refused) {
          // What each instance and the proxy said, so that a failure here explains itself (tokens redacted).
          const redact = (text: string) => text.replace(/token=[^&\s"]+/g, 'token=[redacted]');
          throw new Error(
            `a notification was answered ${refused.status}: ${JSON.stringify(refused.body)}\n` +
              `API instance 1 (${api1.port}) said: ${api1.output().slice(-4000)}\nAPI instance 2 (${api2.port}) said: ${api2.output().slice(-4000)}\n` +
              `the proxy's errors: ${redact(proxy!.errorLog().slice(-4000))}`,
          );
        }
        for (const answer of answers) messageIds.push((answer.body as { messages: { messageId: string }[] }).messages[0].messageId);
      };

      await sendHalf(phones.slice(0, MESSAGES / 2));
      // Both instances took requests: the proxy spreads them.
      const answeredBy = (log: string) => new Set([...log.matchAll(/upstream=(\S+)/g)].map((match) => match[1].split(',').at(-1)!.trim()));
      expect(answeredBy(proxy.accessLog())).toEqual(new Set([`127.0.0.1:${api1.port}`, `127.0.0.1:${api2.port}`]));

      // One API instance and one worker die while the first half's callbacks are still coming in.
      await eventually(() => (simulator.messages().length >= MESSAGES / 4 ? true : undefined), 'the workers to have sent some of the first half');
      await Promise.all([api1.kill(), worker1.kill()]);
      await sendHalf(phones.slice(MESSAGES / 2));

      // Every message ends where Gupshup's callbacks for it say, read through the proxy, and none was sent twice.
      const finalStatus = (phoneNumber: string): string | undefined => {
        const sent = simulator.messages().find((message) => `+${message.destination}` === phoneNumber);
        if (!sent || sent.callbacks.length === 0) return undefined;
        const last = sent.callbacks.reduce((a, b) => (EVENT_RANK[b.event] > EVENT_RANK[a.event] ? b : a));
        return statusOfProviderEvent(last.event);
      };
      const watch = new StatusWatch();
      await eventually(
        async () => {
          const states = await getMessages(proxy!.url, tenant, messageIds);
          states.forEach((state) => state && watch.observe(state));
          return states.every((state) => state && state.status === finalStatus(state.phoneNumber)) ? true : undefined;
        },
        'every message to show the status of its last callback',
        RECOVERY_GIVE_UP_MS,
        250,
      );
      expect(watch.backwards).toEqual([]);
      for (const phoneNumber of phones) expect(sendRequestsTo(simulator, phoneNumber)).toBe(1);
      // The surviving worker took the dead one's partitions when its lease ran out.
      const holders = await leaseHolders();
      expect(holders).toHaveLength(4);
      expect(new Set(holders).size).toBe(1);

      // No line the proxy wrote holds the callback token: not the access lines of Gupshup's
      // callbacks, nor the error lines of those that met the killed instance, nor a URL whose
      // query was encoded once too often (the service answers it 401).
      const callbackUrl = new URL(tenant.callbackUrl);
      const token = callbackUrl.searchParams.get('token')!;
      const mangled = await call(proxy.url, 'POST', `${callbackUrl.pathname}?token%3D${token}`, {}, { type: 'message-event' });
      expect(mangled.status).toBe(401);
      const callbackLines = proxy.accessLog().split('\n').filter((line) => line.includes(callbackUrl.pathname));
      expect(callbackLines.length).toBeGreaterThan(MESSAGES);
      for (const line of callbackLines) expect(line).toContain(`${callbackUrl.pathname}?[redacted] `);
      expect(proxy.accessLog()).not.toContain(token);
      expect(proxy.errorLog()).not.toContain(token);
      // Other requests keep their query in the log.
      await call(proxy.url, 'GET', '/v3/messages?limit=1', tenant.headers);
      await eventually(() => (proxy!.accessLog().includes('"GET /v3/messages?limit=1 HTTP/1.1" 200') ? true : undefined), 'the proxy to log the read');
    },
    FAULT_TEST_TIMEOUT_MS,
  );
});
