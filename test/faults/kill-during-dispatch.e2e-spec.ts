import { portOutsideEphemeralRange } from '../support/ports';
import { createGupshupSimulator, type GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { eventually } from '../support/eventually';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import {
  call,
  createTenant,
  PATIENT_CALLBACKS,
  phoneNumbers,
  FAULT_TEST_TIMEOUT_MS,
  sendRequestsTo,
  settleAfterCrash,
  StatusWatch,
  type Tenant,
} from './fault-kit';

const REQUESTS = 4;
const RECIPIENTS_PER_REQUEST = 15;

/**
 * The service is killed with SIGKILL while its dispatcher has calls to Gupshup in flight (some
 * answered slowly). After a restart every message ends sent (its status from Gupshup's
 * callbacks) and Gupshup got each at most once: a call whose answer was lost is settled from
 * Gupshup's callbacks, never silently sent again (docs/dispatch-policy.md).
 */
describe('faults: kill -9 of the service during dispatch', () => {
  let simulator: GupshupSimulator;
  let database: TestDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    simulator = createGupshupSimulator(PATIENT_CALLBACKS);
    await simulator.listen();
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await service?.stop();
    await simulator?.close();
    await database?.drop();
  });

  it('sends every message once and settles the calls whose answers died with the process', async () => {
    const port = await portOutsideEphemeralRange();
    const env = {
      DATABASE_URL: database.url,
      GUPSHUP_API_BASE_URL: simulator.baseUrl!,
      // Slow enough that the kill finds calls in flight; a short lease so that the restarted
      // service finds the dead worker's claims soon. Gupshup's slowest answer stays well within the timeout.
      GUPSHUP_RATE_LIMIT: '40',
      DISPATCH_WORKERS: '2',
      DISPATCH_BATCH_SIZE: '5',
      DISPATCH_POLL_MS: '20',
      DISPATCH_LEASE_MS: '6000',
      GUPSHUP_TIMEOUT_MS: '5000',
      SUBSCRIPTION_POLL_MS: '50',
    };
    service = await startServiceProcess({ env, port });
    const tenant: Tenant = await createTenant(service.url, simulator, { callbacks: true });
    // One answer in three is slow.
    for (let i = 0; i < REQUESTS * RECIPIENTS_PER_REQUEST; i++) simulator.injectFailure({ delayMs: i % 3 === 0 ? 1500 : 1, count: 1 });

    const phones = phoneNumbers('91997200', REQUESTS * RECIPIENTS_PER_REQUEST);
    const phoneOf = new Map<string, string>();
    for (let r = 0; r < REQUESTS; r++) {
      const batch = phones.slice(r * RECIPIENTS_PER_REQUEST, (r + 1) * RECIPIENTS_PER_REQUEST);
      const accepted = await call(service.url, 'POST', '/v3/notifications', tenant.headers, {
        notification: { title: 'Your code', message: `batch ${r}` },
        sendTo: { recipients: batch.map((phoneNumber) => ({ identifier: `kill-dispatch-${phoneNumber.slice(-5)}`, phoneNumber })) },
      });
      expect(accepted.status).toBe(202);
      (accepted.body as { messages: { messageId: string }[] }).messages.forEach((message, i) => phoneOf.set(message.messageId, batch[i]));
    }

    await eventually(() => (simulator.requests().length >= phones.length / 3 ? true : undefined), 'a third of the messages to reach Gupshup');
    await service.kill();
    const reachedBeforeKill = simulator.requests().length;
    expect(reachedBeforeKill).toBeLessThan(phones.length);

    service = await startServiceProcess({ env, port });
    const watch = new StatusWatch();
    // Gupshup's callbacks settle what it accepted; the operator resends what it never received.
    // Gupshup's callbacks settle what it accepted; the operator resends what it never received.
    const { states, resent } = await settleAfterCrash(service.url, database.url, tenant, simulator, phoneOf, watch);

    for (const state of states) {
      const phone = phoneOf.get(state.messageId)!;
      if (state.status === 'discarded') expect(state.discardReason?.code).toEqual(expect.any(String));
      else expect({ phone, status: state.status, gupshup: sendRequestsTo(simulator, phone) }).toEqual({ phone, status: expect.stringMatching(/^(sent|delivered|seen)$/), gupshup: 1 });
      // Never twice.
      expect({ phone, atMostOnce: sendRequestsTo(simulator, phone) <= 1 }).toEqual({ phone, atMostOnce: true });
    }
    expect(watch.backwards).toEqual([]);
    // What was resent is what Gupshup never got before the kill.
    for (const messageId of resent) expect(sendRequestsTo(simulator, phoneOf.get(messageId)!)).toBe(1);
  }, FAULT_TEST_TIMEOUT_MS);
});
