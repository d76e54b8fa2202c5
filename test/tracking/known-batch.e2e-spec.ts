import { randomUUID } from 'node:crypto';
import type { QueryResultRow } from 'pg';
import type { SqlExecutor } from '../../src/database/database';
import type { DeliveryReport } from '../../src/whatsapp/gupshup/callback-parser';
import { OutcomeUnknownResolver } from '../../src/whatsapp/sending';
import { writeCallbackBatch, writeKnownCallbackBatch, type CallbackSubmission } from '../../src/whatsapp/tracking/callback-batch';
import type { LostDispatchSettler } from '../../src/whatsapp/tracking/dispatch-reconciliation';
import { parkReports } from '../../src/whatsapp/tracking/parked-callbacks';
import { providerLockKey } from '../../src/whatsapp/tracking/tracking-locks';
import { mapConcurrently } from '../support/concurrency';
import type { TestApp } from '../support/test-app';
import { catchUp, createTenant, deliveryEvents, eventually, parkedRows, postCallback, queueMessage, startTrackingApp, type TrackingTenant } from './tracking-kit';

const T0 = Date.UTC(2026, 0, 12, 9, 0, 0);
/** The service's pool has 10 connections (test-app.ts); a raced pair of writes holds two at most. */
const PAIRS_AT_ONCE = 4;

/** The real database, with every statement sent through it written down. */
class RecordingExecutor implements SqlExecutor {
  readonly statements: string[] = [];
  constructor(private readonly inner: SqlExecutor) {}
  query<R extends QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    this.statements.push(sql);
    return this.inner.query<R>(sql, params);
  }
}

function report(status: DeliveryReport['providerStatus'], ids: { gupshup?: string; whatsapp?: string }, atMs: number): DeliveryReport {
  return {
    format: 'v2',
    providerStatus: status,
    occurredAt: new Date(atMs),
    ...(ids.gupshup !== undefined && { gupshupMessageId: ids.gupshup }),
    ...(ids.whatsapp !== undefined && { whatsappMessageId: ids.whatsapp }),
  };
}

function submission(appId: string, reports: DeliveryReport[], problems: string[] = []): CallbackSubmission {
  return { appId, receivedAt: new Date(T0 + 60_000), rawBody: '{}', authenticated: true, reports, problems };
}

describe('a webhook batch whose every report names a known message', () => {
  let t: TestApp;
  /** Each test's own app: what one leaves parked is no other's business. */
  let tenant: TrackingTenant;
  beforeAll(async () => (t = await startTrackingApp()));
  beforeEach(async () => (tenant = await createTenant(t)));
  afterAll(() => t.close());

  /** Messages recorded as sent, which the tracking subscription has seen. */
  async function sentMessages(count: number) {
    const messages = await mapConcurrently(Array.from({ length: count }), PAIRS_AT_ONCE, async () => {
      const gupshupId = randomUUID();
      const message = await queueMessage(t, tenant.id, { gupshupId });
      return { ...message, gupshupId, whatsappId: `wamid.known-${randomUUID()}` };
    });
    await catchUp(t);
    return messages;
  }

  async function sentMessage() {
    const [message] = await sentMessages(1);
    return message;
  }

  async function correlationsOf(whatsappId: string) {
    return t.db.query<{ message_id: string }>(
      `SELECT message_id FROM tracking_correlations WHERE app_id = $1 AND provider_id_kind = 'whatsapp' AND provider_id = $2`,
      [tenant.id, whatsappId],
    );
  }

  it('is stored by one lookup and one statement, outside any explicit transaction, learning the WhatsApp ids it carries', async () => {
    const a = await sentMessage();
    const b = await sentMessage();
    const db = new RecordingExecutor(t.db);
    const result = await writeKnownCallbackBatch(db, [
      submission(tenant.id, [report('delivered', { gupshup: a.gupshupId, whatsapp: a.whatsappId }, T0 + 1000)]),
      submission(tenant.id, [report('delivered', { gupshup: b.gupshupId, whatsapp: b.whatsappId }, T0 + 1000), report('read', { gupshup: b.gupshupId }, T0 + 2000)]),
    ]);

    expect(result?.results).toEqual([{ outcomes: ['applied'] }, { outcomes: ['applied', 'applied'] }]);
    expect(result?.appended.map((event) => event.data.providerStatus)).toEqual(['delivered', 'delivered', 'read']);
    expect(db.statements).toHaveLength(2);
    expect(db.statements.some((sql) => /^\s*(BEGIN|COMMIT)/i.test(sql))).toBe(false);
    expect((await deliveryEvents(t, a.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered']);
    expect((await deliveryEvents(t, b.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered', 'read']);
    expect(await correlationsOf(a.whatsappId)).toEqual([{ message_id: a.messageId }]);
    expect(await correlationsOf(b.whatsappId)).toEqual([{ message_id: b.messageId }]);
  });

  it('stores an event once: copies within the batch and of events already stored are duplicates', async () => {
    const a = await sentMessage();
    const delivered = report('delivered', { gupshup: a.gupshupId, whatsapp: a.whatsappId }, T0 + 1000);
    expect((await writeKnownCallbackBatch(t.db, [submission(tenant.id, [delivered])]))?.results).toEqual([{ outcomes: ['applied'] }]);
    const again = await writeKnownCallbackBatch(t.db, [
      submission(tenant.id, [delivered]),
      // A late copy without gsId is found by the WhatsApp id the first one taught.
      submission(tenant.id, [report('delivered', { whatsapp: a.whatsappId }, T0 + 1000), report('read', { whatsapp: a.whatsappId }, T0 + 3000)]),
      submission(tenant.id, [report('read', { gupshup: a.gupshupId, whatsapp: a.whatsappId }, T0 + 3000)]),
    ]);
    expect(again?.results).toEqual([{ outcomes: ['duplicate'] }, { outcomes: ['duplicate', 'applied'] }, { outcomes: ['duplicate'] }]);
    expect(again?.appended).toHaveLength(1);
    expect((await deliveryEvents(t, a.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered', 'read']);
  });

  it('leaves to the full path, having written nothing, a batch with a report for an unknown id', async () => {
    const a = await sentMessage();
    const unknownGupshupId = randomUUID();
    const result = await writeKnownCallbackBatch(t.db, [
      submission(tenant.id, [report('delivered', { gupshup: a.gupshupId, whatsapp: a.whatsappId }, T0 + 1000)]),
      submission(tenant.id, [report('delivered', { gupshup: unknownGupshupId }, T0 + 1000)]),
    ]);
    expect(result).toBeNull();
    expect(await deliveryEvents(t, a.messageId)).toEqual([]);
    expect(await correlationsOf(a.whatsappId)).toEqual([]);
  });

  it('leaves to the full path a batch with an unreadable part', async () => {
    const a = await sentMessage();
    const result = await writeKnownCallbackBatch(t.db, [
      submission(tenant.id, [report('delivered', { gupshup: a.gupshupId }, T0 + 1000)], ['v2 delivered: no usable message id']),
    ]);
    expect(result).toBeNull();
    expect(await deliveryEvents(t, a.messageId)).toEqual([]);
  });

  it('never strands a receipt without gsId parked while a batch teaches its WhatsApp id', async () => {
    const resolver = t.app.get(OutcomeUnknownResolver);
    const settle: LostDispatchSettler = (messageId, gupshupId, tx) => resolver.settleAsSent(messageId, gupshupId, tx);
    const messages = await sentMessages(150);
    // For each message at the same moment: the one-statement path teaching its WhatsApp id, and the
    // full path parking a receipt that carries only that id. A few messages race at a time.
    await mapConcurrently(messages, PAIRS_AT_ONCE, async (m) => {
      const teaching = submission(tenant.id, [report('delivered', { gupshup: m.gupshupId, whatsapp: m.whatsappId }, T0 + 1000)]);
      const receipt = submission(tenant.id, [report('read', { whatsapp: m.whatsappId }, T0 + 3000)]);
      await Promise.all([
        writeKnownCallbackBatch(t.db, [teaching]).then((done) => done ?? t.db.transaction((tx) => writeCallbackBatch(tx, [teaching], settle))),
        t.db.transaction((tx) => writeCallbackBatch(tx, [receipt], settle)),
      ]);
    });
    expect(await parkedRows(t, tenant.id)).toEqual([]);
    for (const m of messages) {
      expect((await deliveryEvents(t, m.messageId)).map((event) => event.data.providerStatus).sort()).toEqual(['delivered', 'read']);
    }
  });

  it("waits for the lock of a WhatsApp id it teaches, so it sees a report parked under that lock and leaves the batch to the full path", async () => {
    const m = await sentMessage();
    const key = providerLockKey({ appId: tenant.id, kind: 'whatsapp', providerId: m.whatsappId });
    await t.db.withClient(async (parker) => {
      // A webhook transaction half way: it holds the id's lock and has parked a receipt, not yet committed.
      await parker.query('BEGIN');
      await parker.query('SELECT pg_advisory_xact_lock($1)', [String(key)]);
      await parkReports({ query: async (sql, params) => (await parker.query(sql, params as unknown[])).rows }, [
        { appId: tenant.id, report: report('read', { whatsapp: m.whatsappId }, T0 + 3000), rawBody: '{}', receivedAt: new Date(T0 + 60_000) },
      ]);
      const teaching = writeKnownCallbackBatch(t.db, [submission(tenant.id, [report('delivered', { gupshup: m.gupshupId, whatsapp: m.whatsappId }, T0 + 1000)])]);
      await eventually(async () => {
        // This database's waiting advisory locks only: other test files share the server.
        const [row] = await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        return row.n > 0 ? true : undefined;
      }, 'the batch to wait for the lock');
      await parker.query('COMMIT');
      expect(await teaching).toBeNull();
    });
    expect(await correlationsOf(m.whatsappId)).toEqual([]);
    expect(await deliveryEvents(t, m.messageId)).toEqual([]);

    // The full path then applies the batch and the receipt that waited.
    const resolver = t.app.get(OutcomeUnknownResolver);
    await t.db.transaction((tx) =>
      writeCallbackBatch(tx, [submission(tenant.id, [report('delivered', { gupshup: m.gupshupId, whatsapp: m.whatsappId }, T0 + 1000)])], (id, gupshupId, executor) =>
        resolver.settleAsSent(id, gupshupId, executor),
      ),
    );
    expect(await parkedRows(t, tenant.id)).toEqual([]);
    expect((await deliveryEvents(t, m.messageId)).map((event) => event.data.providerStatus).sort()).toEqual(['delivered', 'read']);
  });

  it('leaves to the full path, having written nothing, a batch that teaches an id a parked report waits for; the webhook then applies both', async () => {
    const a = await sentMessage();
    // A receipt without gsId before any callback taught its WhatsApp id: parked.
    await postCallback(t, tenant.apiKey, {
      app: 'DemoAPI',
      timestamp: T0 + 3000,
      version: 2,
      type: 'message-event',
      payload: { id: a.whatsappId, type: 'read', destination: '919985010102', payload: { ts: (T0 + 3000) / 1000 } },
    }).expect(200);
    expect(await parkedRows(t, tenant.id)).toEqual([expect.objectContaining({ state: 'waiting', whatsapp_message_id: a.whatsappId })]);

    const teaching = report('delivered', { gupshup: a.gupshupId, whatsapp: a.whatsappId }, T0 + 1000);
    expect(await writeKnownCallbackBatch(t.db, [submission(tenant.id, [teaching])])).toBeNull();
    expect(await deliveryEvents(t, a.messageId)).toEqual([]);
    expect(await correlationsOf(a.whatsappId)).toEqual([]);

    await postCallback(t, tenant.apiKey, {
      app: 'DemoAPI',
      timestamp: T0 + 1000,
      version: 2,
      type: 'message-event',
      payload: { id: a.whatsappId, gsId: a.gupshupId, type: 'delivered', destination: '919985010102', payload: { ts: (T0 + 1000) / 1000 } },
    }).expect(200);
    expect(await parkedRows(t, tenant.id)).toEqual([]);
    expect((await deliveryEvents(t, a.messageId)).map((event) => event.data.providerStatus).sort()).toEqual(['delivered', 'read']);
  });
});
