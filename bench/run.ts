/**
 * `npm run bench [-- name ...] [--no-embedded]`: runs the benchmarks (all of them by default) on
 * DATABASE_URL's server, or on the embedded PostgreSQL when it is unset; with DATABASE_URL set,
 * the ingestion benchmark runs once more on the embedded default. Prints each figure beside its
 * target and baseline and rewrites the figures of bench/RESULTS.md.
 */
import { parseArgs } from 'node:util';
import { dashboardBenchmark } from './dashboard';
import { dispatchBenchmark } from './dispatch';
import { ingestionBenchmark } from './ingestion';
import { writeResultsFile } from './lib/results-file';
import { openBenchPostgres, type BenchPostgres } from './lib/postgres';
import { projectionRebuildBenchmark } from './projection-rebuild';
import { queriesBenchmark } from './queries';
import { scalingBenchmark } from './scaling';
import { webhooksBenchmark } from './webhooks';

const BENCHMARKS: Record<string, (postgres: BenchPostgres) => Promise<void>> = {
  ingestion: ingestionBenchmark,
  'projection-rebuild': projectionRebuildBenchmark,
  dispatch: dispatchBenchmark,
  queries: queriesBenchmark,
  webhooks: webhooksBenchmark,
  dashboard: dashboardBenchmark,
  scaling: scalingBenchmark,
};

async function onServer(names: string[], embedded: boolean): Promise<void> {
  const saved = process.env.DATABASE_URL;
  if (embedded) delete process.env.DATABASE_URL;
  const postgres = await openBenchPostgres();
  try {
    for (const name of names) {
      const started = performance.now();
      await postgres.settle();
      await BENCHMARKS[name](postgres);
      process.stdout.write(`  (${name} took ${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
    }
    // The next server, if any, shares the disk: it starts on a quiet one.
    await postgres.settle();
  } finally {
    await postgres.stop();
    if (saved !== undefined) process.env.DATABASE_URL = saved;
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { 'no-embedded': { type: 'boolean', default: false } } });
  const unknown = positionals.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  const names = positionals.length > 0 ? positionals : Object.keys(BENCHMARKS);
  const started = performance.now();
  await onServer(names, false);
  if (process.env.DATABASE_URL && !values['no-embedded'] && names.includes('ingestion')) await onServer(['ingestion'], true);
  writeResultsFile();
  process.stdout.write(`\nall done in ${((performance.now() - started) / 60_000).toFixed(1)} min; figures written to bench/RESULTS.md\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
