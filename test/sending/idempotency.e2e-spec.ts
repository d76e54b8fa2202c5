import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import type { TestApp } from '../support/test-app';
import { createTenant, jobInState, postNotification, putUser, requestsTo, startSendingApp, startSimulator, type TestTenant } from './sending-test-kit';

describe('POST /v3/notifications with an Idempotency-Key', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator);
    tenant = await createTenant(t, simulator);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  async function messageCount(): Promise<number> {
    const [row] = await t.db.query<{ count: string }>(`SELECT count(*) FROM es_streams WHERE stream_type = 'whatsapp_message'`);
    return Number(row.count);
  }

  it('replays the first response for the same key and body, and sends once', async () => {
    await putUser(t, tenant, 'idem-1', { phoneNumber: '+919988776660' });
    const body = { notification: { title: 'Once', message: 'only once' }, sendTo: { recipients: ['idem-1'] }, data: { a: 1, b: [1, 2] } };
    const first = await postNotification(t, tenant, body, { 'Idempotency-Key': 'order-42-shipped' }).expect(202);
    await jobInState(t, first.body.messages[0].messageId, 'sent');
    const before = await messageCount();

    // The same body with its keys in another order is the same request.
    const reordered = { data: { b: [1, 2], a: 1 }, sendTo: { recipients: ['idem-1'] }, notification: { message: 'only once', title: 'Once' } };
    const second = await postNotification(t, tenant, reordered, { 'Idempotency-Key': 'order-42-shipped' }).expect(202);
    expect(second.body).toEqual(first.body);
    expect(await messageCount()).toBe(before);
    expect(requestsTo(simulator, '919988776660')).toHaveLength(1);
  });

  it('answers 409 for the same key with a different body, and sends nothing more', async () => {
    await putUser(t, tenant, 'idem-2', { phoneNumber: '+919988776661' });
    const first = await postNotification(t, tenant, { notification: { title: 'A' }, sendTo: { recipients: ['idem-2'] } }, { 'Idempotency-Key': 'k-409' }).expect(202);
    await jobInState(t, first.body.messages[0].messageId, 'sent');
    const before = await messageCount();

    const conflict = await postNotification(t, tenant, { notification: { title: 'B' }, sendTo: { recipients: ['idem-2'] } }, { 'Idempotency-Key': 'k-409' }).expect(409);
    expect(conflict.body).toEqual({ statusCode: 409, message: expect.stringContaining('k-409'), error: 'Conflict' });
    expect(conflict.body.message).toContain('different body');
    expect(await messageCount()).toBe(before);
    expect(requestsTo(simulator, '919988776661')).toHaveLength(1);
  });

  it('keeps keys per app: another app may use the same key for its own notification', async () => {
    const other = await createTenant(t, simulator);
    await putUser(t, tenant, 'idem-3', { phoneNumber: '+919988776662' });
    await putUser(t, other, 'idem-3', { phoneNumber: '+919988776663' });
    const body = { notification: { title: 'Same key, two apps' }, sendTo: { recipients: ['idem-3'] } };
    const mine = await postNotification(t, tenant, body, { 'Idempotency-Key': 'shared-key' }).expect(202);
    const theirs = await postNotification(t, other, body, { 'Idempotency-Key': 'shared-key' }).expect(202);
    expect(theirs.body.requestId).not.toBe(mine.body.requestId);
    await jobInState(t, mine.body.messages[0].messageId, 'sent');
    await jobInState(t, theirs.body.messages[0].messageId, 'sent');
  });

  it('lets only one of many concurrent duplicates send; all of them get the same answer', async () => {
    await putUser(t, tenant, 'idem-4', { phoneNumber: '+919988776664' });
    const body = { notification: { title: 'Concurrent' }, sendTo: { recipients: ['idem-4'] } };
    const before = await messageCount();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => postNotification(t, tenant, body, { 'Idempotency-Key': 'burst-1' }).then((res) => res)),
    );
    for (const answer of answers) expect(answer.status).toBe(202);
    const requestIds = new Set(answers.map((answer) => answer.body.requestId));
    expect(requestIds.size).toBe(1);
    expect(new Set(answers.map((answer) => JSON.stringify(answer.body))).size).toBe(1);
    await jobInState(t, answers[0].body.messages[0].messageId, 'sent');
    expect(await messageCount()).toBe(before + 1);
    expect(requestsTo(simulator, '919988776664')).toHaveLength(1);
  });

  it('does not remember a key whose request failed, so the fixed request goes through', async () => {
    await putUser(t, tenant, 'idem-5', { phoneNumber: '+919988776665' });
    await postNotification(t, tenant, { notification: {}, sendTo: { recipients: ['idem-5'] } }, { 'Idempotency-Key': 'fix-me' }).expect(400);
    const fixed = await postNotification(t, tenant, { notification: { title: 'Fixed' }, sendTo: { recipients: ['idem-5'] } }, { 'Idempotency-Key': 'fix-me' }).expect(202);
    await jobInState(t, fixed.body.messages[0].messageId, 'sent');
  });

  it('treats a key past its 24 hours as new', async () => {
    await putUser(t, tenant, 'idem-6', { phoneNumber: '+919988776666' });
    const body = { notification: { title: 'Daily' }, sendTo: { recipients: ['idem-6'] } };
    const first = await postNotification(t, tenant, body, { 'Idempotency-Key': 'daily' }).expect(202);
    await jobInState(t, first.body.messages[0].messageId, 'sent');
    // Age the key past its window, as if a day had gone by.
    await t.db.query(`UPDATE whatsapp_idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'daily'`);
    const next = await postNotification(t, tenant, body, { 'Idempotency-Key': 'daily' }).expect(202);
    expect(next.body.requestId).not.toBe(first.body.requestId);
    await jobInState(t, next.body.messages[0].messageId, 'sent');
    expect(requestsTo(simulator, '919988776666')).toHaveLength(2);
  });
});
