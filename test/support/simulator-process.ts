import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { AppRegistration } from '../../tools/simulator/control-schemas';
import type { RecordedRequest } from '../../tools/simulator/gupshup-simulator';
import { exitWithParent } from './exit-with-parent';

const ROOT = resolve(__dirname, '..', '..');

/**
 * The Gupshup simulator as a process of its own (`npm run simulator`), driven through its control
 * API. A test that measures when requests reach Gupshup uses it: the simulator in the test's own
 * process stamps arrivals only when the test's event loop, shared with the services under test,
 * gets round to them, so a busy loop bunches them up.
 */
export interface SimulatorProcess {
  /** http://127.0.0.1:port: GUPSHUP_API_BASE_URL for the services. */
  baseUrl: string;
  registerApp(apiKey: string, app: AppRegistration): Promise<void>;
  /** Every send request so far, in the order the simulator received them. */
  requests(): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

export async function startSimulatorProcess(): Promise<SimulatorProcess> {
  const child: ChildProcess = spawn(process.execPath, ['-r', '@swc-node/register', 'tools/simulator/main.ts', '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) exitWithParent(child.pid);
  const exited = once(child, 'exit');
  let output = '';
  const baseUrl = await new Promise<string>((resolveUrl, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const listening = /listening on (http:\/\/\S+)/.exec(output);
      if (listening) resolveUrl(listening[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    void exited.then(([code, signal]) => reject(new Error(`the simulator exited (${signal ?? code}) before listening:\n${output}`)));
  });
  // Its request log is not needed here; reading it keeps the pipe from filling up.
  child.stdout!.resume();

  const control = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${baseUrl}/__simulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`simulator ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : res.json();
  };
  return {
    baseUrl,
    async registerApp(apiKey, app) {
      await control('PUT', `/apps/${encodeURIComponent(apiKey)}`, app);
    },
    async requests() {
      return (await control('GET', '/requests')) as RecordedRequest[];
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
