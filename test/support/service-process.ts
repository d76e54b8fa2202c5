import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { eventually, GIVE_UP_AFTER_MS } from './eventually';
import { exitWithParent } from './exit-with-parent';
import { makeTempDir, removeTempDir } from './temp-dirs';
import { TEST_ADMIN_TOKEN, TEST_SECRET_KEY } from './test-app';

const ROOT = resolve(__dirname, '..', '..');
/** The end of the service's output kept for a failing test's message. */
const OUTPUT_KEPT = 64 * 1024;

export interface ServiceProcess {
  /** http://127.0.0.1:port */
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** The end of what the process wrote (stdout and stderr). */
  output(): string;
  /** Every line so far that matched one of the options' `watchFor` patterns. */
  watched(): string[];
  /** kill -9: no shutdown hook runs, nothing in flight is finished. */
  kill(): Promise<void>;
  /** Ends the process (SIGKILL when it is still running) and removes its data directory. */
  stop(): Promise<void>;
  /** A clean shutdown (SIGTERM, every shutdown hook runs), then removes its data directory. */
  terminate(): Promise<void>;
}

export interface ServiceProcessOptions {
  /** Environment of the service, on top of the test defaults (admin token, secret key, loopback). */
  env: Record<string, string>;
  /** The port to listen on: a restart on the same port keeps the callback URLs it handed out valid. */
  port: number;
  /** Lines to keep, however much is written after them (see watched()). */
  watchFor?: RegExp[];
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * The service as its own process (`src/main.ts`, compiled on the fly as `npm run cli` does), so
 * that a test can kill it with SIGKILL and start another on the same database. Resolves once
 * /health answers 200. The process dies with the test's process (exitWithParent).
 */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const dataDir = makeTempDir('service-');
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(options.port),
      DATA_DIR: dataDir,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      SECRET_KEY: TEST_SECRET_KEY,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  if (child.pid) exitWithParent(child.pid);
  let output = '';
  let partialLine = '';
  const watched: string[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    if (output.length > OUTPUT_KEPT * 2) output = output.slice(-OUTPUT_KEPT);
    if (!options.watchFor?.length) return;
    const lines = (partialLine + text).split('\n');
    partialLine = lines.pop() ?? '';
    for (const line of lines) if (options.watchFor.some((pattern) => pattern.test(line))) watched.push(line);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = once(child, 'exit').then(() => running.delete(child));
  const url = `http://127.0.0.1:${options.port}`;

  const service: ServiceProcess = {
    url,
    port: options.port,
    pid: child.pid ?? 0,
    child,
    output: () => output.slice(-OUTPUT_KEPT),
    watched: () => [...watched],
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      await service.kill();
      removeTempDir(dataDir);
    },
    async terminate() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      removeTempDir(dataDir);
    },
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the service exited (${child.signalCode ?? child.exitCode}) while starting:\n${service.output()}`);
        const res = await fetch(`${url}/health`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      'the service process to answer /health with 200',
      // Compiling and starting the whole service takes minutes on a machine loaded by other runs.
      Math.max(GIVE_UP_AFTER_MS, 240_000),
      100,
    );
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}
