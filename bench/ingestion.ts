/**
 * Benchmark 1, callback ingestion: realistic Gupshup v2 delivered and read callbacks for messages
 * the service knows, from 64 connections, against two baselines measured in the same run: a
 * no-op endpoint on the same NestJS Fastify adapter, and pgbench inserting one row per
 * transaction into a table shaped like the event table. Afterwards every acknowledged callback
 * must be in the event store and in the views (zero loss, nothing twice). Also samples the
 * views' lag while the load runs (benchmark 2's live half).
 */
import { Pool } from 'pg';
import { deliveryEventId } from '../src/whatsapp/domain/delivery-event-id';
import { createApp } from './lib/api';
import { loadRequests, type LoadedMessage } from './lib/event-loader';
import { cpuMeter, processCpuSeconds } from './lib/cpu-usage';
import { runLoad, type LoadResult } from './lib/load';
import { runPgbench } from './lib/pgbench';
import type { BenchPostgres } from './lib/postgres';
import { percentile, sampleLag, VIEWS_SUBSCRIPTION, waitForSubscriptions } from './lib/projection-lag';
import { runStandalone } from './lib/standalone';
import { formatNumber, publishRun, type Figure } from './lib/report';
import { startProcess, startService } from './lib/service';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_INGESTION_SECONDS ?? 15);
const MESSAGES = Number(process.env.BENCH_INGESTION_MESSAGES ?? 100_000);
/** Read receipts trail delivery receipts by this many messages, as they do in life. */
const READ_LAG = 2_000;

interface Callback {
  body: string;
  message: LoadedMessage;
  status: 'delivered' | 'read';
  occurredAtMs: number;
}

function v2Callback(message: LoadedMessage, status: 'delivered' | 'read'): Callback {
  const occurredAtMs = message.sentAt!.getTime() + (status === 'delivered' ? 2_000 : 60_000);
  const body = JSON.stringify({
    app: 'BenchApp',
    phone: message.phoneNumber.slice(1),
    timestamp: occurredAtMs + 400,
    version: 2,
    type: 'message-event',
    payload: {
      id: message.whatsappId,
      gsId: message.gupshupId,
      type: status,
      destination: message.phoneNumber.slice(1),
      payload: { ts: Math.floor(occurredAtMs / 1000) },
    },
  });
  return { body, message, status, occurredAtMs };
}

/** Delivered receipts in message order, each followed by the read receipt of a message READ_LAG earlier. */
function callbackSequence(messages: LoadedMessage[]): Callback[] {
  const sequence: Callback[] = [];
  for (let m = 0; m < messages.length; m++) {
    sequence.push(v2Callback(messages[m], 'delivered'));
    if (m >= READ_LAG) sequence.push(v2Callback(messages[m - READ_LAG], 'read'));
  }
  return sequence;
}

async function noopBaseline(): Promise<LoadResult & { cpuPerRequest: number }> {
  const noop = await startProcess('noop-server', ['-r', '@swc-node/register', 'bench/noop-server.ts'], {}, '/health');
  try {
    const body = v2Callback({ messageId: 'm', requestId: 'r', recipient: 'u', phoneNumber: '+919900000000', gupshupId: 'g', whatsappId: 'w', sentAt: new Date() }, 'delivered').body;
    const request = () => ({ method: 'POST' as const, path: '/noop', headers: { 'content-type': 'application/json' }, body });
    await runLoad({ url: noop.url, connections: CONNECTIONS, durationSeconds: 3, request }); // warm-up
    const cpuBefore = processCpuSeconds(noop.child.pid!);
    const result = await runLoad({ url: noop.url, connections: CONNECTIONS, durationSeconds: SECONDS, request });
    return { ...result, cpuPerRequest: (processCpuSeconds(noop.child.pid!) - cpuBefore) / result.ok };
  } finally {
    await noop.stop();
  }
}

/** pgbench, 64 clients, one INSERT per transaction into a copy of es_events (same columns, defaults and indexes). */
async function pgbenchBaseline(databaseUrl: string, sample: string): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  await pool.query('DROP TABLE IF EXISTS bench_es_events');
  await pool.query('CREATE TABLE bench_es_events (LIKE es_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)');
  await pool.end();
  const data = sample.replace(/'/g, "''");
  const script = `INSERT INTO bench_es_events (stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
VALUES ('whatsapp_message-' || gen_random_uuid(), 1, gen_random_uuid(), 'DeliveryStatusChanged', 1, '${data}'::jsonb, '{}'::jsonb);
`;
  const result = await runPgbench(databaseUrl, script, { clients: CONNECTIONS, seconds: SECONDS });
  return result.tps;
}

/** The service's webhook batches so far, from its /metrics: how many, and the callbacks in them. */
async function webhookBatches(serviceUrl: string): Promise<{ batches: number; callbacks: number }> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { batches: value('whatsapp_callback_batch_size_count'), callbacks: value('whatsapp_callback_batch_size_sum') };
}

/** Transactions committed in the database so far (a statement outside BEGIN … COMMIT is one). */
async function committedTransactions(databaseUrl: string): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
    return Number(rows[0].n);
  } finally {
    await pool.end();
  }
}

async function verify(databaseUrl: string, appId: string, acknowledged: Callback[]): Promise<{ missingEvents: number; countedTwice: number; viewsBehind: number }> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const ids = acknowledged.map((c) => deliveryEventId(appId, c.message.gupshupId!, c.status === 'read' ? 'read' : 'delivered', c.occurredAtMs));
    const { rows: found } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM es_events WHERE event_id = ANY($1::uuid[])', [ids]);
    // Each callback was sent once: a message with two events of one status would be a double count.
    const { rows: twice } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT 1 FROM es_events WHERE event_type = 'DeliveryStatusChanged' AND data->>'appId' = $1
          GROUP BY stream_id, data->>'providerStatus' HAVING count(*) > 1) AS d`,
      [appId],
    );
    // A delivered receipt must show as delivered_at, a read one as seen_at, on the message's row.
    const { rows: behind } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM unnest($1::text[], $2::text[]) AS a(message_id, status)
         LEFT JOIN message_status_view v ON v.message_id = a.message_id
        WHERE v.message_id IS NULL OR (a.status = 'delivered' AND v.delivered_at IS NULL) OR (a.status = 'read' AND v.seen_at IS NULL)`,
      [acknowledged.map((c) => c.message.messageId), acknowledged.map((c) => c.status)],
    );
    return { missingEvents: ids.length - found[0].n, countedTwice: twice[0].n, viewsBehind: behind[0].n };
  } finally {
    await pool.end();
  }
}

export async function ingestionBenchmark(postgres: BenchPostgres): Promise<void> {
  const databaseUrl = await postgres.createDatabase('bench_ingestion');
  const service = await startService(databaseUrl);
  const notes: string[] = [];
  try {
    const app = await createApp(service.url, 'Bench ingestion');
    const loaded = await loadRequests(databaseUrl, app.id, { requests: MESSAGES / 1000, perRequest: 1000, status: () => 'sent' });
    const caughtUpMs = await waitForSubscriptions(databaseUrl, ['whatsapp_callback_translation', VIEWS_SUBSCRIPTION]);
    notes.push(`${MESSAGES.toLocaleString('en-US')} sent messages (${loaded.events.toLocaleString('en-US')} events) loaded into the store; correlations and views caught up ${caughtUpMs} ms later`);

    const callbacks = callbackSequence(loaded.messages);
    const path = `/api/v1/apps/${app.apiKey}/webhook/gupshup_whatsapp`;
    const acknowledged: Callback[] = [];
    const request = (index: number) => ({ method: 'POST' as const, path, headers: { 'content-type': 'application/json' }, body: callbacks[index % callbacks.length].body });
    // Warm-up on the last callbacks of the sequence (the main run starts from the first).
    const warmupFrom = callbacks.length - 20_000;
    await runLoad({ url: service.url, connections: CONNECTIONS, durationSeconds: 3, request: (i) => request(warmupFrom + (i % 20_000)), acknowledged: (i) => acknowledged.push(callbacks[warmupFrom + (i % 20_000)]) });
    await waitForSubscriptions(databaseUrl, [VIEWS_SUBSCRIPTION]);

    const lag = sampleLag(databaseUrl, VIEWS_SUBSCRIPTION);
    const cpu = cpuMeter(databaseUrl, service.child.pid!);
    const batchesBefore = await webhookBatches(service.url);
    const transactionsBefore = await committedTransactions(databaseUrl);
    await cpu.start();
    const load = await runLoad({ url: service.url, connections: CONNECTIONS, durationSeconds: SECONDS, request, acknowledged: (i) => acknowledged.push(callbacks[i % callbacks.length]) });
    const used = await cpu.stop();
    // pg_stat_database is updated by each backend within a second or so of its commits.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const transactions = (await committedTransactions(databaseUrl)) - transactionsBefore;
    const batchesAfter = await webhookBatches(service.url);
    const batches = batchesAfter.batches - batchesBefore.batches;
    const lagSamples = await lag.stop();
    if (load.ok + 20_000 > callbacks.length) notes.push('the run used up the prepared callbacks: raise BENCH_INGESTION_MESSAGES');
    await waitForSubscriptions(databaseUrl, [VIEWS_SUBSCRIPTION]);
    const check = await verify(databaseUrl, app.id, acknowledged);

    const noop = await noopBaseline();
    const pgbenchTps = await pgbenchBaseline(databaseUrl, callbacks[0].body);

    const figures: Figure[] = [
      { name: 'acknowledged callbacks per second (64 connections)', value: load.rate, unit: '/s', target: { op: '>=', value: 10_000 } },
      { name: 'ratio to the no-op endpoint', value: load.rate / noop.rate, unit: '×', target: { op: '>=', value: 0.5 }, baseline: `no-op endpoint on the same NestJS Fastify adapter: ${formatNumber(noop.rate)} req/s, p99 ${noop.p99} ms` },
      { name: 'ratio to pgbench one-row transactions', value: load.rate / pgbenchTps, unit: '×', target: { op: '>=', value: 1.5 }, baseline: `pgbench -c 64, one INSERT per transaction into a copy of es_events: ${formatNumber(pgbenchTps)} tps` },
      { name: 'latency p50', value: load.p50, unit: 'ms' },
      { name: 'latency p99', value: load.p99, unit: 'ms', target: { op: '<=', value: 50 } },
      { name: 'acknowledged callbacks missing from the store or the views', value: check.missingEvents + check.viewsBehind, unit: '', target: { op: '<=', value: 0 } },
      { name: 'receipts stored twice', value: check.countedTwice, unit: '', target: { op: '<=', value: 0 } },
      { name: 'live projection lag p99 during the load', value: percentile(lagSamples, 99), unit: 's', target: { op: '<=', value: 1 } },
    ];
    notes.push(
      `CPU per acknowledged callback during the load: service ${((used.service / load.ok) * 1e6).toFixed(0)} µs (the no-op server: ${(noop.cpuPerRequest * 1e6).toFixed(0)} µs a request), PostgreSQL backends ${((used.database / load.ok) * 1e6).toFixed(0)} µs (projection included)`,
    );
    notes.push(
      `${formatNumber(batches)} webhook transactions during the load, ${((batchesAfter.callbacks - batchesBefore.callbacks) / batches).toFixed(1)} callbacks each on average; the database committed ${(transactions / load.ok).toFixed(2)} transactions per acknowledged callback (projection, subscriptions and the benchmark's samplers included)`,
    );
    notes.push(`${load.ok.toLocaleString('en-US')} callbacks acknowledged in ${load.seconds.toFixed(1)} s, ${load.failed} non-2xx, ${load.errors} errors; lag sampled ${lagSamples.length} times, max ${Math.max(0, ...lagSamples).toFixed(3)} s`);
    publishRun('ingestion', postgres, figures, notes);
  } finally {
    await service.stop();
    await postgres.dropDatabase('bench_ingestion');
  }
}

if (require.main === module) runStandalone(ingestionBenchmark);
