import { findFreePort } from '../../src/database/embedded-postgres';
import { startProcess, type RunningProcess } from './service';

/**
 * The Gupshup simulator as its own process, accepting any key. It posts no callbacks unless an
 * app is registered with a callback URL (registerCallbacks): the ingestion benchmarks post their own.
 */
export async function startSimulator(): Promise<RunningProcess> {
  const port = await findFreePort();
  return startProcess('gupshup-simulator', ['-r', '@swc-node/register', 'tools/simulator/main.ts', '--accept-any-key', '--port', String(port)], { PORT: String(port) }, '/__simulator/settings');
}

/** Has the simulator post the callbacks of the messages sent with `apiKey` to `callbackUrl`, as Gupshup does once the URL is set in its console. */
export async function registerCallbacks(simulator: RunningProcess, apiKey: string, app: { source: string; srcName: string }, callbackUrl: string): Promise<void> {
  const response = await fetch(`${simulator.url}/__simulator/apps/${encodeURIComponent(apiKey)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ source: app.source, srcName: app.srcName, callbackUrl }),
  });
  if (!response.ok) throw new Error(`the simulator refused the app ${apiKey}: ${response.status} ${await response.text()}`);
}
