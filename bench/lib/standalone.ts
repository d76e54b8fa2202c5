import { openBenchPostgres, type BenchPostgres } from './postgres';

/** Runs one benchmark on its own (`node -r @swc-node/register bench/<name>.ts`), on DATABASE_URL's server or the embedded one. */
export function runStandalone(benchmark: (postgres: BenchPostgres) => Promise<void>): void {
  void (async () => {
    const postgres = await openBenchPostgres();
    try {
      await benchmark(postgres);
    } finally {
      await postgres.stop();
    }
  })().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
