/**
 * Benchmark 1, callback ingestion. Messages that exist: an app created through the admin API, its
 * Gupshup provider pointed at the project's simulator, notifications queued through
 * POST /v3/notifications and sent by the service's dispatcher. Then their delivered and read
 * callbacks, in the simulator's v2 shapes, posted by autocannon from 64 connections to the
 * callback URL the API gives for the app, in two layouts: one process with every role, and an
 * API process beside a subscriptions process (ROLES). For each: acknowledged callbacks a
 * second, p50 and p99; the drain (from the end of the load until the views reflect every
 * acknowledged callback and every subscription has caught up); zero loss (applied statuses ==
 * acknowledged callbacks, also checked through GET /v3/messages/{id}) and nothing recorded twice.
 * Baselines in the same run: a no-op endpoint on the same NestJS Fastify adapter, and pgbench
 * inserting one row per transaction into a copy of the event table. With BENCH_COMPARE_REF=<commit>
 * the same runs are made against that commit's build too, alternating with this checkout's.
 */
import { Pool } from 'pg';
import { buildCallbackBody, newWhatsAppMessageId } from '../tools/simulator/callback-payloads';
import { createApp, enableGupshup, getJson, gupshupProvider, postJson, type BenchApp } from './lib/api';
import { prepareCompareBuild, THIS_BUILD, type ServiceBuild } from './lib/compare-build';
import { cpuMeter, processCpuSeconds } from './lib/cpu-usage';
import { runLoad, type LoadResult } from './lib/load';
import { runPgbench } from './lib/pgbench';
import type { BenchPostgres } from './lib/postgres';
import { percentile, sampleLag, secondsBehind, waitForSubscriptions } from './lib/projection-lag';
import { formatNumber, publishRun, type Figure } from './lib/report';
import { runStandalone } from './lib/standalone';
import { startProcess, startService, type RunningProcess } from './lib/service';
import { findFreePort } from '../src/database/embedded-postgres';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_INGESTION_SECONDS ?? 15);
const WARMUP_SECONDS = 3;
/** Sent messages per run; each gets a delivered and a read callback. */
const MESSAGES = Number(process.env.BENCH_INGESTION_MESSAGES ?? 50_000);
const PER_REQUEST = 1000;
/** Read receipts trail delivery receipts by this many messages, as they do in life. */
const READ_LAG = Math.min(2_000, Math.floor(MESSAGES / 10));
/** The warm-up posts the last callbacks of the sequence; the measured run starts from the first. */
const WARMUP_CALLBACKS = Math.floor(MESSAGES / 5);
const DRAIN_TIMEOUT_MS = Number(process.env.BENCH_INGESTION_DRAIN_TIMEOUT_MS ?? 600_000);
/** Messages read back through GET /v3/messages/{id} after the drain. */
const API_SAMPLE = 300;
const GUPSHUP = { source: '917834811114', srcName: 'BenchApp' };

type LayoutName = 'one' | 'split';
const LAYOUT_LABEL: Record<LayoutName, string> = { one: 'one process', split: 'API process + subscriptions process' };

interface SentMessage {
  messageId: string;
  phoneNumber: string;
  gupshupId: string;
  whatsappId: string;
  sentAtMs: number;
}

interface Callback {
  body: string;
  message: SentMessage;
  status: 'delivered' | 'read';
}

interface LayoutRun {
  build: ServiceBuild;
  layout: LayoutName;
  load: LoadResult;
  acknowledged: number;
  /** Acknowledged (message, status) pairs the message view does not show after the drain. */
  notApplied: number;
  /** Of the messages read back through the API, those whose status is not what their callbacks said. */
  apiMismatches: number;
  apiChecked: number;
  /** Message streams with a receipt's status change twice, plus sampled messages whose API timeline shows a receipt twice. */
  recordedTwice: number;
  drainSeconds: number;
  drainedFully: boolean;
  lagP99: number;
  lagMax: number;
  cpuService: number;
  cpuDatabase: number;
  setupSeconds: number;
  batches?: { batches: number; callbacks: number };
  usedUp: boolean;
}

/** A v2 receipt exactly as the simulator posts it (GUPSHUP.md §2.2–2.3). */
function v2Callback(message: SentMessage, status: 'delivered' | 'read'): Callback {
  const occurredAtMs = message.sentAtMs + (status === 'delivered' ? 2_000 : 60_000);
  const body = buildCallbackBody(
    'v2',
    {
      gupshupMessageId: message.gupshupId,
      whatsappMessageId: message.whatsappId,
      destination: message.phoneNumber.replace(/^\+/, ''),
      appName: GUPSHUP.srcName,
      appSource: GUPSHUP.source,
      appId: '00000000-0000-4000-8000-000000000000',
      kind: 'session',
    },
    { status, occurredAtMs, omitGsId: false, v3FailedStyle: 'errors' },
  );
  return { body: JSON.stringify(body), message, status };
}

/** Delivered receipts in message order, each followed by the read receipt of a message READ_LAG earlier. */
function callbackSequence(messages: SentMessage[]): Callback[] {
  const sequence: Callback[] = [];
  for (let m = 0; m < messages.length; m++) {
    sequence.push(v2Callback(messages[m], 'delivered'));
    if (m >= READ_LAG) sequence.push(v2Callback(messages[m - READ_LAG], 'read'));
  }
  for (let m = Math.max(0, messages.length - READ_LAG); m < messages.length; m++) sequence.push(v2Callback(messages[m], 'read'));
  return sequence;
}

async function withPool<T>(databaseUrl: string, work: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

/** Names of the subscriptions the service has registered (they differ between builds). */
function subscriptionNames(databaseUrl: string): Promise<string[]> {
  return withPool(databaseUrl, async (pool) => (await pool.query<{ name: string }>('SELECT name FROM es_subscriptions ORDER BY name')).rows.map((r) => r.name));
}

/** Queues MESSAGES notifications, PER_REQUEST inline recipients a request, two requests at a time. */
async function queueMessages(serviceUrl: string, app: BenchApp): Promise<void> {
  let next = 0;
  const requests = Math.ceil(MESSAGES / PER_REQUEST);
  const worker = async () => {
    for (let r = next++; r < requests; r = next++) {
      const recipients = Array.from({ length: Math.min(PER_REQUEST, MESSAGES - r * PER_REQUEST) }, (_, i) => {
        const n = r * PER_REQUEST + i;
        return { identifier: `bench-${n}`, phoneNumber: `+9198${String(10_000_000 + n)}` };
      });
      await postJson(`${serviceUrl}/v3/notifications`, app.headers, { notification: { title: 'Your order shipped', message: 'Track it in the app' }, sendTo: { recipients } }, 202);
    }
  };
  await Promise.all([worker(), worker()]);
}

/**
 * The messages the benchmark's callbacks are about: queued through the API, sent to the simulator
 * by a process with every role, then read from the message view once it shows each one sent.
 */
async function sendMessages(databaseUrl: string, build: ServiceBuild, simulatorUrl: string, tag: string): Promise<{ app: BenchApp; messages: SentMessage[]; seconds: number }> {
  const started = performance.now();
  const setup = await startService(databaseUrl, { GUPSHUP_API_BASE_URL: simulatorUrl, GUPSHUP_RATE_LIMIT: '0' }, `ingestion-setup-${tag}`, build.dir);
  try {
    const app = await createApp(setup.url, `Bench ingestion ${tag}`);
    await enableGupshup(setup.url, app);
    await queueMessages(setup.url, app);
    await withPool(databaseUrl, async (pool) => {
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      for (;;) {
        const { rows } = await pool.query<{ sent: number }>('SELECT count(*)::int AS sent FROM message_status_view WHERE app_id = $1 AND provider_message_id IS NOT NULL', [app.id]);
        if (rows[0].sent >= MESSAGES) return;
        if (Date.now() > deadline) throw new Error(`only ${rows[0].sent} of ${MESSAGES} messages shown sent after ${DRAIN_TIMEOUT_MS} ms; see bench/logs/ingestion-setup-${tag}.log`);
        await new Promise((r) => setTimeout(r, 250));
      }
    });
    await waitForSubscriptions(databaseUrl, await subscriptionNames(databaseUrl));
    const { rows } = await withPool(databaseUrl, (pool) =>
      pool.query<{ message_id: string; phone_number: string; provider_message_id: string; sent_at: Date }>(
        'SELECT message_id, phone_number, provider_message_id, sent_at FROM message_status_view WHERE app_id = $1 ORDER BY queued_at, message_id',
        [app.id],
      ),
    );
    const messages = rows.map((row) => ({
      messageId: row.message_id,
      phoneNumber: row.phone_number,
      gupshupId: row.provider_message_id,
      whatsappId: newWhatsAppMessageId('v2', row.phone_number.replace(/^\+/, ''), Math.random),
      sentAtMs: row.sent_at.getTime(),
    }));
    return { app, messages, seconds: (performance.now() - started) / 1000 };
  } finally {
    await setup.stop();
  }
}

/**
 * The processes of a layout. The old switches (DISPATCH_WORKERS, SUBSCRIPTIONS_ENABLED) are set
 * beside ROLES so that a build from before ROLES runs the same layout.
 */
async function startLayout(databaseUrl: string, build: ServiceBuild, layout: LayoutName, tag: string): Promise<{ api: RunningProcess; all: RunningProcess[] }> {
  if (layout === 'one') {
    const service = await startService(databaseUrl, { DISPATCH_WORKERS: '0' }, `ingestion-${tag}`, build.dir);
    return { api: service, all: [service] };
  }
  const api = await startService(databaseUrl, { ROLES: 'api', DISPATCH_WORKERS: '0', SUBSCRIPTIONS_ENABLED: 'false' }, `ingestion-${tag}-api`, build.dir);
  try {
    const subscriptions = await startService(databaseUrl, { ROLES: 'subscriptions', DISPATCH_WORKERS: '0' }, `ingestion-${tag}-subscriptions`, build.dir);
    return { api, all: [api, subscriptions] };
  } catch (error) {
    await api.stop();
    throw error;
  }
}

/** The service's webhook batches so far, from its /metrics (undefined where a build has no such metric). */
async function webhookBatches(serviceUrl: string): Promise<{ batches: number; callbacks: number } | undefined> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const batches = value('whatsapp_callback_batch_size_count');
  return Number.isNaN(batches) ? undefined : { batches, callbacks: value('whatsapp_callback_batch_size_sum') };
}

/** Of the acknowledged (message, status) pairs, how many the message view shows. */
async function appliedCount(pool: Pool, acknowledged: Map<string, Callback>): Promise<number> {
  const callbacks = [...acknowledged.values()];
  const { rows } = await pool.query<{ applied: number }>(
    `SELECT count(*)::int AS applied FROM unnest($1::text[], $2::text[]) AS a(message_id, status)
       JOIN message_status_view v ON v.message_id = a.message_id
      WHERE (a.status = 'delivered' AND v.delivered_at IS NOT NULL) OR (a.status = 'read' AND v.seen_at IS NOT NULL)`,
    [callbacks.map((c) => c.message.messageId), callbacks.map((c) => c.status)],
  );
  return rows[0].applied;
}

/** From the end of the load: until the view shows every acknowledged callback and every subscription has caught up. */
async function drain(databaseUrl: string, acknowledged: Map<string, Callback>, names: string[], loadEndedAt: number): Promise<{ seconds: number; notApplied: number; fully: boolean }> {
  return withPool(databaseUrl, async (pool) => {
    const deadline = loadEndedAt + DRAIN_TIMEOUT_MS;
    for (;;) {
      const applied = await appliedCount(pool, acknowledged);
      const behind = applied === acknowledged.size ? Math.max(0, ...(await Promise.all(names.map((name) => secondsBehind(pool, name))))) : 1;
      if (applied === acknowledged.size && behind === 0) return { seconds: (performance.now() - loadEndedAt) / 1000, notApplied: 0, fully: true };
      if (performance.now() > deadline) return { seconds: (performance.now() - loadEndedAt) / 1000, notApplied: acknowledged.size - applied, fully: false };
      await new Promise((r) => setTimeout(r, 100));
    }
  });
}

/** Receipts of the app recorded twice: two status changes of one provider status on one message stream. */
async function recordedTwice(databaseUrl: string, appId: string): Promise<number> {
  return withPool(databaseUrl, async (pool) => {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT 1 FROM es_events WHERE event_type = 'DeliveryStatusChanged' AND data->>'appId' = $1
          GROUP BY stream_id, data->>'providerStatus' HAVING count(*) > 1) AS d`,
      [appId],
    );
    return rows[0].n;
  });
}

const STATUS_RANK = ['queued', 'sent', 'delivered', 'seen'];

/** A sample of the messages, read through GET /v3/messages/{id} as a user would: their status must be what their callbacks said. */
async function checkThroughApi(serviceUrl: string, app: BenchApp, acknowledged: Map<string, Callback>): Promise<{ checked: number; mismatches: number; shownTwice: number }> {
  const expected = new Map<string, 'delivered' | 'seen'>();
  for (const callback of acknowledged.values()) {
    const id = callback.message.messageId;
    if (callback.status === 'read') expected.set(id, 'seen');
    else if (!expected.has(id)) expected.set(id, 'delivered');
  }
  const ids = [...expected.keys()];
  const step = Math.max(1, Math.floor(ids.length / API_SAMPLE));
  const sample = ids.filter((_, i) => i % step === 0).slice(0, API_SAMPLE);
  let mismatches = 0;
  let shownTwice = 0;
  for (const id of sample) {
    const { status, body } = await getJson<{ status: string; timeline?: { providerStatus?: string }[] }>(`${serviceUrl}/v3/messages/${id}`, app.headers);
    // At least as far as the acknowledged receipts say: a receipt still in flight when the load stopped may have been applied too.
    if (status !== 200 || STATUS_RANK.indexOf(body?.status ?? '') < STATUS_RANK.indexOf(expected.get(id)!)) mismatches += 1;
    // Each receipt was posted once (or, past the prepared sequence, again as Gupshup's retries are): one timeline entry each.
    const receipts = (body?.timeline ?? []).map((entry) => entry.providerStatus).filter((s) => s === 'delivered' || s === 'read');
    if (new Set(receipts).size !== receipts.length) shownTwice += 1;
  }
  return { checked: sample.length, mismatches, shownTwice };
}

async function runLayout(postgres: BenchPostgres, build: ServiceBuild, layout: LayoutName, simulatorUrl: string, index: number, pgbench: (databaseUrl: string, sample: string) => Promise<void>): Promise<LayoutRun> {
  const tag = `${build === THIS_BUILD ? 'this' : build.label}-${layout}`;
  const database = `bench_ingestion_${process.pid}_${index}`;
  const databaseUrl = await postgres.createDatabase(database);
  try {
    process.stdout.write(`  ${build.label}, ${LAYOUT_LABEL[layout]}: sending ${MESSAGES.toLocaleString('en-US')} messages to the simulator\n`);
    const { app, messages, seconds: setupSeconds } = await sendMessages(databaseUrl, build, simulatorUrl, tag);
    const callbacks = callbackSequence(messages);
    const processes = await startLayout(databaseUrl, build, layout, tag);
    let run: LayoutRun;
    try {
      // The URL Gupshup would be given, from the API of the process that takes callbacks.
      const callbackUrl = new URL((await gupshupProvider(processes.api.url, app)).callbackUrl);
      const base = callbackUrl.origin;
      const path = `${callbackUrl.pathname}${callbackUrl.search}`;
      const request = (i: number) => ({ method: 'POST' as const, path, headers: { 'content-type': 'application/json' }, body: callbacks[i % callbacks.length].body });
      const acknowledged = new Map<string, Callback>();
      const acknowledge = (i: number) => {
        const callback = callbacks[i % callbacks.length];
        acknowledged.set(`${callback.message.messageId}/${callback.status}`, callback);
      };

      process.stdout.write(`  ${build.label}, ${LAYOUT_LABEL[layout]}: warm-up, then ${SECONDS} s of callbacks to ${base}\n`);
      const warmupFrom = callbacks.length - WARMUP_CALLBACKS;
      await runLoad({ url: base, connections: CONNECTIONS, durationSeconds: WARMUP_SECONDS, request: (i) => request(warmupFrom + (i % WARMUP_CALLBACKS)), acknowledged: (i) => acknowledge(warmupFrom + (i % WARMUP_CALLBACKS)) });
      const names = await subscriptionNames(databaseUrl);
      await waitForSubscriptions(databaseUrl, names);

      const lag = sampleLag(databaseUrl, names);
      const cpu = cpuMeter(databaseUrl, processes.all.map((p) => p.child.pid!));
      const batchesBefore = await webhookBatches(processes.api.url);
      await cpu.start();
      const load = await runLoad({ url: base, connections: CONNECTIONS, durationSeconds: SECONDS, request, acknowledged: acknowledge });
      const loadEndedAt = performance.now();
      const used = await cpu.stop();
      const lagSamples = await lag.stop();
      const drained = await drain(databaseUrl, acknowledged, names, loadEndedAt);
      const batchesAfter = await webhookBatches(processes.api.url);
      const api = await checkThroughApi(processes.api.url, app, acknowledged);
      run = {
        build,
        layout,
        load,
        acknowledged: acknowledged.size,
        notApplied: drained.notApplied,
        apiMismatches: api.mismatches,
        apiChecked: api.checked,
        recordedTwice: (await recordedTwice(databaseUrl, app.id)) + api.shownTwice,
        drainSeconds: drained.seconds,
        drainedFully: drained.fully,
        lagP99: percentile(lagSamples, 99),
        lagMax: Math.max(0, ...lagSamples),
        cpuService: used.service / load.ok,
        cpuDatabase: used.database / load.ok,
        setupSeconds,
        batches: batchesBefore && batchesAfter ? { batches: batchesAfter.batches - batchesBefore.batches, callbacks: batchesAfter.callbacks - batchesBefore.callbacks } : undefined,
        usedUp: load.ok + WARMUP_CALLBACKS > callbacks.length,
      };
    } finally {
      for (const child of processes.all) await child.stop();
    }
    await pgbench(databaseUrl, callbacks[0].body);
    return run;
  } finally {
    await postgres.dropDatabase(database);
  }
}

async function noopBaseline(): Promise<LoadResult & { cpuPerRequest: number }> {
  const noop = await startProcess('noop-server', ['-r', '@swc-node/register', 'bench/noop-server.ts'], {}, '/health');
  try {
    const body = v2Callback({ messageId: 'm', phoneNumber: '+919900000000', gupshupId: 'g', whatsappId: 'w', sentAtMs: Date.now() }, 'delivered').body;
    const request = () => ({ method: 'POST' as const, path: '/noop', headers: { 'content-type': 'application/json' }, body });
    await runLoad({ url: noop.url, connections: CONNECTIONS, durationSeconds: WARMUP_SECONDS, request });
    const cpuBefore = processCpuSeconds(noop.child.pid!);
    const result = await runLoad({ url: noop.url, connections: CONNECTIONS, durationSeconds: SECONDS, request });
    return { ...result, cpuPerRequest: (processCpuSeconds(noop.child.pid!) - cpuBefore) / result.ok };
  } finally {
    await noop.stop();
  }
}

/** pgbench, 64 clients, one INSERT per transaction into a copy of es_events (same columns, defaults and indexes). */
async function pgbenchBaseline(databaseUrl: string, sample: string): Promise<number> {
  await withPool(databaseUrl, async (pool) => {
    await pool.query('DROP TABLE IF EXISTS bench_es_events');
    await pool.query('CREATE TABLE bench_es_events (LIKE es_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)');
  });
  const data = sample.replace(/'/g, "''");
  const script = `INSERT INTO bench_es_events (stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
VALUES ('whatsapp_message-' || gen_random_uuid(), 1, gen_random_uuid(), 'DeliveryStatusChanged', 1, '${data}'::jsonb, '{}'::jsonb);
`;
  // At least 10 s: 64 clients take a few seconds to connect on a busy machine, and a smoke run's 3 s would measure only that.
  return (await runPgbench(databaseUrl, script, { clients: CONNECTIONS, seconds: Math.max(SECONDS, 10) })).tps;
}

/** The Gupshup simulator as its own process, accepting any key and posting no callbacks (the benchmark posts them). */
async function startSimulator(): Promise<RunningProcess> {
  const port = await findFreePort();
  return startProcess('gupshup-simulator', ['-r', '@swc-node/register', 'tools/simulator/main.ts', '--accept-any-key', '--port', String(port)], { PORT: String(port) }, '/__simulator/settings');
}

function layoutFigures(run: LayoutRun, noop: LoadResult, pgbenchTps: number, previous?: LayoutRun): Figure[] {
  const suffix = `, ${LAYOUT_LABEL[run.layout]}`;
  const figures: Figure[] = [
    { name: `acknowledged callbacks per second (64 connections)${suffix}`, value: run.load.rate, unit: '/s', target: { op: '>=', value: 10_000 } },
    { name: `ratio to the no-op endpoint${suffix}`, value: run.load.rate / noop.rate, unit: '×', target: { op: '>=', value: 0.5 }, baseline: `no-op endpoint on the same NestJS Fastify adapter: ${formatNumber(noop.rate)} req/s, p99 ${noop.p99} ms` },
    { name: `ratio to pgbench one-row transactions${suffix}`, value: run.load.rate / pgbenchTps, unit: '×', target: { op: '>=', value: 1.5 }, baseline: `pgbench -c 64, one INSERT per transaction into a copy of es_events: ${formatNumber(pgbenchTps)} tps` },
    { name: `latency p50${suffix}`, value: run.load.p50, unit: 'ms' },
    { name: `latency p99${suffix}`, value: run.load.p99, unit: 'ms', target: { op: '<=', value: 50 } },
    {
      name: `drain: end of the load until every view reflects every callback${suffix}`,
      value: run.drainSeconds,
      unit: 's',
      ...(previous ? { baseline: `${previous.build.label}, same load: ${formatNumber(previous.drainSeconds)} s` } : {}),
    },
    { name: `acknowledged callbacks not applied, or not shown by the API${suffix}`, value: run.notApplied + run.apiMismatches, unit: '', target: { op: '<=', value: 0 } },
    { name: `receipts recorded twice${suffix}`, value: run.recordedTwice, unit: '', target: { op: '<=', value: 0 } },
    { name: `live lag of the slowest subscription, p99 during the load${suffix}`, value: run.lagP99, unit: 's', target: { op: '<=', value: 1 } },
  ];
  if (previous) {
    figures.push(
      { name: `drain against ${previous.build.label}${suffix}`, value: run.drainSeconds / previous.drainSeconds, unit: '×', target: { op: '<=', value: 1 } },
      { name: `throughput against ${previous.build.label}${suffix}`, value: run.load.rate / previous.load.rate, unit: '×', baseline: `${previous.build.label}: ${formatNumber(previous.load.rate)} /s, p99 ${previous.load.p99} ms` },
    );
  }
  return figures;
}

function layoutNotes(run: LayoutRun, noopCpu: number): string[] {
  const label = `${run.build.label}, ${LAYOUT_LABEL[run.layout]}`;
  const notes = [
    `${label}: ${run.load.ok.toLocaleString('en-US')} callbacks acknowledged in ${run.load.seconds.toFixed(1)} s (${run.acknowledged.toLocaleString('en-US')} distinct receipts with the warm-up), ${run.load.failed} non-2xx, ${run.load.errors} errors; ` +
      `drain ${run.drainSeconds.toFixed(1)} s${run.drainedFully ? '' : ` (gave up after BENCH_INGESTION_DRAIN_TIMEOUT_MS with ${run.notApplied} not applied)`}; ${run.apiChecked} messages read back through GET /v3/messages/{id}, ${run.apiMismatches} short of what their acknowledged callbacks said; ` +
      `lag max ${run.lagMax.toFixed(3)} s; ${MESSAGES.toLocaleString('en-US')} messages queued and sent through the simulator in ${run.setupSeconds.toFixed(0)} s beforehand`,
    `${label}: CPU per acknowledged callback during the load: service ${(run.cpuService * 1e6).toFixed(0)} µs${run.layout === 'split' ? ' (both processes)' : ''} (the no-op server: ${(noopCpu * 1e6).toFixed(0)} µs a request), PostgreSQL backends ${(run.cpuDatabase * 1e6).toFixed(0)} µs`,
  ];
  if (run.batches && run.batches.batches > 0) notes.push(`${label}: ${formatNumber(run.batches.batches)} webhook transactions during the load, ${(run.batches.callbacks / run.batches.batches).toFixed(1)} callbacks each`);
  if (run.usedUp) notes.push(`${label}: the run used up the prepared callbacks and posted some twice: raise BENCH_INGESTION_MESSAGES`);
  return notes;
}

export async function ingestionBenchmark(postgres: BenchPostgres): Promise<void> {
  const compareRef = process.env.BENCH_COMPARE_REF;
  const compare = compareRef ? prepareCompareBuild(compareRef) : undefined;
  const simulator = await startSimulator();
  try {
    const noop = await noopBaseline();
    let pgbenchTps = 0;
    const pgbenchOnce = async (databaseUrl: string, sample: string) => {
      if (pgbenchTps === 0) pgbenchTps = await pgbenchBaseline(databaseUrl, sample);
    };
    const runs: LayoutRun[] = [];
    let index = 0;
    // This checkout and the compared build alternate, so that both see the machine in a similar state.
    for (const layout of ['one', 'split'] as const) {
      for (const build of compare ? [THIS_BUILD, compare] : [THIS_BUILD]) {
        await postgres.settle();
        runs.push(await runLayout(postgres, build, layout, simulator.url, index++, pgbenchOnce));
      }
    }
    const figures: Figure[] = [];
    const notes: string[] = [];
    for (const run of runs.filter((r) => r.build === THIS_BUILD)) {
      const previous = runs.find((r) => r.build === compare && r.layout === run.layout);
      figures.push(...layoutFigures(run, noop, pgbenchTps, previous));
    }
    for (const run of runs) notes.push(...layoutNotes(run, noop.cpuPerRequest));
    notes.push(`no-op endpoint: ${formatNumber(noop.rate)} req/s, p50 ${noop.p50} ms, p99 ${noop.p99} ms; pgbench: ${formatNumber(pgbenchTps)} tps`);
    publishRun('ingestion', postgres, figures, notes);
  } finally {
    await simulator.stop();
    compare?.remove();
  }
}

if (require.main === module) runStandalone(ingestionBenchmark);
