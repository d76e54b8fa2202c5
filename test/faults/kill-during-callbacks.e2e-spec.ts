import { portOutsideEphemeralRange } from '../support/ports';
import { createGupshupSimulator, type GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { eventually } from '../support/eventually';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import {
  call,
  createTenant,
  getMessages,
  FAULT_TEST_TIMEOUT_MS,
  higherStatus,
  phoneNumbers,
  RECOVERY_GIVE_UP_MS,
  StatusWatch,
  statusOfProviderEvent,
  type MessageState,
  type Tenant,
} from './fault-kit';

const MESSAGES = 60;
const POSTERS = 16;

interface Callback {
  messageId: string;
  event: string;
  body: unknown;
}

/**
 * The service is killed with SIGKILL while Gupshup's callbacks pour in. Whatever it answered 2xx
 * must be there after a restart on the same database, once; what it never answered, Gupshup
 * sends again, and that must not count twice either.
 */
describe('faults: kill -9 of the service during a callback load', () => {
  let simulator: GupshupSimulator;
  let database: TestDatabase;
  let service: ServiceProcess | undefined;
  let env: Record<string, string>;
  let port: number;

  beforeAll(async () => {
    simulator = createGupshupSimulator();
    await simulator.listen();
    database = await createTestDatabase();
    port = await portOutsideEphemeralRange();
    env = { DATABASE_URL: database.url, GUPSHUP_API_BASE_URL: simulator.baseUrl!, GUPSHUP_RATE_LIMIT: '0', DISPATCH_POLL_MS: '20', SUBSCRIPTION_POLL_MS: '50' };
  });
  afterAll(async () => {
    await service?.stop();
    await simulator?.close();
    await database?.drop();
  });

  it('keeps every callback it acknowledged, once, and its statuses never go back', async () => {
    service = await startServiceProcess({ env, port });
    // No callback URL at the simulator: the test posts the callbacks itself, so it knows each answer.
    const tenant: Tenant = await createTenant(service.url, simulator, { callbacks: false });
    const phones = phoneNumbers('91997100', MESSAGES);
    const accepted = await call(service.url, 'POST', '/v3/notifications', tenant.headers, {
      notification: { title: 'Order shipped' },
      sendTo: { recipients: phones.map((phoneNumber, i) => ({ identifier: `kill-cb-${i}`, phoneNumber })) },
    });
    expect(accepted.status).toBe(202);
    const messageIds = (accepted.body as { messages: { messageId: string }[] }).messages.map((m) => m.messageId);
    const sent = await eventually(async () => {
      const states = await getMessages(service!.url, tenant, messageIds);
      return states.every((state) => state?.status === 'sent' && state.providerMessageId) ? (states as MessageState[]) : undefined;
    }, 'every message to be sent');
    const ourId = new Map(sent.map((state) => [state.providerMessageId!, state.messageId]));

    // Gupshup's callbacks for every message (the bodies the simulator built), all mixed up.
    const callbacks: Callback[] = simulator.messages().flatMap((message) =>
      message.callbacks.map((callback) => ({ messageId: ourId.get(message.messageId)!, event: callback.event, body: callback.body })),
    );
    shuffle(callbacks);
    const acknowledged = new Set<number>();
    const otherAnswers: string[] = [];
    let refused = 0;
    const post = async (index: number): Promise<void> => {
      try {
        const answer = await call(tenant.callbackUrl, 'POST', '', { 'User-Agent': 'Gupshup-Callback/1.0' }, callbacks[index].body);
        if (answer.status >= 200 && answer.status < 300) acknowledged.add(index);
        else if (answer.status !== 503) otherAnswers.push(`${answer.status} ${JSON.stringify(answer.body)}`);
      } catch {
        refused += 1; // the connection broke or was refused: not acknowledged
      }
    };

    let next = 0;
    const load = Promise.all(
      Array.from({ length: POSTERS }, async () => {
        while (next < callbacks.length) await post(next++);
      }),
    );
    await eventually(() => (acknowledged.size >= callbacks.length / 4 ? true : undefined), 'a quarter of the callbacks to be acknowledged');
    await service.kill();
    await load;
    const acknowledgedBeforeKill = new Set(acknowledged);
    expect(otherAnswers).toEqual([]);
    // The kill fell in the middle of the load: some callbacks were never answered.
    expect(refused).toBeGreaterThan(0);
    expect(acknowledgedBeforeKill.size).toBeLessThan(callbacks.length);

    service = await startServiceProcess({ env, port });
    // Gupshup sends again what was not acknowledged, until it is.
    await eventually(async () => {
      const missing = callbacks.map((_, index) => index).filter((index) => !acknowledged.has(index));
      for (let i = 0; i < missing.length; i += POSTERS) await Promise.all(missing.slice(i, i + POSTERS).map(post));
      return acknowledged.size === callbacks.length ? true : undefined;
    }, 'every callback to be acknowledged after the restart', RECOVERY_GIVE_UP_MS);
    expect(otherAnswers).toEqual([]);

    const expected = new Map<string, { status: string; events: string[] }>();
    for (const callback of callbacks) {
      const entry = expected.get(callback.messageId) ?? { status: 'sent', events: [] };
      entry.events.push(callback.event);
      entry.status = higherStatus(entry.status, statusOfProviderEvent(callback.event));
      expected.set(callback.messageId, entry);
    }
    const watch = new StatusWatch();
    const settled = await eventually(async () => {
      const states = await getMessages(service!.url, tenant, messageIds);
      for (const state of states) if (state) watch.observe(state);
      const done = states.every((state) => state && expected.get(state.messageId)!.events.every((event) => state.timeline.some((entry) => entry.providerStatus === event)));
      return done ? (states as MessageState[]) : undefined;
    }, 'every callback to show in its message timeline', RECOVERY_GIVE_UP_MS);

    for (const state of settled) {
      const { status, events } = expected.get(state.messageId)!;
      const providerEvents = state.timeline.map((entry) => entry.providerStatus).filter((event) => event !== undefined);
      // Each callback once: Gupshup's events of a message are distinct, so are its timeline entries.
      expect({ messageId: state.messageId, events: [...providerEvents].sort() }).toEqual({ messageId: state.messageId, events: [...events].sort() });
      expect({ messageId: state.messageId, status: state.status }).toEqual({ messageId: state.messageId, status });
    }
    expect(watch.backwards).toEqual([]);
  }, FAULT_TEST_TIMEOUT_MS);
});

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}
