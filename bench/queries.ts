/**
 * Benchmark 4, queries: GET /v3/messages/{id} for random known messages and the first page of
 * GET /v3/messages?status=... (each status in turn), from 8 connections, with 1,000,000 messages
 * of the app in the views (built by projections:rebuild) and a second app's messages
 * beside them. Two baselines measured in the same run: the same route refused before any database
 * work (the HTTP, guard and Nest cost), and the same statements sent straight from a pg client at
 * the same concurrency (the database cost). A sample of answers is checked against what was loaded.
 * BENCH_QUERIES_KEEP_DATABASE=1 keeps the loaded database (bench_queries) for EXPLAIN afterwards.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'pg';
import { Database } from '../src/database/database';
import { queryMessageRows } from '../src/whatsapp/queries/message-rows';
import { GET_MESSAGE_SQL } from '../src/whatsapp/queries/messages/get-message.query';
import { listMessagesStatement } from '../src/whatsapp/queries/messages/list-messages.query';
import { createApp, type BenchApp } from './lib/api';
import { loadRequests, type LoadedStatus } from './lib/event-loader';
import { runLoad, type LoadRequest, type LoadResult } from './lib/load';
import type { BenchPostgres } from './lib/postgres';
import { runStandalone } from './lib/standalone';
import { percentile, VIEWS_SUBSCRIPTION } from './lib/projection-lag';
import { formatNumber, publishRun, type Figure } from './lib/report';
import { runCli, startService, type RunningProcess } from './lib/service';

const CONNECTIONS = 8;
const SECONDS = Number(process.env.BENCH_QUERIES_SECONDS ?? 10);
const MESSAGES = Number(process.env.BENCH_QUERIES_MESSAGES ?? 1_000_000);
const PER_REQUEST = 1000;
/** Requests loaded per loadRequests call: only a sample of each batch's ids is kept in memory. */
const REQUESTS_PER_BATCH = 50;
const OTHER_APP_MESSAGES = 5_000;
/** One loaded message in this many is kept as a known id to query. */
const SAMPLE_EVERY = 20;
const CHECKED_ANSWERS = 2_000;
const STATUSES: LoadedStatus[] = ['queued', 'sent', 'delivered', 'seen', 'discarded'];
/** Timeline entries of a loaded message at each status (see requestStreams in lib/event-loader). */
const TIMELINE_LENGTH: Record<LoadedStatus, number> = { queued: 1, sent: 2, delivered: 3, seen: 4, discarded: 2 };

interface KnownMessage {
  messageId: string;
  status: LoadedStatus;
}

/**
 * 10% queued, 30% sent, 35% delivered, 20% seen, 5% discarded, by position in the request:
 * 37 is coprime with 100, so each run of 100 positions has exactly that mix, spread out.
 */
function statusOf(position: number): LoadedStatus {
  const bucket = (position * 37) % 100;
  if (bucket < 10) return 'queued';
  if (bucket < 40) return 'sent';
  if (bucket < 75) return 'delivered';
  if (bucket < 95) return 'seen';
  return 'discarded';
}

/** The loader names the recipients user-{position in the request}. */
function positionOf(recipient: string): number {
  return Number(recipient.slice('user-'.length));
}

/** Loads `messages` messages for the app in batches; returns a sample of their ids and how many events were written. */
export async function load(databaseUrl: string, appId: string, messages: number): Promise<{ known: KnownMessage[]; events: number }> {
  const known: KnownMessage[] = [];
  let events = 0;
  for (let done = 0; done < messages; done += REQUESTS_PER_BATCH * PER_REQUEST) {
    const requests = Math.min(REQUESTS_PER_BATCH, Math.ceil((messages - done) / PER_REQUEST));
    const batch = await loadRequests(databaseUrl, appId, { requests, perRequest: PER_REQUEST, status: (i) => statusOf(i % PER_REQUEST), keepMessages: true });
    events += batch.events;
    for (let m = 0; m < batch.messages.length; m += SAMPLE_EVERY) {
      const message = batch.messages[m];
      known.push({ messageId: message.messageId, status: statusOf(positionOf(message.recipient)) });
    }
  }
  return { known, events };
}

/**
 * Lets the database settle before measuring: VACUUM (ANALYZE) does what autovacuum does after a
 * million inserts (visibility map, hint bits, planner statistics), whether or not the server runs
 * autovacuum, and a CHECKPOINT writes out what the load and the vacuum left dirty, so that the
 * first measured run does not share the disk and CPU with that write-back. Returns the time taken.
 */
export async function settle(databaseUrl: string): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  const started = Date.now();
  try {
    await pool.query('VACUUM (ANALYZE) message_status_view, notification_summary_view');
    await pool.query('CHECKPOINT');
  } finally {
    await pool.end();
  }
  return Date.now() - started;
}

/**
 * Runs the i-th statement from CONNECTIONS pg clients in a closed loop for `seconds`, the way the
 * service sends it (prepared, rows decoded by the same parsers); latencies in ms.
 */
async function pgClientLoad(databaseUrl: string, seconds: number, statement: (index: number) => { text: string; values: unknown[] }): Promise<LoadResult> {
  const pool = new Pool({ connectionString: databaseUrl, max: CONNECTIONS });
  const db = new Database(pool);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  try {
    const client = async () => {
      while (performance.now() < deadline) {
        const { text, values } = statement(next++);
        const begin = performance.now();
        await queryMessageRows(db, text, values);
        latencies.push(performance.now() - begin);
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, client));
  } finally {
    await pool.end();
  }
  const elapsed = (performance.now() - started) / 1000;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { rate: latencies.length / elapsed, ok: latencies.length, failed: 0, errors: 0, p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), seconds: elapsed };
}

/** Microseconds that some task has waited for a CPU since boot (Linux PSI), or undefined where not available. */
function cpuWaitMicros(): number | undefined {
  try {
    return Number(/^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1]) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `work` and tells the share of its time during which some task on the machine was waiting
 * for a CPU: other programs (other benchmarks) sharing the cores show up here, and explain latencies.
 */
async function underPressure<T>(work: () => Promise<T>): Promise<T & { cpuPressure?: number }> {
  const before = cpuWaitMicros();
  const started = performance.now();
  const result = await work();
  const after = cpuWaitMicros();
  const share = before !== undefined && after !== undefined ? (after - before) / 10 / (performance.now() - started) : undefined;
  return { ...result, cpuPressure: share };
}

/** A warm-up, then the measured run. */
async function measure(url: string, request: (index: number) => LoadRequest): Promise<LoadResult & { cpuPressure?: number }> {
  await runLoad({ url, connections: CONNECTIONS, durationSeconds: 2, request });
  return underPressure(() => runLoad({ url, connections: CONNECTIONS, durationSeconds: SECONDS, request }));
}

/** Fetches a sample of messages and first pages, and counts the answers that do not match what was loaded. */
async function check(serviceUrl: string, app: BenchApp, known: KnownMessage[], foreign: KnownMessage[]): Promise<{ checked: number; wrong: number; notes: string[] }> {
  const notes: string[] = [];
  let wrong = 0;
  let checked = 0;
  const step = Math.max(1, Math.floor(known.length / CHECKED_ANSWERS));
  for (let i = 0; i < known.length; i += step) {
    const { messageId, status } = known[i];
    const response = await fetch(`${serviceUrl}/v3/messages/${messageId}`, { headers: app.headers });
    const body = (await response.json()) as { messageId?: string; status?: string; timeline?: unknown[] };
    checked++;
    if (response.status !== 200 || body.messageId !== messageId || body.status !== status || body.timeline?.length !== TIMELINE_LENGTH[status]) {
      if (wrong++ < 3) notes.push(`GET /v3/messages/${messageId}: expected ${status}, answered ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
  }
  // Another app's message must not be found, as if it did not exist.
  for (const { messageId } of foreign.slice(0, 50)) {
    const response = await fetch(`${serviceUrl}/v3/messages/${messageId}`, { headers: app.headers });
    await response.arrayBuffer();
    checked++;
    if (response.status !== 404 && wrong++ < 3) notes.push(`another app's message ${messageId} answered ${response.status}`);
  }
  const foreignIds = new Set(foreign.map((m) => m.messageId));
  for (const status of STATUSES) {
    const response = await fetch(`${serviceUrl}/v3/messages?status=${status}`, { headers: app.headers });
    const body = (await response.json()) as { data?: Array<{ messageId: string; status: string; queuedAt: string }>; nextCursor?: string | null };
    checked++;
    const data = body.data ?? [];
    const ordered = data.every((m, i) => i === 0 || data[i - 1].queuedAt > m.queuedAt || (data[i - 1].queuedAt === m.queuedAt && data[i - 1].messageId > m.messageId));
    if (response.status !== 200 || data.length !== 20 || !body.nextCursor || !ordered || data.some((m) => m.status !== status || foreignIds.has(m.messageId))) {
      if (wrong++ < 3) notes.push(`GET /v3/messages?status=${status}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
  }
  return { checked, wrong, notes };
}

export async function queriesBenchmark(postgres: BenchPostgres): Promise<void> {
  const databaseUrl = await postgres.createDatabase('bench_queries');
  const notes: string[] = [];
  let service: RunningProcess | undefined;
  try {
    // The schema and the apps first; then the events go in with no service running, and the
    // views are built by projections:rebuild, the quickest way to a million projected messages.
    const setup = await startService(databaseUrl, { SUBSCRIPTIONS_ENABLED: 'false', DISPATCH_WORKERS: '0' }, 'queries-setup');
    const [app, other] = await Promise.all([createApp(setup.url, 'Bench queries'), createApp(setup.url, 'Bench queries, other app')]).finally(() => setup.stop());
    const started = Date.now();
    const foreign = await load(databaseUrl, other.id, OTHER_APP_MESSAGES);
    const loaded = await load(databaseUrl, app.id, MESSAGES);
    const loadedMs = Date.now() - started;
    const rebuild = JSON.parse((await runCli(databaseUrl, ['projections:rebuild', VIEWS_SUBSCRIPTION])).trim().split('\n').pop()!) as { events: number; seconds: number };
    notes.push(
      `${MESSAGES.toLocaleString('en-US')} messages of the app and ${OTHER_APP_MESSAGES.toLocaleString('en-US')} of another (10% queued, 30% sent, 35% delivered, 20% seen, 5% discarded; ` +
        `${(loaded.events + foreign.events).toLocaleString('en-US')} events) loaded in ${(loadedMs / 1000).toFixed(0)} s, projected by projections:rebuild in ${rebuild.seconds.toFixed(0)} s`,
    );
    // Measured with the subscriptions off: nothing new arrives, and the other subscriptions'
    // backlog (correlations of a million sends) is not what this benchmark is about.
    service = await startService(databaseUrl, { SUBSCRIPTIONS_ENABLED: 'false' }, 'queries-service');
    notes.push(`VACUUM (ANALYZE) of the views and a CHECKPOINT before measuring: ${((await settle(databaseUrl)) / 1000).toFixed(0)} s`);
    const known = loaded.known;
    const pick = () => known[Math.floor(Math.random() * known.length)];

    const getMessage = await measure(service.url, () => ({ method: 'GET', path: `/v3/messages/${pick().messageId}`, headers: app.headers }));
    const listByStatus = await measure(service.url, (i) => ({ method: 'GET', path: `/v3/messages?status=${STATUSES[i % STATUSES.length]}`, headers: app.headers }));
    // Same route, guard and validation, refused before any database work.
    const noDatabase = await measure(service.url, () => ({ method: 'GET', path: '/v3/messages?status=unknown', headers: app.headers }));
    const noDatabaseRate = (noDatabase.ok + noDatabase.failed) / noDatabase.seconds;

    const sqlGet = await underPressure(() => pgClientLoad(databaseUrl, SECONDS, () => ({ text: GET_MESSAGE_SQL, values: [pick().messageId, app.id] })));
    const sqlList = await underPressure(() => pgClientLoad(databaseUrl, SECONDS, (i) => listMessagesStatement(app.id, { status: STATUSES[i % STATUSES.length] })));
    const answers = await check(service.url, app, known, foreign.known);
    notes.push(...answers.notes);

    const httpBaseline = `same route without database work (GET /v3/messages?status=unknown: guard, validation, 400): ${formatNumber(noDatabaseRate)} req/s, p50 ${noDatabase.p50} ms, p99 ${noDatabase.p99} ms`;
    const figures: Figure[] = [
      { name: `GET /v3/messages/{id} rate (${CONNECTIONS} connections)`, value: getMessage.rate, unit: '/s', baseline: `pg client, same SQL: ${formatNumber(sqlGet.rate)} queries/s` },
      { name: 'GET /v3/messages/{id} p50', value: getMessage.p50, unit: 'ms', baseline: `pg client, same SQL: ${sqlGet.p50} ms` },
      { name: 'GET /v3/messages/{id} p99', value: getMessage.p99, unit: 'ms', target: { op: '<=', value: 10 }, baseline: `pg client, same SQL: ${sqlGet.p99} ms; ${httpBaseline}` },
      { name: `GET /v3/messages?status= first page rate (${CONNECTIONS} connections)`, value: listByStatus.rate, unit: '/s', baseline: `pg client, same SQL: ${formatNumber(sqlList.rate)} queries/s` },
      { name: 'GET /v3/messages?status= first page p50', value: listByStatus.p50, unit: 'ms', baseline: `pg client, same SQL: ${sqlList.p50} ms` },
      { name: 'GET /v3/messages?status= first page p99', value: listByStatus.p99, unit: 'ms', target: { op: '<=', value: 50 }, baseline: `pg client, same SQL: ${sqlList.p99} ms; ${httpBaseline}` },
      { name: `wrong answers among ${answers.checked.toLocaleString('en-US')} checked`, value: answers.wrong, unit: '', target: { op: '<=', value: 0 } },
    ];
    for (const [name, result] of [
      ['GET /v3/messages/{id}', getMessage],
      ['GET /v3/messages?status=', listByStatus],
    ] as const) {
      notes.push(`${name}: ${result.ok.toLocaleString('en-US')} answered 2xx in ${result.seconds.toFixed(1)} s, ${result.failed} non-2xx, ${result.errors} errors`);
    }
    const pressure = (result: { cpuPressure?: number }) => (result.cpuPressure === undefined ? 'n/a' : `${result.cpuPressure.toFixed(0)}%`);
    notes.push(
      `share of each run's time with some task waiting for a CPU (/proc/pressure/cpu: the benchmark's own processes account for some, other programs on the machine for the rest): ` +
        `GET by id ${pressure(getMessage)}, first pages ${pressure(listByStatus)}, no-database route ${pressure(noDatabase)}, pg client by id ${pressure(sqlGet)}, pg client first pages ${pressure(sqlList)}`,
    );
    notes.push(`whole run ${((Date.now() - started) / 1000).toFixed(0)} s from the start of the load`);
    publishRun('queries', postgres, figures, notes);
  } finally {
    await service?.stop();
    // Kept on request, to EXPLAIN the queries on the loaded views afterwards.
    if (!process.env.BENCH_QUERIES_KEEP_DATABASE) await postgres.dropDatabase('bench_queries');
  }
}

if (require.main === module) runStandalone(queriesBenchmark);
