/**
 * Benchmark 3, dispatch: 20,000 messages queued through POST /v3/notifications while no
 * dispatcher runs, then the service started again on the same database with its dispatch workers
 * and the rate limit off, sending them to the Gupshup simulator (its own process, answering at
 * once, no callbacks). Then a second app's messages with GUPSHUP_RATE_LIMIT set: the achieved
 * rate against the limit. Baseline measured in the same run: the simulator's own capacity for the
 * same send request, driven by autocannon. Every message must reach the simulator exactly once.
 */
import { Pool } from 'pg';
import { findFreePort } from '../src/database/embedded-postgres';
import { buildGupshupSendRequest } from '../src/whatsapp/gupshup/send-request';
import { createApp, enableGupshup, postJson, type BenchApp } from './lib/api';
import { runLoad, type LoadResult } from './lib/load';
import type { BenchPostgres } from './lib/postgres';
import { runStandalone } from './lib/standalone';
import { waitForSubscriptions } from './lib/projection-lag';
import { formatNumber, publishRun, type Figure } from './lib/report';
import { startProcess, startService, type RunningProcess } from './lib/service';

const MESSAGES = Number(process.env.BENCH_DISPATCH_MESSAGES ?? 20_000);
const PER_REQUEST = 1000;
const RATE_LIMIT = Number(process.env.BENCH_DISPATCH_RATE_LIMIT ?? 200);
/** Messages for about 15 s at the limit. */
const LIMITED_MESSAGES = Math.ceil((RATE_LIMIT * 15) / PER_REQUEST) * PER_REQUEST;
/** The dispatcher's calls in flight at most with its defaults (4 workers × batches of 50): the baseline's connections. */
const BASELINE_CONNECTIONS = 200;
const BASELINE_SECONDS = 5;
const SEND_TIMEOUT_MS = 180_000;
const TITLE = 'Your order shipped';
const BODY = 'Track it in the app';
/** What enableGupshup configures; the simulator accepts any key. */
const GUPSHUP = { apiKey: 'bench-gupshup-key-0001', source: '917834811114', srcName: 'BenchApp' };

interface SimulatorRequest {
  sequence: number;
  receivedAt: string;
}

/** Requests the simulator has received so far (its sequence numbers count every one, also those it no longer keeps). */
async function simulatorRequests(simulator: RunningProcess): Promise<{ total: number; recent: SimulatorRequest[] }> {
  const response = await fetch(`${simulator.url}/__simulator/requests`);
  const recent = (await response.json()) as SimulatorRequest[];
  return { total: recent.at(-1)?.sequence ?? 0, recent };
}

/** `count` messages for `app`, PER_REQUEST inline recipients a request, two requests at a time. */
async function queueMessages(serviceUrl: string, app: BenchApp, count: number, prefix: string): Promise<number> {
  const started = Date.now();
  let next = 0;
  const requests = Math.ceil(count / PER_REQUEST);
  const worker = async () => {
    for (let r = next++; r < requests; r = next++) {
      const recipients = Array.from({ length: Math.min(PER_REQUEST, count - r * PER_REQUEST) }, (_, i) => {
        const n = r * PER_REQUEST + i;
        return { identifier: `${prefix}-${n}`, phoneNumber: `+9198${String(10_000_000 + n)}` };
      });
      await postJson(`${serviceUrl}/v3/notifications`, app.headers, { notification: { title: TITLE, message: BODY }, sendTo: { recipients } }, 202);
    }
  };
  await Promise.all([worker(), worker()]);
  return Date.now() - started;
}

/** Every subscription the service has registered, caught up: the dispatch run then starts with no projection backlog. */
async function waitForAllSubscriptions(databaseUrl: string): Promise<void> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  const { rows } = await pool.query<{ name: string }>('SELECT name FROM es_subscriptions').finally(() => pool.end());
  await waitForSubscriptions(databaseUrl, rows.map((row) => row.name));
}

interface SendRun {
  sent: number;
  /** Messages whose job never reached `sent`. */
  unsent: number;
  /** Messages with more than one WhatsAppMessageSent. */
  sentTwice: number;
  /** (sent - 1) / (last sentAt - first sentAt). */
  rate: number;
  seconds: number;
  /** From the service's start until every job was settled. */
  wallSeconds: number;
}

/** Polls the job table until none of the app's jobs is pending or in flight, then reads the WhatsAppMessageSent events. */
async function waitForSends(databaseUrl: string, appId: string, expected: number, startedAt: number): Promise<SendRun> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    for (;;) {
      const { rows } = await pool.query<{ open: number }>(
        "SELECT count(*)::int AS open FROM whatsapp_dispatch_jobs WHERE app_id = $1 AND state IN ('pending', 'in_flight')",
        [appId],
      );
      if (rows[0].open === 0) break;
      if (Date.now() - startedAt > SEND_TIMEOUT_MS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const wallSeconds = (Date.now() - startedAt) / 1000;
    const { rows } = await pool.query<{ sent: number; messages: number; first: Date | null; last: Date | null }>(
      `SELECT count(*)::int AS sent, count(DISTINCT stream_id)::int AS messages,
              min((data->>'sentAt')::timestamptz) AS first, max((data->>'sentAt')::timestamptz) AS last
         FROM es_events WHERE event_type = 'WhatsAppMessageSent' AND data->>'appId' = $1`,
      [appId],
    );
    const { rows: jobs } = await pool.query<{ sent: number }>("SELECT count(*)::int AS sent FROM whatsapp_dispatch_jobs WHERE app_id = $1 AND state = 'sent'", [
      appId,
    ]);
    const { sent, messages, first, last } = rows[0];
    const seconds = first && last ? (last.getTime() - first.getTime()) / 1000 : 0;
    return {
      sent: messages,
      unsent: expected - jobs[0].sent,
      sentTwice: sent - messages,
      rate: seconds > 0 ? (messages - 1) / seconds : 0,
      seconds,
      wallSeconds,
    };
  } finally {
    await pool.end();
  }
}

/** Queues `count` messages for `app` with no dispatcher running, then sends them with `env`; the simulator's request count is checked too. */
async function dispatchRun(
  databaseUrl: string,
  simulator: RunningProcess,
  app: BenchApp,
  count: number,
  prefix: string,
  env: Record<string, string>,
): Promise<SendRun & { queueMs: number; simulatorRequests: number; requestTimes: number[] }> {
  const queuer = await startService(databaseUrl, { DISPATCH_WORKERS: '0', GUPSHUP_API_BASE_URL: simulator.url }, `service-queue-${prefix}`);
  let queueMs: number;
  try {
    queueMs = await queueMessages(queuer.url, app, count, prefix);
    await waitForAllSubscriptions(databaseUrl);
  } finally {
    await queuer.stop();
  }
  const before = (await simulatorRequests(simulator)).total;
  const startedAt = Date.now();
  const sender = await startService(databaseUrl, { GUPSHUP_API_BASE_URL: simulator.url, ...env }, `service-dispatch-${prefix}`);
  let run: SendRun;
  try {
    run = await waitForSends(databaseUrl, app.id, count, startedAt);
  } finally {
    await sender.stop();
  }
  const after = await simulatorRequests(simulator);
  const requestTimes = after.recent.filter((r) => r.sequence > before).map((r) => Date.parse(r.receivedAt));
  return { ...run, queueMs, simulatorRequests: after.total - before, requestTimes };
}

/** The most requests in any one-second window [t, t + 1 s). */
function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end] < sorted[start] + 1000) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

/** The simulator alone: the send request the product makes, posted by autocannon as fast as it answers. */
async function simulatorBaseline(simulator: RunningProcess): Promise<LoadResult> {
  const send = buildGupshupSendRequest({ credentials: GUPSHUP, destination: '919810000000', text: `${TITLE}\n\n${BODY}` });
  const body = new URLSearchParams(send.form).toString();
  const request = () => ({ method: 'POST' as const, path: send.path, headers: send.headers, body });
  await runLoad({ url: simulator.url, connections: BASELINE_CONNECTIONS, durationSeconds: 2, request }); // warm-up
  return runLoad({ url: simulator.url, connections: BASELINE_CONNECTIONS, durationSeconds: BASELINE_SECONDS, request });
}

export async function dispatchBenchmark(postgres: BenchPostgres): Promise<void> {
  const port = await findFreePort();
  // No callback URL: the simulator only answers the sends.
  const simulator = await startProcess(
    'gupshup-simulator',
    ['-r', '@swc-node/register', 'tools/simulator/main.ts', '--accept-any-key', '--port', String(port)],
    { PORT: String(port) },
    '/__simulator/settings',
  );
  const databaseUrl = await postgres.createDatabase('bench_dispatch');
  const notes: string[] = [];
  try {
    const baseline = await simulatorBaseline(simulator);

    const setup = await startService(databaseUrl, { DISPATCH_WORKERS: '0', GUPSHUP_API_BASE_URL: simulator.url }, 'service-setup');
    let unlimitedApp: BenchApp;
    let limitedApp: BenchApp;
    try {
      unlimitedApp = await createApp(setup.url, 'Bench dispatch');
      limitedApp = await createApp(setup.url, 'Bench dispatch limited');
      await enableGupshup(setup.url, unlimitedApp);
      await enableGupshup(setup.url, limitedApp);
    } finally {
      await setup.stop();
    }

    const unlimited = await dispatchRun(databaseUrl, simulator, unlimitedApp, MESSAGES, 'open', { GUPSHUP_RATE_LIMIT: '0' });
    const limited = await dispatchRun(databaseUrl, simulator, limitedApp, LIMITED_MESSAGES, 'limited', { GUPSHUP_RATE_LIMIT: String(RATE_LIMIT) });
    const deviation = (100 * Math.abs(limited.rate - RATE_LIMIT)) / RATE_LIMIT;
    // Beyond one request per message, a message reached Gupshup twice (nothing here makes the simulator fail a send).
    const extraRequests = Math.max(0, unlimited.simulatorRequests - unlimited.sent) + Math.max(0, limited.simulatorRequests - limited.sent);

    const figures: Figure[] = [
      {
        name: `messages sent per second, rate limit off (${MESSAGES.toLocaleString('en-US')} queued)`,
        value: unlimited.rate,
        unit: '/s',
        target: { op: '>=', value: 1000 },
        baseline: `the simulator alone, autocannon with ${BASELINE_CONNECTIONS} connections: ${formatNumber(baseline.rate)} req/s, p99 ${baseline.p99} ms`,
      },
      { name: "ratio to the simulator's capacity", value: unlimited.rate / baseline.rate, unit: '×' },
      {
        name: `achieved rate's deviation from GUPSHUP_RATE_LIMIT=${RATE_LIMIT}`,
        value: deviation,
        unit: '%',
        target: { op: '<=', value: 5 },
        baseline: `limit ${RATE_LIMIT}/s, achieved ${formatNumber(limited.rate)}/s (${limited.sent.toLocaleString('en-US')} messages in ${limited.seconds.toFixed(1)} s)`,
      },
      { name: 'messages sent twice', value: unlimited.sentTwice + limited.sentTwice + extraRequests, unit: '', target: { op: '<=', value: 0 } },
      { name: 'queued messages never sent', value: unlimited.unsent + limited.unsent, unit: '', target: { op: '<=', value: 0 } },
    ];
    notes.push(
      `${MESSAGES.toLocaleString('en-US')} messages queued in ${(unlimited.queueMs / 1000).toFixed(1)} s (${PER_REQUEST} recipients a request); ` +
        `sent over ${unlimited.seconds.toFixed(1)} s, all settled ${unlimited.wallSeconds.toFixed(1)} s after the dispatching service was started; ` +
        `the simulator received ${unlimited.simulatorRequests.toLocaleString('en-US')} requests`,
    );
    notes.push(
      `rate-limited run: ${LIMITED_MESSAGES.toLocaleString('en-US')} messages of another app, the simulator received ${limited.simulatorRequests.toLocaleString('en-US')} requests, ` +
        `at most ${busiestSecond(limited.requestTimes)} in any one second by its receipt times (loopback and scheduling jitter included; ` +
        `the limiter grants at most limit + burst - 1 = ${RATE_LIMIT + Math.ceil(RATE_LIMIT / 20) - 1} by the database's clock)`,
    );
    notes.push(`dispatch settings: DISPATCH_WORKERS=${process.env.DISPATCH_WORKERS ?? 'default'}, DISPATCH_BATCH_SIZE=${process.env.DISPATCH_BATCH_SIZE ?? 'default'}`);
    publishRun('dispatch', postgres, figures, notes);
  } finally {
    await simulator.stop();
    await postgres.dropDatabase('bench_dispatch');
  }
}

if (require.main === module) runStandalone(dispatchBenchmark);
