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
import { createApp, enableGupshup, gupshupProvider, type BenchApp } from './lib/api';
import { checkThroughApi, drain, recordedTwice } from './lib/callback-checks';
import { callbackSequence, v2Callback, type Callback, type SentMessage } from './lib/callbacks';
import { prepareCompareBuild, THIS_BUILD, type ServiceBuild } from './lib/compare-build';
import { cpuMeter, processCpuSeconds } from './lib/cpu-usage';
import { runLoad, type LoadResult } from './lib/load';
import { queueMessages, readSentMessages, waitUntilShownSent } from './lib/messages';
import { runPgbench } from './lib/pgbench';
import { withPool, type BenchPostgres } from './lib/postgres';
import { percentile, sampleLag, subscriptionNames, waitForSubscriptions } from './lib/projection-lag';
import { formatNumber, publishRun, type Figure } from './lib/report';
import { runStandalone } from './lib/standalone';
import { startSimulator } from './lib/simulator';
import { profileClockUs, recordProfileWindow, startProcess, startService, type RunningProcess } from './lib/service';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_INGESTION_SECONDS ?? 15);
const WARMUP_SECONDS = 3;
/** Sent messages per run; each gets a delivered and a read callback. */
const MESSAGES = Number(process.env.BENCH_INGESTION_MESSAGES ?? 50_000);
/** Read receipts trail delivery receipts by this many messages, as they do in life. */
const READ_LAG = Math.min(2_000, Math.floor(MESSAGES / 10));
/** The warm-up posts the last callbacks of the sequence; the measured run starts from the first. */
const WARMUP_CALLBACKS = Math.floor(MESSAGES / 5);
const DRAIN_TIMEOUT_MS = Number(process.env.BENCH_INGESTION_DRAIN_TIMEOUT_MS ?? 600_000);
/** Messages read back through GET /v3/messages/{id} after the drain. */
const API_SAMPLE = 300;

type LayoutName = 'one' | 'split';
const LAYOUT_LABEL: Record<LayoutName, string> = { one: 'one process', split: 'API process + subscriptions process' };

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
  /** Per process of the layout, in startLayout's order (the API process first). */
  cpuPerProcess: number[];
  cpuDatabase: number;
  setupSeconds: number;
  batches?: { batches: number; callbacks: number };
  usedUp: boolean;
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
    await queueMessages(setup.url, app, MESSAGES);
    await waitUntilShownSent(databaseUrl, app.id, MESSAGES, DRAIN_TIMEOUT_MS, `bench/logs/ingestion-setup-${tag}.log`);
    await waitForSubscriptions(databaseUrl, await subscriptionNames(databaseUrl));
    const messages = await readSentMessages(databaseUrl, app.id);
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

async function runLayout(postgres: BenchPostgres, build: ServiceBuild, layout: LayoutName, simulatorUrl: string, index: number, pgbench: (databaseUrl: string, sample: string) => Promise<void>): Promise<LayoutRun> {
  const tag = `${build === THIS_BUILD ? 'this' : build.label}-${layout}`;
  const database = `bench_ingestion_${process.pid}_${index}`;
  const databaseUrl = await postgres.createDatabase(database);
  try {
    process.stdout.write(`  ${build.label}, ${LAYOUT_LABEL[layout]}: sending ${MESSAGES.toLocaleString('en-US')} messages to the simulator\n`);
    const { app, messages, seconds: setupSeconds } = await sendMessages(databaseUrl, build, simulatorUrl, tag);
    const callbacks = callbackSequence(messages, READ_LAG);
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
      const loadStartedUs = profileClockUs();
      const load = await runLoad({ url: base, connections: CONNECTIONS, durationSeconds: SECONDS, request, acknowledged: acknowledge });
      const loadEndedAt = performance.now();
      recordProfileWindow(processes.all, loadStartedUs, profileClockUs());
      const used = await cpu.stop();
      const lagSamples = await lag.stop();
      const drained = await drain(databaseUrl, acknowledged, names, loadEndedAt, DRAIN_TIMEOUT_MS);
      const batchesAfter = await webhookBatches(processes.api.url);
      const api = await checkThroughApi(processes.api.url, app, acknowledged, API_SAMPLE);
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
        cpuPerProcess: used.perProcess.map((seconds) => seconds / load.ok),
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
    `${label}: CPU per acknowledged callback during the load: service ${(run.cpuService * 1e6).toFixed(0)} µs${run.layout === 'split' ? ` (API process ${(run.cpuPerProcess[0] * 1e6).toFixed(0)} µs, subscriptions process ${(run.cpuPerProcess[1] * 1e6).toFixed(0)} µs)` : ''} (the no-op server: ${(noopCpu * 1e6).toFixed(0)} µs a request), PostgreSQL backends ${(run.cpuDatabase * 1e6).toFixed(0)} µs`,
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
