import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Client, types } from 'pg';
import request from 'supertest';
import { EventStore } from '../../src/event-store';
import { MESSAGE_STATUS_COLUMNS, messageViewFromRow, type MessageStatusRow } from '../../src/whatsapp/projections/message-status-row';
import { messageResponse } from '../../src/whatsapp/queries/message-response';
import { isoFromTimestamptz, MESSAGE_RESPONSE_COLUMNS, messageResponseFromRow, queryMessageRows, type MessageResponseRow } from '../../src/whatsapp/queries/message-rows';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestApp, type TestApp } from '../support/test-app';
import {
  appendRequest,
  appendToMessage,
  at,
  build,
  createApp,
  newMessageIds,
  waitForProjections,
  type TestAppCredentials,
} from '../projections/whatsapp-test-data';

const defaultTimestamptz = types.getTypeParser(1184, 'text') as (text: string) => Date;

/** What the API showed for a time before the queries read it as text: node-postgres's Date, then toISOString. */
function viaDate(text: string): string {
  try {
    return defaultTimestamptz(text).toISOString();
  } catch (error) {
    return `throws ${(error as Error).name}`;
  }
}

function viaText(text: string): string {
  try {
    return isoFromTimestamptz(text);
  } catch (error) {
    return `throws ${(error as Error).name}`;
  }
}

describe('timestamptz as ISO text', () => {
  let database: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    client = new Client({ connectionString: database.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  /** How PostgreSQL prints each time in the current session. */
  async function printed(times: string[]): Promise<string[]> {
    const { rows } = await client.query<{ text: string }>('SELECT t::text AS text FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(t, n) ORDER BY n', [times]);
    return rows.map((row) => row.text);
  }

  const edges = [
    '2026-03-01T10:00:00Z',
    '2026-03-01T10:00:00.1Z',
    '2026-03-01T10:00:00.12Z',
    '2026-03-01T10:00:00.999999Z',
    '2026-03-01T10:00:00.000001Z',
    '2026-03-01T10:00:00.0005Z',
    '1969-12-31T23:59:59.999Z',
    '1970-01-01T00:00:00Z',
    '0099-06-15T12:00:00.5Z',
    '1000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999Z',
    '10000-01-01 00:00:00+00',
    '0044-03-15 12:00:00+00 BC',
    '2026-03-29T01:30:00+05:30',
  ];

  it.each(['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Europe/London'])('is what the Date path gave, in time zone %s', async (zone) => {
    await client.query(`SET TimeZone = '${zone}'`);
    for (const text of await printed(edges)) expect([text, viaText(text)]).toEqual([text, viaDate(text)]);
    // Microsecond times over five centuries: the fraction is truncated to milliseconds, as Date does.
    const times = fc.tuple(fc.bigInt({ min: BigInt(Date.UTC(1500, 0, 1)), max: BigInt(Date.UTC(2500, 0, 1)) }), fc.integer({ min: 0, max: 999 }));
    const samples = fc.sample(times, 2000).map(([ms, us]) => `${new Date(Number(ms)).toISOString().slice(0, 23)}${String(us).padStart(3, '0')}Z`);
    for (const text of await printed(samples)) expect([text, viaText(text)]).toEqual([text, viaDate(text)]);
  });

  it('falls back to the Date path for other date styles', async () => {
    await client.query(`SET TimeZone = 'UTC'`);
    for (const style of ['SQL, DMY', 'Postgres, MDY', 'German']) {
      await client.query(`SET DateStyle = '${style}'`);
      for (const text of await printed(edges)) expect([text, viaText(text)]).toEqual([text, viaDate(text)]);
    }
    await client.query(`SET DateStyle = 'ISO, MDY'`);
  });
});

describe('messages read for the API', () => {
  let t: TestApp;
  let store: EventStore;
  let app: TestAppCredentials;
  const requestId = randomUUID();

  beforeAll(async () => {
    t = await startTestApp();
    store = t.app.get(EventStore);
    app = await createApp(t);
    const t0 = '2026-06-01T08:00:00.000Z';
    const messages = Array.from({ length: 6 }, (_, i) => newMessageIds(app.id, requestId, `user-${i}`));
    await appendRequest(store, build.requested(app.id, requestId, messages, t0));
    const [queued, sent, seen, failed, noPhone, retried] = messages;
    await appendToMessage(store, queued, [build.queued(queued, t0)]);
    // Provider times with microseconds, as Gupshup's v3 callbacks may carry.
    await appendToMessage(store, sent, [build.queued(sent, t0), build.sent(sent, '2026-06-01T08:00:01.123456Z')]);
    await appendToMessage(store, seen, [
      build.queued(seen, t0),
      build.sent(seen, at(t0, 900)),
      build.callback(seen, 'read', '2026-06-01T08:01:00.000999Z'),
      build.callback(seen, 'delivered', at(t0, 4000)),
    ]);
    await appendToMessage(store, failed, [
      build.queued(failed, t0),
      build.sent(failed, at(t0, 900)),
      build.callback(failed, 'failed', at(t0, 3000), { code: '1002', reason: 'Number does not exist on WhatsApp' }),
    ]);
    await appendToMessage(store, { ...noPhone, phoneNumber: null }, [build.queued({ ...noPhone, phoneNumber: null }, t0), build.discarded(noPhone, t0)]);
    await appendToMessage(store, retried, [build.queued(retried, t0), build.dispatchFailed(retried, at(t0, 500), 1, at(t0, 1500))]);
    await waitForProjections(t);
  });
  afterAll(() => t?.close());

  /** Each message as the domain's view gives it, read with every column and node-postgres's own parsers. */
  async function fromViews(): Promise<Map<string, string>> {
    const rows = await t.db.query<MessageStatusRow>(`SELECT ${MESSAGE_STATUS_COLUMNS} FROM message_status_view m WHERE m.app_id = $1`, [app.id]);
    return new Map(rows.map((row) => [row.message_id, JSON.stringify(messageResponse(messageViewFromRow(row)))]));
  }

  it('makes the same message, key for key, as the domain view', async () => {
    const expected = await fromViews();
    expect(expected.size).toBe(6);
    const rows = await queryMessageRows<MessageResponseRow>(t.db, `SELECT ${MESSAGE_RESPONSE_COLUMNS} FROM message_status_view m WHERE m.app_id = $1`, [app.id]);
    expect(new Map(rows.map((row) => [row.message_id, JSON.stringify(messageResponseFromRow(row))]))).toEqual(expected);
  });

  it('answers GET /v3/messages/{id}, GET /v3/messages and GET /v3/notifications/{id} with those messages', async () => {
    const expected = await fromViews();
    for (const [messageId, json] of expected) {
      const response = await request(t.url).get(`/v3/messages/${messageId}`).set(app.headers).expect(200);
      expect(response.text).toBe(json);
    }
    const list = await request(t.url).get('/v3/messages').query({ limit: 4 }).set(app.headers).expect(200);
    expect(list.body.data).toHaveLength(4);
    for (const message of list.body.data) expect(JSON.stringify(message)).toBe(expected.get(message.messageId));
    const next = await request(t.url).get('/v3/messages').query({ limit: 4, cursor: list.body.nextCursor }).set(app.headers).expect(200);
    expect([...list.body.data, ...next.body.data].map((m: { messageId: string }) => m.messageId).sort()).toEqual([...expected.keys()].sort());
    expect(next.body.nextCursor).toBeNull();
    const notification = await request(t.url).get(`/v3/notifications/${requestId}`).set(app.headers).expect(200);
    for (const message of notification.body.messages) expect(JSON.stringify(message)).toBe(expected.get(message.messageId));
    expect(notification.body.messages).toHaveLength(6);
  });
});
