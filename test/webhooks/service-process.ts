import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import request from 'supertest';
import { findFreePort } from '../../src/database/embedded-postgres';
import { eventually, GIVE_UP_AFTER_MS } from '../support/eventually';

const ROOT = resolve(__dirname, '..', '..');

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** The service as a process of its own (`node src/main.ts`), so that a test can kill it with SIGKILL. */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const port = await findFreePort();
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`the service process exited with ${child.exitCode}:\n${output}`);
      const res = await request(url).get('/health').catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    'the service process to answer /health',
    GIVE_UP_AFTER_MS,
    100,
  );
  return { child, url, output: () => output };
}

export async function killHard(service: ServiceProcess | undefined): Promise<void> {
  if (!service || service.child.exitCode !== null || service.child.signalCode !== null) return;
  const exited = new Promise((resolve) => service.child.once('exit', resolve));
  service.child.kill('SIGKILL');
  await exited;
}
