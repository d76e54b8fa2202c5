import { randomUUID } from 'node:crypto';
import { portOutsideEphemeralRange } from '../support/ports';
import { createGupshupSimulator, type GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { eventually } from '../support/eventually';
import { PostgresCluster } from '../support/postgres-cluster';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import {
  call,
  createTenant,
  getMessages,
  PATIENT_CALLBACKS,
  phoneNumbers,
  FAULT_TEST_TIMEOUT_MS,
  RECOVERY_GIVE_UP_MS,
  sendRequestsTo,
  settleAfterCrash,
  StatusWatch,
  type MessageState,
  type Tenant,
} from './fault-kit';

const SENDERS = 4;
/** What the service logs once its LISTEN connections are back: the subscriptions', the webhook senders'. */
const LISTENING_AGAIN = /listening for appended events again/;
const SENDERS_LISTENING_AGAIN = /listening for new webhook deliveries again/;
/** Notifications accepted before the restart, and again after it, before the load stops. */
const ACCEPTED_EACH_SIDE = 20;
/** The Retry-After of the service's 503. */
const RETRY_AFTER_MS = 1000;

interface SendRequest {
  key: string;
  phoneNumber: string;
  body: unknown;
}

/**
 * PostgreSQL (a server of the test's own) is stopped and started again while notifications are
 * being sent and Gupshup's callbacks are coming in. Meanwhile the service answers 503 or 2xx,
 * nothing else; afterwards it recovers by itself (health 200, subscriptions move on), everything
 * it acknowledged took effect once, and no message went to Gupshup twice.
 */
describe('faults: PostgreSQL restart under load', () => {
  let cluster: PostgresCluster;
  let databaseUrl: string;
  let simulator: GupshupSimulator;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    cluster = await PostgresCluster.start();
    databaseUrl = await cluster.createDatabase('faults');
    simulator = createGupshupSimulator(PATIENT_CALLBACKS);
    await simulator.listen();
  });
  afterAll(async () => {
    await service?.stop();
    await simulator?.close();
    await cluster?.destroy();
  });

  it('answers 503 or 2xx during the restart, recovers without one of its own, and keeps every 2xx once', async () => {
    service = await startServiceProcess({
      port: await portOutsideEphemeralRange(),
      watchFor: [LISTENING_AGAIN, SENDERS_LISTENING_AGAIN],
      env: {
        DATABASE_URL: databaseUrl,
        GUPSHUP_API_BASE_URL: simulator.baseUrl!,
        GUPSHUP_RATE_LIMIT: '0',
        DISPATCH_WORKERS: '2',
        DISPATCH_POLL_MS: '20',
        DISPATCH_LEASE_MS: '6000',
        GUPSHUP_TIMEOUT_MS: '5000',
        // Subscriptions wake on NOTIFY and poll rarely: they keep up after the restart only if
        // the service listens again.
        SUBSCRIPTION_POLL_MS: '30000',
        LOG_LEVEL: 'info',
      },
    });
    const url = service.url;
    const tenant: Tenant = await createTenant(url, simulator, { callbacks: true });
    const phones = phoneNumbers('91997300', 1000);
    let nextPhone = 0;

    const phoneOf = new Map<string, string>();
    const refused: SendRequest[] = [];
    let refusedCount = 0;
    const unexpected: string[] = [];
    const statuses = new Map<number, number>();
    let stop = false;
    const send = async (request: SendRequest): Promise<boolean> => {
      let answer;
      try {
        answer = await call(url, 'POST', '/v3/notifications', { ...tenant.headers, 'Idempotency-Key': request.key }, request.body);
      } catch (error) {
        unexpected.push(`connection: ${(error as Error).message}`);
        return false;
      }
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status === 202) {
        const [message] = (answer.body as { messages: { messageId: string }[] }).messages;
        phoneOf.set(message.messageId, request.phoneNumber);
        return true;
      }
      if (answer.status !== 503) unexpected.push(`${answer.status} ${JSON.stringify(answer.body)}`);
      return false;
    };
    const newRequest = (): SendRequest => {
      const phoneNumber = phones[nextPhone++];
      return {
        key: randomUUID(),
        phoneNumber,
        body: { notification: { title: 'Restart', message: phoneNumber }, sendTo: { recipients: [{ identifier: `pg-${phoneNumber.slice(-5)}`, phoneNumber }] } },
      };
    };
    // Each sender sends one notification after another; one refused is sent again after the
    // Retry-After the 503 gives, with its Idempotency-Key, as a client should.
    const load = Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (!stop) {
          const request = newRequest();
          while (!(await send(request))) {
            refusedCount += 1;
            if (stop) {
              refused.push(request);
              break;
            }
            await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS));
          }
        }
      }),
    );

    await eventually(() => (phoneOf.size >= ACCEPTED_EACH_SIDE ? true : undefined), 'notifications to be accepted before the restart');
    await cluster.stop();
    await eventually(async () => ((await call(url, 'GET', '/health')).status === 503 ? true : undefined), '/health to say 503 while PostgreSQL is down');
    await eventually(() => (refusedCount > 0 ? true : undefined), 'a notification to be refused while PostgreSQL is down');
    await cluster.startServer();
    await eventually(async () => ((await call(url, 'GET', '/health')).status === 200 ? true : undefined), '/health to be 200 again', RECOVERY_GIVE_UP_MS);
    const acceptedAtRecovery = phoneOf.size;
    await eventually(() => (phoneOf.size >= acceptedAtRecovery + ACCEPTED_EACH_SIDE ? true : undefined), 'notifications to be accepted after the restart');
    stop = true;
    await load;
    expect(unexpected).toEqual([]);
    expect(statuses.get(503)).toBeGreaterThan(0);

    // The client sends again what got 503, with the same Idempotency-Key.
    await eventually(async () => {
      const waiting = refused.splice(0);
      for (const request of waiting) if (!(await send(request))) refused.push(request);
      return refused.length === 0 ? true : undefined;
    }, 'every refused notification to be accepted when sent again', RECOVERY_GIVE_UP_MS);
    expect(unexpected).toEqual([]);

    const messageIds = [...phoneOf.keys()];
    const watch = new StatusWatch();
    await settleAfterCrash(url, databaseUrl, tenant, simulator, phoneOf, watch);

    // Every callback Gupshup got a 2xx for shows in its message's timeline, once; Gupshup posts
    // each message's callbacks one after the other, so waiting for it to be idle waits for all.
    await simulator.waitForIdle(RECOVERY_GIVE_UP_MS);
    const providerIds = new Map<string, string>();
    const final = await eventually(async () => {
      const states = await getMessages(url, tenant, messageIds);
      for (const state of states) if (state) watch.observe(state);
      if (!states.every((state) => state?.providerMessageId)) return undefined;
      for (const state of states as MessageState[]) providerIds.set(state.providerMessageId!, state.messageId);
      const byId = new Map((states as MessageState[]).map((state) => [state.messageId, state]));
      const missing = simulator.messages().flatMap((message) =>
        message.callbacks
          .filter((callback) => callback.state === 'delivered')
          .filter((callback) => !byId.get(providerIds.get(message.messageId) ?? '')?.timeline.some((entry) => entry.providerStatus === callback.event)),
      );
      return missing.length === 0 ? byId : undefined;
    }, 'every acknowledged callback to show in its timeline', RECOVERY_GIVE_UP_MS);

    for (const message of simulator.messages()) {
      const state = final.get(providerIds.get(message.messageId) ?? '');
      expect({ gupshupMessage: message.messageId, known: state !== undefined }).toEqual({ gupshupMessage: message.messageId, known: true });
      const events = state!.timeline.map((entry) => entry.providerStatus).filter((event) => event !== undefined);
      expect({ messageId: state!.messageId, events: events.sort() }).toEqual({ messageId: state!.messageId, events: [...new Set(message.callbacks.map((c) => c.event))].sort() });
    }
    for (const [messageId, phone] of phoneOf) {
      expect({ messageId, status: final.get(messageId)!.status }).toEqual({ messageId, status: expect.stringMatching(/^(sent|delivered|seen)$/) });
      expect({ phone, sends: sendRequestsTo(simulator, phone) }).toEqual({ phone, sends: 1 });
    }
    expect(watch.backwards).toEqual([]);

    // The subscriptions caught up by themselves: NOTIFY wakes them again after the restart.
    await eventually(async () => {
      const health = await call(url, 'GET', '/health');
      const lag = (health.body as { projectionLag?: Record<string, { eventsBehind: number }> }).projectionLag ?? {};
      return health.status === 200 && Object.values(lag).every((l) => l.eventsBehind === 0) ? true : undefined;
    }, 'every subscription to catch up', RECOVERY_GIVE_UP_MS);
    expect(service.watched()).toHaveLength(2);
    expect(service.watched()).toEqual(expect.arrayContaining([expect.stringMatching(LISTENING_AGAIN), expect.stringMatching(SENDERS_LISTENING_AGAIN)]));
    expect(service.child.exitCode).toBeNull();
  }, FAULT_TEST_TIMEOUT_MS);
});
