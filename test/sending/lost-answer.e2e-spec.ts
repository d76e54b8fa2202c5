import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { portOutsideEphemeralRange } from '../support/ports';
import { EventStore, type StoreEvent } from '../../src/event-store';
import { messageStreamId, WhatsAppMessageSent } from '../../src/whatsapp/domain';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { OutcomeUnknownResolver } from '../../src/whatsapp/sending';
import { runCli } from '../faults/fault-kit';
import { captureLog } from '../support/captured-log';
import { GIVE_UP_AFTER_MS } from '../support/eventually';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import type { TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import {
  createTenant,
  eventTypes,
  eventually,
  FAST_DISPATCH_ENV,
  jobInState,
  messageEvents,
  postNotification,
  putUser,
  requestsTo,
  startAnswerGate,
  startSendingApp,
  startSimulator,
  type TestTenant,
} from './sending-test-kit';


/**
 * A worker that stops between calling Gupshup and recording the answer must not lead to a second,
 * silent send: the message is parked as outcome_unknown (docs/dispatch-policy.md).
 */
describe('dispatch: an answer lost with its worker', () => {
  let simulator: GupshupSimulator;
  let database: TestDatabase;
  let api: TestApp;
  let tenant: TestTenant;
  let child: ServiceProcess | undefined;

  beforeAll(async () => {
    simulator = await startSimulator();
    database = await createTestDatabase();
    // Takes the requests; sends nothing itself.
    api = await startSendingApp(simulator, { database, env: { DISPATCH_WORKERS: '0' } });
    tenant = await createTenant(api, simulator);
  });
  afterEach(() => simulator.clearFailures());

  /** What a lease running out leaves: an in-flight job whose lease ended a second ago. */
  async function expireLease(messageId: string): Promise<void> {
    await api.db.query(`UPDATE whatsapp_dispatch_jobs SET locked_until = now() - interval '1 second' WHERE message_id = $1 AND state = 'in_flight'`, [messageId]);
  }
  afterAll(async () => {
    await child?.stop();
    await api?.close();
    await database?.drop();
    await simulator?.close();
  });

  it('parks the message as outcome_unknown when the process dies with its call in flight, and never sends it again', async () => {
    child = await startServiceProcess({
      port: await portOutsideEphemeralRange(),
      env: {
        ...FAST_DISPATCH_ENV,
        DATABASE_URL: database.url,
        GUPSHUP_API_BASE_URL: simulator.baseUrl!,
        DISPATCH_WORKERS: '1',
        GUPSHUP_TIMEOUT_MS: '30000',
        SUBSCRIPTIONS_ENABLED: 'false',
      },
    });

    // Gupshup takes the request but is slow to answer: the process is killed while it waits.
    simulator.injectFailure({ delayMs: 120_000, count: 1 });
    await putUser(api, tenant, 'lost-1', { phoneNumber: '+919988779001' });
    const res = await postNotification(api, tenant, { notification: { title: 'Lost answer' }, sendTo: { recipients: ['lost-1'] } }).expect(202);
    const messageId: string = res.body.messages[0].messageId;
    await simulator.waitForRequests(1, GIVE_UP_AFTER_MS);
    expect((await jobInState(api, messageId, 'in_flight')).attempts).toBe(0);
    await child.kill();
    // Time passes: the dead worker's lease runs out (the lease is long, so that it could not run
    // out while the process was alive, however slow the machine).
    await expireLease(messageId);

    // Another instance takes over: it parks the job whose lease has run out.
    const successor = await startSendingApp(simulator, { database, env: { DISPATCH_WORKERS: '1' } });
    try {
      const parked = await jobInState(successor, messageId, 'outcome_unknown');
      expect(parked.lastError).toContain('lease ran out');
      expect(await eventTypes(successor, messageId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppDispatchOutcomeUnknown']);
      const [, unknown] = await messageEvents(successor, messageId);
      expect(unknown.data).toMatchObject({ messageId, attempt: 1, startedAt: expect.any(String), detectedAt: expect.any(String) });

      // The successor goes on dispatching (a later message goes out) and still does not resend it.
      await putUser(api, tenant, 'after-1', { phoneNumber: '+919988779002' });
      const later = await postNotification(successor, tenant, { notification: { title: 'Later' }, sendTo: { recipients: ['after-1'] } }).expect(202);
      await jobInState(successor, later.body.messages[0].messageId, 'sent');
      expect(requestsTo(simulator, '919988779001')).toHaveLength(1);
      expect((await jobInState(successor, messageId, 'outcome_unknown')).attempts).toBe(0);

      // An operator who learns Gupshup's id for it settles it as sent; it can then no longer be resent.
      const resolver = successor.app.get(OutcomeUnknownResolver);
      expect((await resolver.list({ appId: tenant.appId })).map((row) => row.messageId)).toEqual([messageId]);
      const settledBefore = await operatorCounts([api, successor], 'sent', 'operator_settled');
      expect(await resolver.settleAsSent(messageId, 'gupshup-id-from-its-logs')).toBe(true);
      await countedOnce([api, successor], 'sent', 'operator_settled', settledBefore);
      expect(await eventTypes(successor, messageId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppDispatchOutcomeUnknown', 'WhatsAppMessageSent', 'WhatsAppDispatchResolvedByOperator']);
      expect(await resolver.resend(messageId)).toBe(false);
      expect(requestsTo(simulator, '919988779001')).toHaveLength(1);
    } finally {
      await successor.close();
    }
  });

  it('records the real answer when a live worker gets it after its lease ran out', async () => {
    // Gupshup's answer is held back until the lease has run out and the job is parked; then it settles it.
    const gate = await startAnswerGate(simulator.baseUrl!);
    const slow = await startSendingApp(simulator, {
      database,
      env: { DISPATCH_WORKERS: '1', DISPATCH_LEASE_MS: '300', GUPSHUP_TIMEOUT_MS: '120000', GUPSHUP_API_BASE_URL: gate.url },
    });
    try {
      await putUser(api, tenant, 'late-1', { phoneNumber: '+919988779003' });
      const res = await postNotification(slow, tenant, { notification: { title: 'Late answer' }, sendTo: { recipients: ['late-1'] } }).expect(202);
      const messageId: string = res.body.messages[0].messageId;

      await jobInState(slow, messageId, 'outcome_unknown');
      await eventually(() => (gate.held() === 1 ? true : undefined), "Gupshup's answer to wait at the gate");
      gate.open();
      const sent = await jobInState(slow, messageId, 'sent');
      expect(sent.providerMessageId).toEqual(expect.any(String));
      expect(await eventTypes(slow, messageId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppDispatchOutcomeUnknown', 'WhatsAppMessageSent']);
      expect(requestsTo(simulator, '919988779003')).toHaveLength(1);
    } finally {
      await slow.close();
      await gate.close();
    }
  });

  it('logs and counts an answer that arrives after its parked job was settled: not_recorded, taken_over', async () => {
    const log = captureLog();
    const gate = await startAnswerGate(simulator.baseUrl!);
    const slow = await startSendingApp(simulator, {
      database,
      env: { DISPATCH_WORKERS: '1', DISPATCH_LEASE_MS: '300', GUPSHUP_TIMEOUT_MS: '120000', GUPSHUP_API_BASE_URL: gate.url, LOG_FORMAT: 'json', LOG_LEVEL: 'warn' },
      logDestination: log.stream,
    });
    try {
      await putUser(api, tenant, 'taken-over-1', { phoneNumber: '+919988779009' });
      const res = await postNotification(slow, tenant, { notification: { title: 'Taken over' }, sendTo: { recipients: ['taken-over-1'] } }).expect(202);
      const messageId: string = res.body.messages[0].messageId;
      await jobInState(slow, messageId, 'outcome_unknown');
      await eventually(() => (gate.held() === 1 ? true : undefined), "Gupshup's answer to wait at the gate");

      // An operator settles the parked message while its worker still waits for the answer: the
      // answer then finds the job no longer under the worker's claim.
      expect(await slow.app.get(OutcomeUnknownResolver).settleAsSent(messageId, randomUUID())).toBe(true);
      const [before] = await operatorCounts([slow], 'not_recorded', 'taken_over');
      gate.open();

      await eventually(async () => {
        const [after] = await operatorCounts([slow], 'not_recorded', 'taken_over');
        return after - before === 1 ? true : undefined;
      }, 'not_recorded/taken_over counted once more in /metrics');
      const line = await eventually(() => log.lines().find((found) => found.messageId === messageId && found.action === 'not_recorded'), 'the not_recorded line');
      expect(line).toMatchObject({ level: 'warn', appId: tenant.appId, messageId, requestId: res.body.requestId, attempt: 1, outcome: 'sent', code: 'taken_over' });
      expect((await jobInState(slow, messageId, 'sent')).attempts).toBe(1);
      expect(requestsTo(simulator, '919988779009')).toHaveLength(1);
    } finally {
      await slow.close();
      await gate.close();
    }
  });

  it('finishes and records the call in flight when the service shuts down cleanly', async () => {
    const stopping = await startSendingApp(simulator, { database, env: { DISPATCH_WORKERS: '1' } });
    simulator.injectFailure({ delayMs: 700, count: 1 });
    await putUser(api, tenant, 'shutdown-1', { phoneNumber: '+919988779005' });
    const res = await postNotification(stopping, tenant, { notification: { title: 'Bye' }, sendTo: { recipients: ['shutdown-1'] } }).expect(202);
    const messageId: string = res.body.messages[0].messageId;
    await eventually(() => (requestsTo(simulator, '919988779005').length > 0 ? true : undefined), 'the call to reach Gupshup');

    await stopping.close();
    const [row] = await api.db.query<{ state: string; attempts: number }>('SELECT state, attempts FROM whatsapp_dispatch_jobs WHERE message_id = $1', [
      messageId,
    ]);
    expect(row).toEqual({ state: 'sent', attempts: 1 });
    expect(await eventTypes(api, messageId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppMessageSent']);
  });

  it('settles a parked job when another part of the service records the message as sent', async () => {
    const worker = await startSendingApp(simulator, { database, env: { DISPATCH_WORKERS: '1' } });
    try {
      await putUser(api, tenant, 'settle-1', { phoneNumber: '+919988779006' });
      const sendAt = new Date(Date.now() + 3600_000).toISOString();
      const res = await postNotification(api, tenant, { notification: { title: 'Settle' }, sendTo: { recipients: ['settle-1'] }, sendAt }).expect(202);
      const messageId: string = res.body.messages[0].messageId;
      await abandonAttempt(api, messageId);
      await jobInState(worker, messageId, 'outcome_unknown');

      // As the tracking side does when a Gupshup callback reveals the message's id.
      const sent = new WhatsAppMessageSent({ appId: tenant.appId, messageId, providerMessageId: 'gs-from-callback', attempt: 1, sentAt: new Date().toISOString() });
      await worker.app.get(EventStore).append(messageStreamId(messageId), [sent as StoreEvent<object> as StoreEvent]);
      const settled = await jobInState(worker, messageId, 'sent');
      expect(settled.providerMessageId).toBe('gs-from-callback');
      expect(await worker.app.get(OutcomeUnknownResolver).resend(messageId)).toBe(false);
      expect(requestsTo(simulator, '919988779006')).toHaveLength(0);
    } finally {
      await worker.close();
    }
  });

  it('lets an operator resend a parked message that Gupshup never got', async () => {
    const worker = await startSendingApp(simulator, { database, env: { DISPATCH_WORKERS: '1' } });
    try {
      await putUser(api, tenant, 'resend-1', { phoneNumber: '+919988779004' });
      // Scheduled an hour ahead, so that no worker takes it while it is made to look abandoned.
      const sendAt = new Date(Date.now() + 3600_000).toISOString();
      const res = await postNotification(api, tenant, { notification: { title: 'Resend' }, sendTo: { recipients: ['resend-1'] }, sendAt }).expect(202);
      const messageId: string = res.body.messages[0].messageId;
      await abandonAttempt(api, messageId);
      await jobInState(worker, messageId, 'outcome_unknown');
      expect(requestsTo(simulator, '919988779004')).toHaveLength(0);

      expect(await worker.app.get(OutcomeUnknownResolver).resend(messageId)).toBe(true);
      const sent = await jobInState(worker, messageId, 'sent');
      expect(sent.attempts).toBe(2);
      expect(requestsTo(simulator, '919988779004')).toHaveLength(1);
      expect(await eventTypes(worker, messageId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppDispatchOutcomeUnknown', 'WhatsAppDispatchResolvedByOperator', 'WhatsAppMessageSent']);
      const [, , resolved, sentEvent] = await messageEvents(worker, messageId);
      expect(resolved.data).toMatchObject({ appId: tenant.appId, messageId, attempt: 1, resolution: 'resend' });
      expect(sentEvent.data).toMatchObject({ attempt: 2 });
    } finally {
      await worker.close();
    }
  });

  it("counts an operator's dispatch:resend and dispatch:settle, run from the command line, in the service's /metrics", async () => {
    const worker = await startSendingApp(simulator, { database, env: { DISPATCH_WORKERS: '1' } });
    try {
      const sendAt = new Date(Date.now() + 3600_000).toISOString();
      const parked: string[] = [];
      for (const name of ['cli-resend-1', 'cli-settle-1']) {
        await putUser(api, tenant, name, { phoneNumber: name === 'cli-resend-1' ? '+919988779007' : '+919988779008' });
        const res = await postNotification(api, tenant, { notification: { title: 'Operator' }, sendTo: { recipients: [name] }, sendAt }).expect(202);
        const messageId: string = res.body.messages[0].messageId;
        await abandonAttempt(api, messageId);
        await jobInState(worker, messageId, 'outcome_unknown');
        parked.push(messageId);
      }
      const [toResend, toSettle] = parked;
      const instances = [api, worker];
      const resentBefore = await operatorCounts(instances, 'retry', 'operator_resend');
      const settledBefore = await operatorCounts(instances, 'sent', 'operator_settled');

      // The command's process exits at once: the service counts its decisions from their events.
      expect(await runCli(database.url, ['dispatch:resend', toResend])).toContain('queued again');
      expect(await runCli(database.url, ['dispatch:settle', toSettle, randomUUID()])).toContain('recorded as sent');

      await countedOnce(instances, 'retry', 'operator_resend', resentBefore);
      await countedOnce(instances, 'sent', 'operator_settled', settledBefore);
      await jobInState(worker, toResend, 'sent');
      await jobInState(worker, toSettle, 'sent');
    } finally {
      await worker.close();
    }
  });
});

/** One series of whatsapp_dispatch_outcomes_total in each instance's /metrics (0 while absent). */
async function operatorCounts(instances: TestApp[], outcome: string, code: string): Promise<number[]> {
  const series = new RegExp(`^whatsapp_dispatch_outcomes_total\\{outcome="${outcome}",code="${code}"\\} (\\S+)$`, 'm');
  const counts: number[] = [];
  for (const instance of instances) counts.push(Number(series.exec((await request(instance.url).get('/metrics').expect(200)).text)?.[1] ?? 0));
  return counts;
}

/**
 * Waits until one more decision is counted than `before`. Instances in separate processes count
 * it once, in whichever runs the subscription; those of one test process share one registry.
 */
async function countedOnce(instances: TestApp[], outcome: string, code: string, before: number[]): Promise<void> {
  await eventually(async () => {
    const after = await operatorCounts(instances, outcome, code);
    return Math.max(...after.map((count, index) => count - before[index])) === 1 ? true : undefined;
  }, `${outcome}/${code} counted once more in /metrics`);
}

/** The job as a worker that died between marking its request started and sending it leaves it: lease over, no answer. */
async function abandonAttempt(api: TestApp, messageId: string): Promise<void> {
  await api.db.query(
    `UPDATE whatsapp_dispatch_jobs SET state = 'in_flight', lease_token = gen_random_uuid(), locked_until = now() - interval '1 second',
            attempt_started_at = now() - interval '2 seconds' WHERE message_id = $1`,
    [messageId],
  );
}
