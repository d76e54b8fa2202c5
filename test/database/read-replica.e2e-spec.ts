import { randomBytes } from 'node:crypto';
import { createGupshupSimulator, type GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { call, createTenant, FAULT_TEST_TIMEOUT_MS, type Tenant } from '../faults/fault-kit';
import { eventually } from '../support/eventually';
import { ReplicaPair } from '../support/replica-pair';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { portOutsideEphemeralRange } from '../support/ports';

/**
 * DATABASE_READ_URL: the query routes read a streaming replica of DATABASE_URL's server. Pausing
 * the replica's replay shows which routes read it: what is written meanwhile is accepted by the
 * primary, but the message list does not show it until the replay goes on.
 */
describe('reads from a replica (DATABASE_READ_URL)', () => {
  let pair: ReplicaPair;
  let simulator: GupshupSimulator;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    pair = await ReplicaPair.start();
    simulator = createGupshupSimulator();
    await simulator.listen();
  });
  afterAll(async () => {
    await service?.stop();
    await simulator?.close();
    await pair?.stop();
  });

  it(
    'answers the query routes from the replica, which shows the writes once it has replayed them',
    async () => {
      const database = `wa_replica_${randomBytes(4).toString('hex')}`;
      await pair.createDatabase(database);
      service = await startServiceProcess({
        port: await portOutsideEphemeralRange(),
        env: {
          DATABASE_URL: pair.primaryUrl(database),
          DATABASE_READ_URL: pair.replicaUrl(database),
          GUPSHUP_API_BASE_URL: simulator.baseUrl!,
          GUPSHUP_RATE_LIMIT: '0',
          DISPATCH_POLL_MS: '20',
          SUBSCRIPTION_POLL_MS: '20',
        },
      });
      const tenant: Tenant = await createTenant(service.url, simulator, { callbacks: true });
      const send = async (phoneNumber: string) => {
        const answer = await call(service!.url, 'POST', '/v3/notifications', tenant.headers, {
          notification: { title: 'Replica' },
          sendTo: { recipients: [{ identifier: `replica-${phoneNumber}`, phoneNumber }] },
        });
        expect(answer.status).toBe(202);
        return (answer.body as { messages: { messageId: string }[] }).messages[0].messageId;
      };
      const listed = async () => {
        const answer = await call(service!.url, 'GET', '/v3/messages?limit=100', tenant.headers);
        expect(answer.status).toBe(200);
        return (answer.body as { data: { messageId: string }[] }).data.map((message) => message.messageId);
      };

      const first = await send('+919900001016');
      await eventually(async () => ((await listed()).includes(first) ? true : undefined), 'the first message to be listed');
      const health = await call(service.url, 'GET', '/health');
      expect((health.body as { readReplica?: { status: string } }).readReplica?.status).toBe('up');

      // The replica stops replaying: the primary takes the second message, the list does not show it.
      await pair.onReplica((client) => client.query('SELECT pg_wal_replay_pause()'));
      const second = await send('+919900001026');
      await eventually(async () => {
        const { rows } = await pair.onPrimary((client) => client.query('SELECT 1 FROM message_status_view WHERE message_id = $1', [second]), database);
        return rows.length === 1 ? true : undefined;
      }, 'the primary to have projected the second message');
      expect(await listed()).not.toContain(second);

      // Replay goes on: the replica catches up, and the list shows it.
      await pair.onReplica((client) => client.query('SELECT pg_wal_replay_resume()'));
      await eventually(async () => ((await listed()).includes(second) ? true : undefined), 'the second message to be listed once the replica replays it');
    },
    FAULT_TEST_TIMEOUT_MS,
  );
});
