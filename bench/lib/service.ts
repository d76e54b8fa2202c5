import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findFreePort } from '../../src/database/embedded-postgres';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';
const BENCH_SECRET_KEY = 'a1'.repeat(32);
export const LOG_DIR = resolve('bench', 'logs');

export interface RunningProcess {
  /** Its log is bench/logs/<name>.log (and its profile bench/profiles/<name>.cpuprofile). */
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  /** SIGTERM, then waits for the exit (SIGKILL after 20 s). */
  stop(): Promise<void>;
}

/**
 * Node's own CPU profiler for a child: set BENCH_CPU_PROFILE=1 and each process started here
 * writes a .cpuprofile into bench/profiles/ when it stops (open it in Chrome's DevTools).
 */
function profilerArgs(name?: string): string[] {
  if (!process.env.BENCH_CPU_PROFILE) return [];
  mkdirSync(PROFILE_DIR, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, ...(name ? [`--cpu-prof-name=${name}.cpuprofile`] : [])];
}

const PROFILE_DIR = resolve('bench', 'profiles');

/**
 * With BENCH_CPU_PROFILE, records the part of a process's profile that matters (the load, say):
 * bench/profiles/<name>.window.json holds its start and end on the profiler's clock (the
 * monotonic clock, process.hrtime's), and profile-summary.ts then counts only the samples taken
 * in it.
 */
export function recordProfileWindow(processes: readonly RunningProcess[], fromUs: number, toUs: number): void {
  if (!process.env.BENCH_CPU_PROFILE) return;
  for (const running of processes) writeFileSync(join(PROFILE_DIR, `${running.name}.window.json`), JSON.stringify({ fromUs, toUs }));
}

/** Now on the profiler's clock, in microseconds. */
export function profileClockUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

async function waitForHttp(url: string, child: ChildProcess, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${name} exited before answering ${url}; see bench/logs/${name}.log`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer ${url} within ${timeoutMs} ms; see bench/logs/${name}.log`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolveStop) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolveStop();
      });
      child.kill('SIGTERM');
    });
}

/** Starts a Node program as a child process on a free loopback port, its output in bench/logs/<name>.log. */
export async function startProcess(
  name: string,
  args: string[],
  env: Record<string, string>,
  healthPath: string,
  cwd = process.cwd(),
): Promise<RunningProcess> {
  const port = Number(env.PORT) || (await findFreePort());
  mkdirSync(LOG_DIR, { recursive: true });
  const log = createWriteStream(join(LOG_DIR, `${name}.log`));
  const child = spawn(process.execPath, [...profilerArgs(name), ...args], {
    cwd,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}${healthPath}`, child, name);
  return { name, url, port, child, stop: stopper(child) };
}

/**
 * Session settings for the service's database connections, from BENCH_SERVICE_PG_OPTIONS, e.g.
 * "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=20
 * -c auto_explain.log_nested_statements=on" to have the server log the plans of slow statements.
 */
function withSessionOptions(databaseUrl: string): string {
  const options = process.env.BENCH_SERVICE_PG_OPTIONS;
  if (!options) return databaseUrl;
  const url = new URL(databaseUrl);
  url.searchParams.set('options', options);
  return url.toString();
}

/**
 * The built service (dist/src/main.js) on `databaseUrl`, answering on loopback once healthy; from
 * `cwd`'s build when given (another commit's checkout, see lib/compare-build.ts).
 */
export async function startService(databaseUrl: string, env: Record<string, string> = {}, name = 'service', cwd?: string): Promise<RunningProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wa-bench-data-'));
  const service = await startProcess(
    name,
    ['dist/src/main.js'],
    {
      HOST: '127.0.0.1',
      DATABASE_URL: withSessionOptions(databaseUrl),
      ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      SECRET_KEY: BENCH_SECRET_KEY,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    '/health',
    cwd,
  );
  return {
    ...service,
    async stop() {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs a command of the built service's CLI (dist/src/cli.js) to its end; resolves with its stdout. */
export async function runCli(databaseUrl: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [...profilerArgs(), 'dist/src/cli.js', ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl, SECRET_KEY: BENCH_SECRET_KEY, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`cli ${args.join(' ')} exited with ${code}: ${stderr.trim()}`);
  return stdout;
}
