/**
 * Benchmark: status webhooks. Message lifecycles are loaded into the event store at a steady pace
 * (each message queued → sent → delivered → seen: four status changes, four deliveries per
 * endpoint) while the service runs; a receiver on loopback, in this process, answers every
 * delivery at once and notes when it arrived. Figures:
 *  - deliveries per second, the whole backlog of a bulk load drained;
 *  - against the baseline measured in the same run: a plain loop posting the same bodies to the
 *    same receiver with the same HTTP client (undici, same number in flight);
 *  - CPU time per delivery during that drain: the service process, its PostgreSQL backends, and
 *    this process's receiver; and per post of the plain loop (client and receiver in this process);
 *  - the same changes replayed to a second endpoint: sending alone, its rate and CPU per delivery;
 *  - a second baseline, the floor: the same bodies posted by the least durable sender (a queue
 *    table, rounds that record and claim in one statement; lib/floor-sender.ts) in its own process;
 *  - lag from the status change's commit to the receiver, p50/p99, at a steady rate;
 *  - that lag for a healthy endpoint while another endpoint of the same app times out on every
 *    request, against its lag alone.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { Agent, request } from 'undici';
import { createApp, postJson, type BenchApp } from './lib/api';
import { runFloorSender } from './lib/webhook-floor';
import { cpuMeter } from './lib/cpu-usage';
import { loadStreams, requestStreams } from './lib/event-loader';
import type { BenchPostgres } from './lib/postgres';
import { formatNumber, publishRun, type Figure } from './lib/report';
import { runStandalone } from './lib/standalone';
import { profileClockUs, recordProfileWindow, startService } from './lib/service';

const BULK_MESSAGES = Number(process.env.BENCH_WEBHOOKS_MESSAGES ?? 5000);
const RATE = Number(process.env.BENCH_WEBHOOKS_RATE ?? 1000);
const PACED_SECONDS = Number(process.env.BENCH_WEBHOOKS_SECONDS ?? 10);
/** The service's deliveries in flight to one endpoint at most (WEBHOOK_OUT_ENDPOINT_CONCURRENCY's default): the plain loop's too. */
const IN_FLIGHT = 64;
const TIMEOUT_MS = 2000;
const DRAIN_TIMEOUT_MS = 180_000;

interface Receipt {
  deliveryId: string;
  path: string;
  at: number;
}

/** The customer's system: answers 200 at once on every path but /timeout, which never answers. */
class Receiver {
  readonly receipts: Receipt[] = [];
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = req.url ?? '/';
        if (path === '/timeout') return; // held until the client gives up
        this.receipts.push({ deliveryId: String(req.headers['webhook-id'] ?? ''), path, at: Date.now() });
        res.writeHead(200).end();
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  count(path: string): number {
    return this.receipts.filter((each) => each.path === path).length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The same bodies posted by a plain loop with the service's HTTP client, IN_FLIGHT at a time, for `seconds`. */
async function plainLoop(url: string, bodies: string[], seconds: number): Promise<{ rate: number; cpuPerPost: number }> {
  const agent = new Agent({ connections: IN_FLIGHT });
  const until = Date.now() + seconds * 1000;
  let sent = 0;
  const worker = async () => {
    while (Date.now() < until) {
      const body = bodies[sent % bodies.length];
      sent++;
      const response = await request(`${url}/baseline`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body });
      await response.body.dump();
    }
  };
  const started = Date.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const cpu = process.cpuUsage(cpuBefore);
  const elapsed = (Date.now() - started) / 1000;
  await agent.close();
  return { rate: sent / elapsed, cpuPerPost: (cpu.user + cpu.system) / 1e6 / sent };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Loads `messages` lifecycles (four status changes each) in one commit, and wakes the subscriptions. */
async function load(pool: Pool, appId: string, messages: number): Promise<void> {
  const { streams } = requestStreams(appId, messages, () => 'seen', new Date());
  await loadStreams(pool, streams);
  await pool.query("SELECT pg_notify('es_events_appended', '')");
}

/** Loads RATE status changes a second for `seconds`, in ten slices a second. */
async function paced(pool: Pool, appId: string, seconds: number): Promise<number> {
  const perSlice = Math.max(1, Math.round(RATE / 4 / 10));
  const started = Date.now();
  let slices = 0;
  while (Date.now() - started < seconds * 1000) {
    await load(pool, appId, perSlice);
    slices++;
    const next = started + slices * 100;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
  }
  return slices * perSlice * 4;
}

/** Lag of each receipt at `path` since `since`: its arrival minus the commit of the change it carries (the event's created_at). */
async function lags(pool: Pool, receiver: Receiver, path: string, since: number): Promise<number[]> {
  const receipts = receiver.receipts.filter((each) => each.path === path && each.at >= since);
  const { rows } = await pool.query<{ id: string; recorded: number }>(
    'SELECT id::text, extract(epoch FROM change_recorded_at) * 1000 AS recorded FROM webhook_deliveries WHERE id = ANY ($1::uuid[])',
    [receipts.map((each) => each.deliveryId)],
  );
  const recorded = new Map(rows.map((row) => [row.id, Number(row.recorded)]));
  return receipts
    .filter((each) => recorded.has(each.deliveryId))
    .map((each) => each.at - recorded.get(each.deliveryId)!)
    .sort((a, b) => a - b);
}

/**
 * With BENCH_WEBHOOKS_STATEMENTS=<file> (a server with pg_stat_statements preloaded and
 * pg_stat_statements.track=all), the statements executed while the replay drains, written to
 * <file> as JSON, with the transactions and WAL of the same span: the database's time per
 * delivery, statement by statement. Other databases' statements are left out; the cluster's
 * other sessions should be idle.
 */
const STATEMENTS_FILE = process.env.BENCH_WEBHOOKS_STATEMENTS;

interface ServerCounters {
  commits: number;
  walRecords: number;
  walBytes: number;
  walSyncs: number;
}

async function serverCounters(pool: Pool): Promise<ServerCounters> {
  const { rows } = await pool.query<ServerCounters>(
    `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())::float8 AS "commits",
            wal_records::float8 AS "walRecords", wal_bytes::float8 AS "walBytes", wal_sync::float8 AS "walSyncs"
       FROM pg_stat_wal`,
  );
  return rows[0];
}

async function statementsBefore(pool: Pool): Promise<ServerCounters> {
  await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await pool.query('SELECT pg_stat_statements_reset()');
  return serverCounters(pool);
}

async function statementsAfter(pool: Pool, before: ServerCounters, deliveries: number): Promise<void> {
  const after = await serverCounters(pool);
  const { rows } = await pool.query(
    `SELECT toplevel, calls::float8, rows::float8, total_exec_time, total_plan_time, plans::float8,
            shared_blks_hit::float8, shared_blks_read::float8, shared_blks_dirtied::float8, wal_records::float8, query
       FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      ORDER BY total_exec_time DESC`,
  );
  const delta = Object.fromEntries(Object.entries(after).map(([key, value]) => [key, value - before[key as keyof ServerCounters]]));
  writeFileSync(STATEMENTS_FILE!, JSON.stringify({ deliveries, server: delta, statements: rows }, null, 2));
}

export async function webhooksBenchmark(postgres: BenchPostgres): Promise<void> {
  const databaseUrl = await postgres.createDatabase('bench_webhooks');
  const receiver = new Receiver();
  await receiver.listen();
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const service = await startService(
    databaseUrl,
    { WEBHOOK_OUT_ALLOW_PRIVATE: 'true', WEBHOOK_OUT_TIMEOUT_MS: String(TIMEOUT_MS), DISPATCH_WORKERS: '0' },
    'service-webhooks',
  );
  const notes: string[] = [];
  try {
    const bulkApp: BenchApp = await createApp(service.url, 'Bench webhooks bulk');
    await postJson(`${service.url}/v3/webhooks`, bulkApp.headers, { url: `${receiver.url}/bulk` }, 201);

    // Throughput: a bulk load's deliveries drained, first receipt to last.
    // CPU from the load's commit to the last receipt: the service's own backends, not this process's loader.
    const cpu = cpuMeter(databaseUrl, service.child.pid!, { backendsOf: 'whatsapp-notify' });
    const bulkStarted = Date.now();
    await load(pool, bulkApp.id, BULK_MESSAGES);
    await cpu.start();
    const receiverCpuBefore = process.cpuUsage();
    const expected = BULK_MESSAGES * 4;
    await waitFor('the bulk deliveries', () => receiver.count('/bulk') >= expected);
    const receiverCpu = process.cpuUsage(receiverCpuBefore);
    const used = await cpu.stop();
    const bulk = receiver.receipts.filter((each) => each.path === '/bulk');
    const drainSeconds = (bulk[bulk.length - 1].at - bulk[0].at) / 1000;
    const deliveryRate = (bulk.length - 1) / drainSeconds;
    const { rows: bodies } = await pool.query<{ body: string }>('SELECT body FROM webhook_deliveries LIMIT 1000');
    const baseline = await plainLoop(receiver.url, bodies.map((row) => row.body), 5);
    const baselineRate = baseline.rate;
    const micros = (seconds: number) => `${(seconds * 1e6).toFixed(0)} µs`;
    notes.push(
      `${expected.toLocaleString('en-US')} deliveries (${BULK_MESSAGES.toLocaleString('en-US')} lifecycles loaded in one commit) drained in ${drainSeconds.toFixed(1)} s; ` +
        `${((Date.now() - bulkStarted) / 1000).toFixed(1)} s from the load to the last receipt`,
      `CPU per delivery from the load's commit to the last receipt (every subscription's work on those events included): service ${micros(used.service / expected)}, ` +
        `its PostgreSQL backends ${micros(used.database / expected)}, the receiver (this process) ${micros((receiverCpu.user + receiverCpu.system) / 1e6 / expected)}; ` +
        `the plain loop: ${micros(baseline.cpuPerPost)} a post, client and receiver together`,
    );

    // Sending alone: the same changes replayed to a new endpoint of the app, their deliveries
    // queued in one transaction, so that no subscription works while they are drained.
    const replayEndpoint = await postJson<{ id: string }>(`${service.url}/v3/webhooks`, bulkApp.headers, { url: `${receiver.url}/replay` }, 201);
    const replayCpu = cpuMeter(databaseUrl, service.child.pid!, { backendsOf: 'whatsapp-notify' });
    const statements = STATEMENTS_FILE ? await statementsBefore(pool) : undefined;
    const replayFromUs = profileClockUs();
    await replayCpu.start();
    const replayReceiverBefore = process.cpuUsage();
    const { queued } = await postJson<{ queued: number }>(`${service.url}/v3/webhooks/${replayEndpoint.id}/replay`, bulkApp.headers, { from: new Date(bulkStarted - 86_400_000).toISOString() }, 202);
    await waitFor('the replayed deliveries', () => receiver.count('/replay') >= queued);
    const replayReceiver = process.cpuUsage(replayReceiverBefore);
    const replayUsed = await replayCpu.stop();
    recordProfileWindow([service], replayFromUs, profileClockUs());
    if (statements) await statementsAfter(pool, statements, queued);
    const replayed = receiver.receipts.filter((each) => each.path === '/replay');
    const replaySeconds = (replayed[replayed.length - 1].at - replayed[0].at) / 1000;
    const replayRate = (replayed.length - 1) / replaySeconds;
    notes.push(
      `sending alone: ${queued.toLocaleString('en-US')} deliveries queued by a replay drained at ${formatNumber(replayRate)}/s (${formatNumber(replayRate / baselineRate)} × the plain loop); ` +
        `CPU per delivery: service ${micros(replayUsed.service / queued)}, its PostgreSQL backends ${micros(replayUsed.database / queued)}, the receiver ${micros((replayReceiver.user + replayReceiver.system) / 1e6 / queued)}`,
    );

    // The floor: the replayed bodies again, through the least a durable sender does.
    const { rows: replayedBodies } = await pool.query<{ body: string }>('SELECT body FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq', [replayEndpoint.id]);
    const floor = await runFloorSender(pool, databaseUrl, `${receiver.url}/floor`, replayedBodies.map((row) => row.body), () =>
      receiver.receipts.filter((each) => each.path === '/floor').map((each) => each.at),
    );
    notes.push(
      `the floor: the same ${floor.deliveries.toLocaleString('en-US')} bodies through the least durable sender (bench/lib/floor-sender.ts: no per-endpoint limit, order, lease, retry or attempt log) at ` +
        `${formatNumber(floor.rate)}/s (${formatNumber(floor.rate / baselineRate)} × the plain loop); CPU per delivery: sender ${micros(floor.senderCpu)}, its PostgreSQL backend ${micros(floor.databaseCpu)}`,
    );

    // Lag at a steady rate, one healthy endpoint.
    const app: BenchApp = await createApp(service.url, 'Bench webhooks paced');
    await postJson(`${service.url}/v3/webhooks`, app.headers, { url: `${receiver.url}/healthy` }, 201);
    const aloneStarted = Date.now();
    const aloneChanges = await paced(pool, app.id, PACED_SECONDS);
    await waitFor('the paced deliveries', () => receiver.receipts.filter((each) => each.path === '/healthy' && each.at >= aloneStarted).length >= aloneChanges);
    const alone = await lags(pool, receiver, '/healthy', aloneStarted);

    // The same, with a second endpoint of the same app timing out on every request.
    await postJson(`${service.url}/v3/webhooks`, app.headers, { url: `${receiver.url}/timeout` }, 201);
    const sharedStarted = Date.now();
    const sharedChanges = await paced(pool, app.id, PACED_SECONDS);
    await waitFor('the paced deliveries beside a timing-out endpoint', () =>
      receiver.receipts.filter((each) => each.path === '/healthy' && each.at >= sharedStarted).length >= sharedChanges,
    );
    const shared = await lags(pool, receiver, '/healthy', sharedStarted);
    const { rows: timeouts } = await pool.query<{ attempts: number }>(
      "SELECT count(*)::int AS attempts FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.url LIKE '%/timeout'",
    );
    notes.push(
      `paced load: ${formatNumber(RATE)} status changes/s for ${PACED_SECONDS} s, alone (${aloneChanges.toLocaleString('en-US')} deliveries) and beside an endpoint that never answers ` +
        `(${sharedChanges.toLocaleString('en-US')} deliveries; the timing-out endpoint had ${timeouts[0].attempts.toLocaleString('en-US')} attempts of ${TIMEOUT_MS} ms)`,
    );
    notes.push(`settings: WEBHOOK_OUT_CONCURRENCY and WEBHOOK_OUT_ENDPOINT_CONCURRENCY at their defaults (256, 64), WEBHOOK_OUT_TIMEOUT_MS=${TIMEOUT_MS}; subscriptions and senders woken by NOTIFY`);

    const aloneP99 = percentile(alone, 99);
    const sharedP99 = percentile(shared, 99);
    const figures: Figure[] = [
      {
        name: 'deliveries per second to a local receiver',
        value: deliveryRate,
        unit: '/s',
        target: { op: '>=', value: 1000 },
        baseline: `a plain loop posting the same bodies with undici, ${IN_FLIGHT} in flight: ${formatNumber(baselineRate)}/s`,
      },
      { name: 'ratio to the plain loop', value: deliveryRate / baselineRate, unit: '×', target: { op: '>=', value: 0.5 } },
      { name: 'sending alone (a replay), ratio to the plain loop', value: replayRate / baselineRate, unit: '×' },
      { name: 'the least durable sender, ratio to the plain loop', value: floor.rate / baselineRate, unit: '×', baseline: `${formatNumber(floor.rate)}/s` },
      { name: `lag from commit to receiver at ${formatNumber(RATE)} changes/s, p50`, value: percentile(alone, 50), unit: 'ms' },
      { name: `lag from commit to receiver at ${formatNumber(RATE)} changes/s, p99`, value: aloneP99, unit: 'ms', target: { op: '<=', value: 1000 } },
      { name: 'healthy endpoint lag beside a timing-out one, p50', value: percentile(shared, 50), unit: 'ms' },
      { name: 'healthy endpoint lag beside a timing-out one, p99', value: sharedP99, unit: 'ms', baseline: `alone: p99 ${formatNumber(aloneP99)} ms` },
      { name: 'ratio of those p99 lags (beside / alone)', value: sharedP99 / aloneP99, unit: '×', target: { op: '<=', value: 2 } },
    ];
    publishRun('webhooks', postgres, figures, notes);
  } finally {
    await service.stop();
    await pool.end();
    await receiver.close();
    await postgres.dropDatabase('bench_webhooks');
  }
}

if (require.main === module) runStandalone(webhooksBenchmark);
