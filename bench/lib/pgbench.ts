import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PgbenchResult {
  tps: number;
  p50?: number;
  /** Average latency in ms, as pgbench reports it. */
  latencyAverage: number;
}

/** Runs pgbench with a custom script (-n: no vacuum of its own tables) and returns its figures. */
export async function runPgbench(databaseUrl: string, script: string, options: { clients: number; seconds: number }): Promise<PgbenchResult> {
  const file = join(mkdtempSync(join(tmpdir(), 'wa-pgbench-')), 'script.sql');
  writeFileSync(file, script);
  const { stdout } = await run(
    process.env.PGBENCH ?? 'pgbench',
    ['-n', '-M', 'prepared', '-c', String(options.clients), '-j', '2', '-T', String(options.seconds), '-f', file, databaseUrl],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const tps = /tps = ([\d.]+)/.exec(stdout);
  const latency = /latency average = ([\d.]+) ms/.exec(stdout);
  if (!tps || !latency) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return { tps: Number(tps[1]), latencyAverage: Number(latency[1]) };
}
