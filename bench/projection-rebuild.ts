/**
 * Benchmark 2, projection rebuild: a store of about 1,000,000 events (whole message lifecycles
 * as the product records them) replayed from zero into the message views by the CLI command a
 * user would run, `projections:rebuild`. Baseline in the same run: reading the same events in
 * the same pages with the event store's own log query and doing nothing with them.
 * (The live lag during benchmark 1 is measured by ingestion.ts.)
 */
import { Pool } from 'pg';
import { Database } from '../src/database/database';
import { EventStore, LOG_START, type LogPosition } from '../src/event-store';
import { createApp } from './lib/api';
import { loadRequests, type LoadedStatus } from './lib/event-loader';
import type { BenchPostgres } from './lib/postgres';
import { runStandalone } from './lib/standalone';
import { formatNumber, publishRun, type Figure } from './lib/report';
import { runCli, startService } from './lib/service';

const TARGET_EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 1_000_000);
const PER_REQUEST = 1_000;

/** 60 % seen (4 events), 25 % delivered (3), 10 % sent (2), 5 % discarded (2): 3.45 events a message. */
function lifecycle(index: number): LoadedStatus {
  const slot = index % 20;
  if (slot < 12) return 'seen';
  if (slot < 17) return 'delivered';
  if (slot < 19) return 'sent';
  return 'discarded';
}

/** Reads the whole log in pages with the event store's own query, as a subscription does, and throws the events away: events/s. */
async function readBaseline(databaseUrl: string, pageSize: number): Promise<{ events: number; perSecond: number }> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const store = new EventStore(new Database(pool));
    const started = performance.now();
    let after: LogPosition = LOG_START;
    let events = 0;
    for (;;) {
      const page = await store.readAll(after, pageSize);
      if (page.length === 0) break;
      events += page.length;
      after = page[page.length - 1];
    }
    return { events, perSecond: events / ((performance.now() - started) / 1000) };
  } finally {
    await pool.end();
  }
}

export async function projectionRebuildBenchmark(postgres: BenchPostgres): Promise<void> {
  const databaseUrl = await postgres.createDatabase('bench_rebuild');
  try {
    // The service creates the schema and the app, then stops: the rebuild runs alone, as after a deploy.
    const service = await startService(databaseUrl, { SUBSCRIPTIONS_ENABLED: 'false' });
    const app = await createApp(service.url, 'Bench rebuild').finally(() => service.stop());
    const requests = Math.ceil(TARGET_EVENTS / (PER_REQUEST * 3.45 + 1));
    const loadStarted = performance.now();
    const loaded = await loadRequests(databaseUrl, app.id, { requests, perRequest: PER_REQUEST, status: lifecycle, keepMessages: false });
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const pool = new Pool({ connectionString: databaseUrl, max: 1 });
    await pool.query('VACUUM ANALYZE');
    await pool.end();

    const wallStarted = performance.now();
    const output = await runCli(databaseUrl, ['projections:rebuild']);
    const wallSeconds = (performance.now() - wallStarted) / 1000;
    const result = JSON.parse(output.trim().split('\n').pop()!) as { events: number; seconds: number; eventsPerSecond: number; batches: number };
    const baseline = await readBaseline(databaseUrl, Number(process.env.PROJECTION_REBUILD_BATCH_SIZE ?? 10_000));

    const figures: Figure[] = [
      {
        name: `rebuild from zero of ${result.events.toLocaleString('en-US')} events`,
        value: result.eventsPerSecond,
        unit: 'events/s',
        target: { op: '>=', value: 50_000 },
        baseline: `reading the same log in the same pages and discarding it: ${formatNumber(baseline.perSecond)} events/s (ratio ${(result.eventsPerSecond / baseline.perSecond).toFixed(2)})`,
      },
      { name: 'rebuild command, wall time including start-up', value: wallSeconds, unit: 's' },
    ];
    const notes = [`${loaded.events.toLocaleString('en-US')} events of ${(requests * PER_REQUEST).toLocaleString('en-US')} messages loaded in ${loadSeconds.toFixed(1)} s; ${result.batches} batches`];
    publishRun('projection-rebuild', postgres, figures, notes);
  } finally {
    await postgres.dropDatabase('bench_rebuild');
  }
}

if (require.main === module) runStandalone(projectionRebuildBenchmark);
