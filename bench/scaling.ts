/**
 * Scaling on one PostgreSQL. Three parts:
 * 1. The same workloads with 1, 2 and 3 service instances (processes with every role, the
 *    subscriptions cut in SUBSCRIPTION_PARTITIONS parts shared through leases): messages queued
 *    through the instances' APIs and sent to the Gupshup simulator until the message view shows
 *    them sent; then their delivered and read callbacks posted to every instance at once. Rates
 *    in all and per instance, CPU per message and per callback (service processes and PostgreSQL
 *    backends, from /proc), loss and duplicates checked as the ingestion benchmark does.
 * 2. How long a part of a subscription takes to move after `kill -9` of the instance that holds
 *    it: from the kill until another instance has processed an event of that part (the part's
 *    checkpoint written after the kill, by the database's clock), beside SUBSCRIPTION_LEASE_MS;
 *    then how long the instance, started again, takes to run its share again.
 * 3. Bytes of PostgreSQL storage per message, sent and tracked to `seen` with the simulator's
 *    own callbacks: pg_total_relation_size of every table (of every leaf of a partitioned one),
 *    grouped into the event log, the views and the rest, before and after VACUUM FULL.
 * The same-run baselines are the one-instance run (ratios), and the empty database (storage).
 */
import { cpus } from 'node:os';
import type { Pool } from 'pg';
import { BENCH_GUPSHUP, createApp, enableGupshup, gupshupProvider, type BenchApp } from './lib/api';
import { checkThroughApi, drain, recordedTwice } from './lib/callback-checks';
import { callbackSequence, type Callback } from './lib/callbacks';
import { cpuMeter } from './lib/cpu-usage';
import { runLoad, type LoadResult } from './lib/load';
import { queueMessages, readSentMessages, waitUntilShownSent } from './lib/messages';
import { withPool, type BenchPostgres } from './lib/postgres';
import { subscriptionNames, waitForSubscriptions } from './lib/projection-lag';
import { formatNumber, publishRun, type Figure } from './lib/report';
import { startService, type RunningProcess } from './lib/service';
import { registerCallbacks, startSimulator } from './lib/simulator';
import { runStandalone } from './lib/standalone';

const INSTANCE_COUNTS = (process.env.BENCH_SCALING_INSTANCES ?? '1,2,3').split(',').filter(Boolean).map(Number);
const PARTITIONS = Number(process.env.BENCH_SCALING_PARTITIONS ?? 6);
/** Messages sent per layout; each then gets a delivered and a read callback. */
const MESSAGES = Number(process.env.BENCH_SCALING_MESSAGES ?? 15_000);
const SECONDS = Number(process.env.BENCH_SCALING_SECONDS ?? 10);
const WARMUP_SECONDS = 3;
/** Connections posting callbacks, shared out evenly among the instances. */
const CONNECTIONS = 64;
const READ_LAG = Math.min(2_000, Math.floor(MESSAGES / 10));
const WARMUP_CALLBACKS = Math.floor(MESSAGES / 5);
/** SUBSCRIPTION_LEASE_MS values the hand-over is measured with (the first is the service's default). */
const LEASES_MS = (process.env.BENCH_SCALING_LEASES_MS ?? '10000,3000').split(',').filter(Boolean).map(Number);
/** Kills per lease value; each moves the victim's share of every cut subscription. */
const KILLS = Number(process.env.BENCH_SCALING_KILLS ?? 2);
const STORAGE_MESSAGES = Number(process.env.BENCH_SCALING_STORAGE_MESSAGES ?? 5_000);
const TIMEOUT_MS = Number(process.env.BENCH_SCALING_TIMEOUT_MS ?? 600_000);
const API_SAMPLE = 100;
/** How long the instances are measured idle (no traffic): their polls and lease renewals alone. */
const IDLE_SECONDS = 5;
/** The tables of what users query (GET /v3/messages, notifications, analytics). */
const VIEW_TABLES = ['message_status_view', 'notification_summary_view', 'whatsapp_message_status_counts', 'whatsapp_daily_stats', 'whatsapp_daily_billable'];
const EVENT_LOG_TABLES = ['es_events', 'es_streams'];
/** What retires each kind of the event log's partitions (docs/retention.md). */
const LOG_KIND_RETENTION: Record<string, string> = { es_events_raw_callbacks: 'RAW_CALLBACK_RETENTION_DAYS', es_events_messages: 'MESSAGE_RETENTION_DAYS' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every role, the subscriptions cut in PARTITIONS parts, sending to the simulator without a rate limit. */
function instanceEnv(simulator: RunningProcess, leaseMs?: number): Record<string, string> {
  return {
    ROLES: 'api,dispatch,subscriptions',
    GUPSHUP_API_BASE_URL: simulator.url,
    GUPSHUP_RATE_LIMIT: '0',
    SUBSCRIPTION_PARTITIONS: String(PARTITIONS),
    ...(leaseMs ? { SUBSCRIPTION_LEASE_MS: String(leaseMs) } : {}),
  };
}

/** `count` instances on one database: the first alone (it runs the migrations), then the others together. */
async function startInstances(databaseUrl: string, count: number, env: Record<string, string>, name: string): Promise<RunningProcess[]> {
  const instances = [await startService(databaseUrl, env, `${name}-1`)];
  const others = await Promise.allSettled(Array.from({ length: count - 1 }, (_, i) => startService(databaseUrl, env, `${name}-${i + 2}`)));
  for (const other of others) if (other.status === 'fulfilled') instances.push(other.value);
  const failed = others.find((other) => other.status === 'rejected');
  if (failed) {
    await stopAll(instances);
    throw (failed as PromiseRejectedResult).reason;
  }
  return instances;
}

async function stopAll(instances: RunningProcess[]): Promise<void> {
  await Promise.all(instances.map((instance) => instance.stop()));
}

interface Lease {
  subscription: string;
  partition: number;
  memberId: string;
  pid: number;
  expiresAt: Date;
}

/** The live leases of the cut subscriptions, with the pid of the process that holds each (from its member entry). */
async function leases(pool: Pool): Promise<Lease[]> {
  const { rows } = await pool.query<{ subscription: string; partition: number; member_id: string; description: string; expires_at: Date }>(
    `SELECT l.subscription, l.partition, l.member_id, m.description, l.expires_at
       FROM es_subscription_leases l JOIN es_subscription_members m USING (member_id)
      WHERE l.expires_at > now() ORDER BY l.subscription, l.partition`,
  );
  return rows.map((row) => ({
    subscription: row.subscription,
    partition: row.partition,
    memberId: row.member_id,
    pid: Number(/pid (\d+)/.exec(row.description)?.[1] ?? 0),
    expiresAt: row.expires_at,
  }));
}

/** Waits until every cut subscription's parts are held, evenly, by exactly these processes; returns the seconds it took. */
async function waitForEvenShares(pool: Pool, instances: RunningProcess[]): Promise<number> {
  const started = performance.now();
  const pids = new Set(instances.map((instance) => instance.child.pid!));
  for (;;) {
    const held = await leases(pool);
    const bySubscription = new Map<string, Lease[]>();
    for (const lease of held) bySubscription.set(lease.subscription, [...(bySubscription.get(lease.subscription) ?? []), lease]);
    const even =
      bySubscription.size > 0 &&
      [...bySubscription.values()].every((parts) => {
        if (parts.length !== PARTITIONS || parts.some((lease) => !pids.has(lease.pid))) return false;
        const counts = [...pids].map((pid) => parts.filter((lease) => lease.pid === pid).length);
        return Math.max(...counts) - Math.min(...counts) <= 1;
      });
    if (even) return (performance.now() - started) / 1000;
    if (performance.now() - started > TIMEOUT_MS) throw new Error(`the subscriptions' parts were not shared out evenly among ${pids.size} instances within ${TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

/** Messages the instance has sent to Gupshup so far, from its /metrics. */
async function sentByInstance(instance: RunningProcess): Promise<number> {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  return [...text.matchAll(/^whatsapp_dispatch_outcomes_total\{[^}]*outcome="sent"[^}]*\} (\S+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** First to last send of the app's messages (their WhatsAppMessageSent events), and sends beyond one per message. */
async function sendSpan(pool: Pool, appId: string): Promise<{ seconds: number; sentTwice: number }> {
  const { rows } = await pool.query<{ sends: number; messages: number; seconds: number | null }>(
    `SELECT count(*)::int AS sends, count(DISTINCT stream_id)::int AS messages,
            extract(epoch FROM max((data->>'sentAt')::timestamptz) - min((data->>'sentAt')::timestamptz))::float8 AS seconds
       FROM es_events WHERE event_type = 'WhatsAppMessageSent' AND data->>'appId' = $1`,
    [appId],
  );
  return { seconds: rows[0].seconds ?? 0, sentTwice: rows[0].sends - rows[0].messages };
}

interface MultiLoad {
  rate: number;
  ok: number;
  failed: number;
  errors: number;
  p99: number;
  perInstance: LoadResult[];
}

/**
 * Callbacks posted to every instance at once, CONNECTIONS shared among them: instance k posts
 * the callbacks k, k + n, k + 2n, ... of callbacks[from, from + count) for `seconds`.
 */
async function postToAll(instances: RunningProcess[], path: string, callbacks: Callback[], from: number, count: number, seconds: number, acknowledged: Map<string, Callback>): Promise<MultiLoad> {
  const n = instances.length;
  const pick = (k: number, i: number) => callbacks[from + ((i * n + k) % count)];
  const perInstance = await Promise.all(
    instances.map((instance, k) =>
      runLoad({
        url: instance.url,
        connections: Math.max(1, Math.round(CONNECTIONS / n)),
        durationSeconds: seconds,
        request: (i) => ({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: pick(k, i).body }),
        acknowledged: (i) => {
          const callback = pick(k, i);
          acknowledged.set(`${callback.message.messageId}/${callback.status}`, callback);
        },
      }),
    ),
  );
  const ok = perInstance.reduce((sum, load) => sum + load.ok, 0);
  return {
    rate: perInstance.reduce((sum, load) => sum + load.rate, 0),
    ok,
    failed: perInstance.reduce((sum, load) => sum + load.failed, 0),
    errors: perInstance.reduce((sum, load) => sum + load.errors, 0),
    p99: Math.max(...perInstance.map((load) => load.p99)),
    perInstance,
  };
}

interface LayoutRun {
  instances: number;
  /** Messages queued through the APIs and shown sent by the view, per second of the whole. */
  sendRate: number;
  sendSeconds: number;
  /** First to last send to Gupshup. */
  dispatchSeconds: number;
  sentPerInstance: number[];
  sentTwice: number;
  /** CPU seconds a second with no traffic: the service processes together, and PostgreSQL's backends. */
  idle: { service: number; database: number };
  cpuPerMessage: { service: number; database: number };
  callbacks: MultiLoad;
  cpuPerCallback: { service: number; database: number };
  drainSeconds: number;
  notApplied: number;
  recordedTwice: number;
  apiChecked: number;
  usedUp: boolean;
}

async function runLayout(postgres: BenchPostgres, simulator: RunningProcess, count: number): Promise<LayoutRun> {
  const database = `bench_scaling_${process.pid}_${count}`;
  const databaseUrl = await postgres.createDatabase(database);
  try {
    const instances = await startInstances(databaseUrl, count, instanceEnv(simulator), `scaling-${count}of`);
    try {
      const app: BenchApp = await createApp(instances[0].url, `Bench scaling ${count}`);
      await enableGupshup(instances[0].url, app);
      await withPool(databaseUrl, (pool) => waitForEvenShares(pool, instances));
      const pids = instances.map((instance) => instance.child.pid!);
      let cpu = cpuMeter(databaseUrl, pids);
      await cpu.start();
      await sleep(IDLE_SECONDS * 1000);
      const idleCpu = await cpu.stop();

      process.stdout.write(`  ${count} instance(s): ${MESSAGES.toLocaleString('en-US')} messages queued through ${count === 1 ? 'its API' : 'their APIs'} and sent to the simulator\n`);
      const sentBefore = await Promise.all(instances.map(sentByInstance));
      cpu = cpuMeter(databaseUrl, pids);
      await cpu.start();
      const started = performance.now();
      await queueMessages(
        instances.map((instance) => instance.url),
        app,
        MESSAGES,
        { prefix: 'scaling' },
      );
      await waitUntilShownSent(databaseUrl, app.id, MESSAGES, TIMEOUT_MS, `bench/logs/scaling-${count}of-*.log`);
      const sendSeconds = (performance.now() - started) / 1000;
      const sendCpu = await cpu.stop();
      const sentAfter = await Promise.all(instances.map(sentByInstance));
      const span = await withPool(databaseUrl, (pool) => sendSpan(pool, app.id));

      const names = await subscriptionNames(databaseUrl);
      await waitForSubscriptions(databaseUrl, names, TIMEOUT_MS);
      const messages = await readSentMessages(databaseUrl, app.id);
      const callbacks = callbackSequence(messages, READ_LAG);
      const callbackUrl = new URL((await gupshupProvider(instances[0].url, app)).callbackUrl);
      // The same path on every instance: the URL Gupshup would be given, behind a load balancer.
      const path = `${callbackUrl.pathname}${callbackUrl.search}`;
      const acknowledged = new Map<string, Callback>();

      process.stdout.write(`  ${count} instance(s): warm-up, then ${SECONDS} s of callbacks to ${count === 1 ? 'it' : `all ${count}`}\n`);
      await postToAll(instances, path, callbacks, callbacks.length - WARMUP_CALLBACKS, WARMUP_CALLBACKS, WARMUP_SECONDS, acknowledged);
      await waitForSubscriptions(databaseUrl, names, TIMEOUT_MS);
      cpu = cpuMeter(databaseUrl, pids);
      await cpu.start();
      const load = await postToAll(instances, path, callbacks, 0, callbacks.length - WARMUP_CALLBACKS, SECONDS, acknowledged);
      const loadEndedAt = performance.now();
      const loadCpu = await cpu.stop();
      const drained = await drain(databaseUrl, acknowledged, names, loadEndedAt, TIMEOUT_MS);
      const api = await checkThroughApi(instances[count - 1].url, app, acknowledged, API_SAMPLE);
      return {
        instances: count,
        sendRate: MESSAGES / sendSeconds,
        sendSeconds,
        dispatchSeconds: span.seconds,
        sentPerInstance: sentAfter.map((after, i) => after - sentBefore[i]),
        sentTwice: span.sentTwice,
        idle: { service: idleCpu.service / IDLE_SECONDS, database: idleCpu.database / IDLE_SECONDS },
        cpuPerMessage: { service: sendCpu.service / MESSAGES, database: sendCpu.database / MESSAGES },
        callbacks: load,
        cpuPerCallback: { service: loadCpu.service / load.ok, database: loadCpu.database / load.ok },
        drainSeconds: drained.seconds,
        notApplied: drained.notApplied + api.mismatches,
        recordedTwice: (await recordedTwice(databaseUrl, app.id)) + api.shownTwice,
        apiChecked: api.checked,
        usedUp: load.ok > callbacks.length - WARMUP_CALLBACKS,
      };
    } finally {
      await stopAll(instances);
    }
  } finally {
    await postgres.dropDatabase(database);
  }
}

interface Handover {
  leaseMs: number;
  /** Seconds from the kill until another instance processed an event of the part, one per part moved. */
  moves: number[];
  /** Seconds the victim's leases had left at the kill. */
  leaseLeft: number[];
  /** Seconds from the restarted instance's first healthy answer until the parts were shared evenly again. */
  rejoins: number[];
}

/**
 * Notifications of 20 recipients each, one every 100 ms, through the given instances in turn,
 * until stopped: events keep coming in every part of the log while parts move.
 */
function steadyTraffic(targets: () => RunningProcess[], app: BenchApp): { stop(): Promise<number> } {
  let running = true;
  let queued = 0;
  const loop = (async () => {
    for (let r = 0; running; r++) {
      const list = targets();
      const recipients = Array.from({ length: 20 }, (_, i) => ({ identifier: `steady-${r}-${i}`, phoneNumber: `+9196${String(10_000_000 + r * 20 + i)}` }));
      const answer = await fetch(`${list[r % list.length].url}/v3/notifications`, {
        method: 'POST',
        headers: { ...app.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ notification: { title: 'Steady' }, sendTo: { recipients } }),
      }).catch(() => undefined);
      if (answer?.status === 202) queued += recipients.length;
      await answer?.arrayBuffer();
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return queued;
    },
  };
}

async function runHandover(postgres: BenchPostgres, simulator: RunningProcess, leaseMs: number): Promise<Handover> {
  const database = `bench_scaling_${process.pid}_handover_${leaseMs}`;
  const databaseUrl = await postgres.createDatabase(database);
  const env = instanceEnv(simulator, leaseMs);
  const result: Handover = { leaseMs, moves: [], leaseLeft: [], rejoins: [] };
  try {
    const instances = await startInstances(databaseUrl, 3, env, `scaling-handover-${leaseMs}`);
    try {
      const app = await createApp(instances[0].url, `Bench scaling hand-over ${leaseMs}`);
      await enableGupshup(instances[0].url, app);
      // The first two take the traffic; the third is the one killed.
      const traffic = steadyTraffic(() => instances.slice(0, 2), app);
      try {
        await withPool(databaseUrl, async (pool) => {
          await waitForEvenShares(pool, instances);
          for (let kill = 1; kill <= KILLS; kill++) {
            process.stdout.write(`  SUBSCRIPTION_LEASE_MS=${leaseMs}: kill -9 ${kill} of ${KILLS}\n`);
            // At a random point between two renewals, so that the lease left at the kill is anywhere from 2/3 of it to all of it.
            await sleep(Math.random() * (leaseMs / 3));
            const victim = instances[2];
            const held = (await leases(pool)).filter((lease) => lease.pid === victim.child.pid);
            const { rows } = await pool.query<{ at: Date }>('SELECT clock_timestamp() AS at');
            const killedAt = rows[0].at;
            const exited = new Promise((r) => victim.child.once('exit', r));
            victim.child.kill('SIGKILL');
            await exited;
            await victim.stop();
            // Until each of its parts has a checkpoint written after the kill, by another instance.
            const moved = new Map<string, number>();
            const deadline = performance.now() + 3 * leaseMs + TIMEOUT_MS;
            while (moved.size < held.length) {
              if (performance.now() > deadline) throw new Error(`parts of the killed instance not taken over: ${held.length - moved.size} left`);
              for (const lease of held) {
                const name = `${lease.subscription}#${lease.partition + 1}/${PARTITIONS}`;
                if (moved.has(name)) continue;
                const { rows: checkpoint } = await pool.query<{ after: number | null }>(
                  `SELECT extract(epoch FROM s.updated_at - $2::timestamptz)::float8 AS after
                     FROM es_subscriptions s
                     JOIN es_subscription_leases l ON l.subscription = $3 AND l.partition = $4 AND l.member_id <> $5
                    WHERE s.name = $1 AND s.updated_at > $2::timestamptz`,
                  [name, killedAt, lease.subscription, lease.partition, lease.memberId],
                );
                if (checkpoint.length > 0 && checkpoint[0].after !== null) moved.set(name, checkpoint[0].after);
              }
              await sleep(50);
            }
            result.moves.push(...moved.values());
            result.leaseLeft.push(...held.map((lease) => (lease.expiresAt.getTime() - killedAt.getTime()) / 1000));
            // Started again, the same way: until it runs its share.
            instances[2] = await startService(databaseUrl, env, `scaling-handover-${leaseMs}-3-again-${kill}`);
            result.rejoins.push(await waitForEvenShares(pool, instances));
          }
        });
      } finally {
        await traffic.stop();
      }
    } finally {
      await stopAll(instances);
    }
    return result;
  } finally {
    await postgres.dropDatabase(database);
  }
}

interface TableSize {
  table: string;
  /** Leaf partitions summed (1 for a table that is not partitioned). */
  leaves: number;
  total: number;
  indexes: number;
}

/** Every table of the service's schema: pg_total_relation_size and pg_indexes_size, summed over the leaves of a partitioned one (its parent reports 0). */
async function tableSizes(pool: Pool): Promise<Map<string, TableSize>> {
  const { rows } = await pool.query<{ table: string; leaves: number; total: string; indexes: string }>(
    `SELECT root.relname AS table, count(*)::int AS leaves,
            sum(pg_total_relation_size(t.relid))::bigint AS total, sum(pg_indexes_size(t.relid))::bigint AS indexes
       FROM pg_class root
       JOIN pg_namespace n ON n.oid = root.relnamespace
      CROSS JOIN LATERAL (SELECT relid FROM pg_partition_tree(root.oid) WHERE isleaf
                          UNION ALL SELECT root.oid WHERE root.relkind = 'r') AS t
      WHERE n.nspname = current_schema() AND root.relkind IN ('r', 'p') AND NOT root.relispartition
      GROUP BY root.relname`,
  );
  return new Map(rows.map((row) => [row.table, { table: row.table, leaves: row.leaves, total: Number(row.total), indexes: Number(row.indexes) }]));
}

/**
 * The event log by kind, with indexes: es_events' leaves grouped under the partition of es_events
 * they belong to (es_events_raw_callbacks, es_events_messages: retired after their retention;
 * es_events_kept), and es_streams shared out the same way by the bytes of the rows of the streams
 * whose events each kind holds. One kind, es_events, when the log is not partitioned.
 */
async function eventLogKinds(pool: Pool): Promise<Map<string, number>> {
  const { rows: partitioned } = await pool.query<{ partitioned: boolean }>(`SELECT relkind = 'p' AS partitioned FROM pg_class WHERE oid = 'es_events'::regclass`);
  const { rows: streamsSize } = await pool.query<{ total: string }>(`SELECT pg_total_relation_size('es_streams') AS total`);
  if (!partitioned[0].partitioned) {
    const { rows } = await pool.query<{ total: string }>(`SELECT pg_total_relation_size('es_events') AS total`);
    return new Map([['es_events', Number(rows[0].total) + Number(streamsSize[0].total)]]);
  }
  const kindOf = `coalesce(nullif(t.parentrelid, 'es_events'::regclass), t.relid)::regclass::text`;
  const { rows: events } = await pool.query<{ kind: string; total: string }>(
    `SELECT ${kindOf} AS kind, sum(pg_total_relation_size(t.relid))::bigint AS total
       FROM pg_partition_tree('es_events') t WHERE t.isleaf GROUP BY 1`,
  );
  const { rows: streams } = await pool.query<{ kind: string; bytes: string }>(
    `SELECT ${kindOf} AS kind, sum(pg_column_size(s.*))::bigint AS bytes
       FROM es_streams s
      CROSS JOIN LATERAL (SELECT e.tableoid FROM es_events e WHERE e.stream_id = s.stream_id LIMIT 1) AS e
       JOIN pg_partition_tree('es_events') t ON t.relid = e.tableoid
      GROUP BY 1`,
  );
  const streamBytes = streams.reduce((sum, row) => sum + Number(row.bytes), 0);
  const kinds = new Map(events.map((row) => [row.kind, Number(row.total)]));
  for (const row of streams) kinds.set(row.kind, (kinds.get(row.kind) ?? 0) + (Number(streamsSize[0].total) * Number(row.bytes)) / Math.max(1, streamBytes));
  return kinds;
}

interface StorageSnapshot {
  tables: Map<string, TableSize>;
  logKinds: Map<string, number>;
  database: number;
}

async function storageSnapshot(pool: Pool): Promise<StorageSnapshot> {
  const { rows } = await pool.query<{ size: string }>('SELECT pg_database_size(current_database()) AS size');
  return { tables: await tableSizes(pool), logKinds: await eventLogKinds(pool), database: Number(rows[0].size) };
}

/** Bytes per message each kind of the event log grew by (leaves, indexes and its share of es_streams). */
function logGrowth(before: StorageSnapshot, after: StorageSnapshot, messages: number): Map<string, number> {
  return new Map([...after.logKinds].map(([kind, total]) => [kind, (total - (before.logKinds.get(kind) ?? 0)) / messages]));
}

interface Growth {
  total: number;
  indexes: number;
}

/** Bytes added per message between two snapshots, for the tables `pick` chooses. */
function growth(before: StorageSnapshot, after: StorageSnapshot, messages: number, pick: (table: string) => boolean): Growth {
  let total = 0;
  let indexes = 0;
  for (const [table, size] of after.tables) {
    if (!pick(table)) continue;
    total += size.total - (before.tables.get(table)?.total ?? 0);
    indexes += size.indexes - (before.tables.get(table)?.indexes ?? 0);
  }
  return { total: total / messages, indexes: indexes / messages };
}

interface StorageRun {
  messages: number;
  eventsPerMessage: number;
  byStreamType: { streamType: string; eventsPerMessage: number }[];
  written: { all: Growth; log: Growth; views: Growth; other: Growth; logKinds: Map<string, number>; database: number; tables: { table: string; perMessage: number; leaves: number }[] };
  compacted: { all: Growth; log: Growth; views: Growth; other: Growth; logKinds: Map<string, number> };
  seconds: number;
}

/** Messages each user of the storage run gets: a user's profile and stream are shared by their messages, as in life. */
const MESSAGES_PER_USER = 10;

/**
 * The n-th message of the storage run: one recipient a request, as most notifications are; users
 * in turn, each with a phone number ending in 0-5, which the simulator reads (sent, delivered, read).
 */
function storageRecipient(n: number): { identifier: string; phoneNumber: string } {
  const user = n % Math.max(1, Math.floor(STORAGE_MESSAGES / MESSAGES_PER_USER));
  return { identifier: `storage-${user}`, phoneNumber: `+9195${String(1_000_000 + Math.floor(user / 6))}${user % 6}` };
}

async function runStorage(postgres: BenchPostgres): Promise<StorageRun> {
  const database = `bench_scaling_${process.pid}_storage`;
  const databaseUrl = await postgres.createDatabase(database);
  // A simulator of its own that posts every message's callbacks, retrying patiently.
  const simulator = await startSimulator();
  try {
    const started = performance.now();
    const service = await startService(databaseUrl, { GUPSHUP_API_BASE_URL: simulator.url, GUPSHUP_RATE_LIMIT: '0' }, 'scaling-storage');
    let before: StorageSnapshot;
    let app: BenchApp;
    try {
      app = await createApp(service.url, 'Bench scaling storage');
      const provider = await enableGupshup(service.url, app);
      await registerCallbacks(simulator, BENCH_GUPSHUP.apiKey, BENCH_GUPSHUP, provider.callbackUrl);
      const patched = await fetch(`${simulator.url}/__simulator/settings`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ callbackRetries: 1000, callbackRetryBackoffMs: 50, callbackRetryMaxBackoffMs: 1000 }),
      });
      if (!patched.ok) throw new Error(`the simulator refused its settings: ${patched.status} ${await patched.text()}`);
      await waitForSubscriptions(databaseUrl, await subscriptionNames(databaseUrl), TIMEOUT_MS);
      before = await withPool(databaseUrl, storageSnapshot);

      process.stdout.write(`  storage: ${STORAGE_MESSAGES.toLocaleString('en-US')} messages sent and tracked to seen by the simulator's callbacks\n`);
      await queueMessages(service.url, app, STORAGE_MESSAGES, { recipient: storageRecipient, perRequest: 1, inFlightPerUrl: 16 });
      await withPool(databaseUrl, async (pool) => {
        const deadline = Date.now() + TIMEOUT_MS;
        let events = -1;
        for (;;) {
          const { rows } = await pool.query<{ seen: number; events: number }>(
            'SELECT (SELECT count(*)::int FROM message_status_view WHERE app_id = $1 AND seen_at IS NOT NULL) AS seen, (SELECT count(*)::int FROM es_events) AS events',
            [app.id],
          );
          // Every message seen, and nothing more written for a second (a late retry of a callback).
          if (rows[0].seen >= STORAGE_MESSAGES && rows[0].events === events) break;
          if (Date.now() > deadline) throw new Error(`only ${rows[0].seen} of ${STORAGE_MESSAGES} messages seen after ${TIMEOUT_MS} ms; see bench/logs/scaling-storage.log`);
          events = rows[0].seen >= STORAGE_MESSAGES ? rows[0].events : -1;
          await sleep(rows[0].seen >= STORAGE_MESSAGES ? 1000 : 250);
        }
      });
      await waitForSubscriptions(databaseUrl, await subscriptionNames(databaseUrl), TIMEOUT_MS);
    } finally {
      await service.stop();
    }
    return await withPool(databaseUrl, async (pool) => {
      const written = await storageSnapshot(pool);
      const { rows: types } = await pool.query<{ stream_type: string; events: number }>(
        `SELECT split_part(stream_id, '-', 1) AS stream_type, count(*)::int AS events FROM es_events GROUP BY 1 ORDER BY 2 DESC`,
      );
      const events = types.reduce((sum, row) => sum + row.events, 0);
      await pool.query('VACUUM FULL');
      const compacted = await storageSnapshot(pool);
      const groups = (after: StorageSnapshot) => ({
        all: growth(before, after, STORAGE_MESSAGES, () => true),
        log: growth(before, after, STORAGE_MESSAGES, (table) => EVENT_LOG_TABLES.includes(table)),
        views: growth(before, after, STORAGE_MESSAGES, (table) => VIEW_TABLES.includes(table)),
        other: growth(before, after, STORAGE_MESSAGES, (table) => !EVENT_LOG_TABLES.includes(table) && !VIEW_TABLES.includes(table)),
        logKinds: logGrowth(before, after, STORAGE_MESSAGES),
      });
      const tables = [...written.tables.values()]
        .map((size) => ({ table: size.table, leaves: size.leaves, perMessage: (size.total - (before.tables.get(size.table)?.total ?? 0)) / STORAGE_MESSAGES }))
        .filter((row) => row.perMessage > 0)
        .sort((a, b) => b.perMessage - a.perMessage);
      return {
        messages: STORAGE_MESSAGES,
        eventsPerMessage: events / STORAGE_MESSAGES,
        byStreamType: types.map((row) => ({ streamType: row.stream_type, eventsPerMessage: row.events / STORAGE_MESSAGES })),
        written: { ...groups(written), database: (written.database - before.database) / STORAGE_MESSAGES, tables },
        compacted: groups(compacted),
        seconds: (performance.now() - started) / 1000,
      };
    });
  } finally {
    await simulator.stop();
    await postgres.dropDatabase(database);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
};
const µs = (seconds: number) => `${(seconds * 1e6).toFixed(0)} µs`;
const list = (values: number[], digits = 0) => values.map((value) => value.toFixed(digits)).join(' / ');

function layoutFigures(run: LayoutRun, single: LayoutRun | undefined): Figure[] {
  const label = `${run.instances} instance${run.instances === 1 ? '' : 's'}`;
  const figures: Figure[] = [
    { name: `messages queued and shown sent per second, in all, ${label}`, value: run.sendRate, unit: '/s' },
    { name: `messages queued and shown sent per second, per instance, ${label}`, value: run.sendRate / run.instances, unit: '/s' },
    { name: `callbacks acknowledged per second, in all, ${label}`, value: run.callbacks.rate, unit: '/s' },
    { name: `callbacks acknowledged per second, per instance, ${label}`, value: run.callbacks.rate / run.instances, unit: '/s' },
    { name: `callback latency p99 (the slowest instance's), ${label}`, value: run.callbacks.p99, unit: 'ms' },
    {
      name: `CPU of an idle instance (polls, lease renewals), share of a core, ${label}`,
      value: (100 * run.idle.service) / run.instances,
      unit: '%',
      baseline: `PostgreSQL's backends meanwhile: ${formatNumber(100 * run.idle.database)} % of a core`,
    },
    { name: `drain: end of the callbacks until every view reflects them, ${label}`, value: run.drainSeconds, unit: 's' },
    { name: `messages sent twice, callbacks not applied or recorded twice, ${label}`, value: run.sentTwice + run.notApplied + run.recordedTwice, unit: '', target: { op: '<=', value: 0 } },
  ];
  if (single && single !== run) {
    figures.push(
      {
        name: `sending against 1 instance, ${label}`,
        value: run.sendRate / single.sendRate,
        unit: '×',
        baseline: `1 instance, same run: ${formatNumber(single.sendRate)} messages/s; CPU per message ${µs(single.cpuPerMessage.service)} service, ${µs(single.cpuPerMessage.database)} PostgreSQL`,
      },
      {
        name: `callbacks against 1 instance, ${label}`,
        value: run.callbacks.rate / single.callbacks.rate,
        unit: '×',
        baseline: `1 instance, same run: ${formatNumber(single.callbacks.rate)} /s; CPU per callback ${µs(single.cpuPerCallback.service)} service, ${µs(single.cpuPerCallback.database)} PostgreSQL`,
      },
    );
  }
  return figures;
}

function layoutNotes(run: LayoutRun): string[] {
  const label = `${run.instances} instance${run.instances === 1 ? '' : 's'}`;
  const notes = [
    `${label}: ${MESSAGES.toLocaleString('en-US')} messages queued and shown sent in ${run.sendSeconds.toFixed(1)} s (first to last send to the simulator ${run.dispatchSeconds.toFixed(1)} s), sent by each instance: ${run.sentPerInstance.join(' / ')}; ` +
      `CPU per message ${µs(run.cpuPerMessage.service)} in the service processes, ${µs(run.cpuPerMessage.database)} in PostgreSQL's backends ` +
      `(of which their idle rate over the run: ${µs((run.idle.service * run.sendSeconds) / MESSAGES)} and ${µs((run.idle.database * run.sendSeconds) / MESSAGES)})`,
    `${label}: ${run.callbacks.ok.toLocaleString('en-US')} callbacks acknowledged in ${SECONDS} s, by each instance ${list(run.callbacks.perInstance.map((load) => load.rate))} /s (p99 ${run.callbacks.perInstance.map((load) => load.p99).join(' / ')} ms), ` +
      `${run.callbacks.failed} non-2xx, ${run.callbacks.errors} errors; CPU per callback ${µs(run.cpuPerCallback.service)} in the service processes, ${µs(run.cpuPerCallback.database)} in PostgreSQL's backends; ` +
      `${run.apiChecked} messages read back through GET /v3/messages/{id}`,
  ];
  if (run.usedUp) notes.push(`${label}: the run used up the prepared callbacks and posted some twice: raise BENCH_SCALING_MESSAGES`);
  return notes;
}

function handoverFigures(run: Handover): Figure[] {
  const lease = run.leaseMs / 1000;
  return [
    { name: `a part moved after kill -9 of its holder, median (SUBSCRIPTION_LEASE_MS=${run.leaseMs})`, value: median(run.moves), unit: 's', baseline: `lease ${formatNumber(lease)} s: ${formatNumber(median(run.moves) / lease)} × the lease` },
    { name: `a part moved after kill -9 of its holder, slowest (SUBSCRIPTION_LEASE_MS=${run.leaseMs})`, value: Math.max(...run.moves), unit: 's', baseline: `${formatNumber(Math.max(...run.moves) / lease)} × the lease` },
    { name: `the killed instance, started again, runs its share again, slowest (SUBSCRIPTION_LEASE_MS=${run.leaseMs})`, value: Math.max(...run.rejoins), unit: 's' },
  ];
}

function handoverNotes(run: Handover): string[] {
  const lease = run.leaseMs / 1000;
  return [
    `SUBSCRIPTION_LEASE_MS=${run.leaseMs}: ${KILLS} kills of one of 3 instances (every role, ${PARTITIONS} parts per cut subscription, notifications posted to the other two every 100 ms), ` +
      `${run.moves.length} parts moved in ${formatNumber(Math.min(...run.moves))}–${formatNumber(Math.max(...run.moves))} s; the victim's leases had ${formatNumber(Math.min(...run.leaseLeft))}–${formatNumber(Math.max(...run.leaseLeft))} s left at the kill ` +
      `(renewed a third of the lease after the previous round ended, so usually between ${formatNumber((2 * lease) / 3)} and ${formatNumber(lease)} s), and the others take an expired lease at their next round (about lease/3 = ${formatNumber(lease / 3)} s later at most): ` +
      `a move is expected within about ${formatNumber((4 * lease) / 3)} s plus a batch; started again, the instance ran its share after ${list(run.rejoins, 1)} s`,
  ];
}

const kB = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;

function storageFigures(run: StorageRun): Figure[] {
  return [
    { name: 'PostgreSQL storage per message sent and tracked to seen, every table and index', value: run.written.all.total, unit: 'B', baseline: `after VACUUM FULL: ${formatNumber(run.compacted.all.total)} B` },
    {
      name: 'of which the event log (es_events, es_streams)',
      value: run.written.log.total,
      unit: 'B',
      baseline: `indexes ${formatNumber(run.written.log.indexes)} B; after VACUUM FULL ${formatNumber(run.compacted.log.total)} B`,
    },
    {
      name: `of which the views (${VIEW_TABLES.join(', ')})`,
      value: run.written.views.total,
      unit: 'B',
      baseline: `indexes ${formatNumber(run.written.views.indexes)} B; after VACUUM FULL ${formatNumber(run.compacted.views.total)} B`,
    },
    { name: 'of which every other table', value: run.written.other.total, unit: 'B', baseline: `indexes ${formatNumber(run.written.other.indexes)} B; after VACUUM FULL ${formatNumber(run.compacted.other.total)} B` },
    ...[...run.written.logKinds]
      .filter(([, perMessage]) => perMessage > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([kind, perMessage]) => ({
        name: `of the event log, ${kind}${LOG_KIND_RETENTION[kind] ? ` (retired after ${LOG_KIND_RETENTION[kind]})` : ''}, with its streams' rows`,
        value: perMessage,
        unit: 'B',
        baseline: `after VACUUM FULL ${formatNumber(run.compacted.logKinds.get(kind) ?? 0)} B`,
      })),
    { name: 'events per message', value: run.eventsPerMessage, unit: '' },
  ];
}

function storageNotes(run: StorageRun): string[] {
  return [
    `storage: ${run.messages.toLocaleString('en-US')} messages of one app, one recipient a request, ${MESSAGES_PER_USER} to each user, queued through the API, sent to the simulator and tracked to seen by its callbacks (enqueued, sent, delivered, read) in ${run.seconds.toFixed(0)} s; ` +
      `sizes read after the service stopped, less those of the same database before the first message; the database as a whole grew by ${kB(run.written.database)} a message`,
    `storage: events per message by stream type: ${run.byStreamType.map((row) => `${row.streamType} ${row.eventsPerMessage.toFixed(2)}`).join(', ')}`,
    `storage: per table, bytes a message: ${run.written.tables
      .slice(0, 12)
      .map((row) => `${row.table}${row.leaves > 1 ? ` (${row.leaves} partitions)` : ''} ${formatNumber(row.perMessage)}`)
      .join(', ')}`,
  ];
}

export async function scalingBenchmark(postgres: BenchPostgres): Promise<void> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  const simulator = await startSimulator();
  try {
    const layouts: LayoutRun[] = [];
    for (const count of INSTANCE_COUNTS) {
      await postgres.settle();
      layouts.push(await runLayout(postgres, simulator, count));
    }
    const single = layouts.find((run) => run.instances === 1);
    for (const run of layouts) {
      figures.push(...layoutFigures(run, single));
      notes.push(...layoutNotes(run));
    }
    for (const leaseMs of LEASES_MS) {
      await postgres.settle();
      const run = await runHandover(postgres, simulator, leaseMs);
      figures.push(...handoverFigures(run));
      notes.push(...handoverNotes(run));
    }
  } finally {
    await simulator.stop();
  }
  await postgres.settle();
  const storage = await runStorage(postgres);
  figures.push(...storageFigures(storage));
  notes.push(...storageNotes(storage));
  notes.push(
    `one machine of ${cpus().length} cores runs everything: the instances, PostgreSQL, the simulator and the load generator, so more instances cannot add capacity here; ` +
      'the rates in all show what sharing one machine costs (and, while other programs run on it, more processes also win a bigger share of its CPU from them), ' +
      'the CPU per message and per callback what coordinating instances costs (the background work of every process, its polls and lease renewals, included). ' +
      `Instances: every role, SUBSCRIPTION_PARTITIONS=${PARTITIONS}, default pool sizes`,
  );
  publishRun('scaling', postgres, figures, notes);
}

if (require.main === module) runStandalone(scalingBenchmark);
