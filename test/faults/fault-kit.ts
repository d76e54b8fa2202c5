import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { eventually, GIVE_UP_AFTER_MS } from '../support/eventually';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { TEST_ADMIN_TOKEN, TEST_SECRET_KEY } from '../support/test-app';

const ROOT = resolve(__dirname, '..', '..');

/**
 * What a fault test waits for at most: a restart (a service compiled and started again, leases
 * running out, callbacks retried) takes minutes on a 2-core machine busy with other runs. Only a
 * safety net, as in eventually(); jest's timeout for these tests is longer still.
 */
export const RECOVERY_GIVE_UP_MS = Math.max(GIVE_UP_AFTER_MS, 240_000);
export const FAULT_TEST_TIMEOUT_MS = 15 * 60_000;

/** Gupshup's sandbox pair from its docs. */
export const GUPSHUP_SOURCE = '917834811114';
export const GUPSHUP_SRC_NAME = 'DemoAPI';

/**
 * Gupshup keeps retrying a callback its receiver does not take; the simulator does so every half
 * second at most here, for long enough to outlast any outage a test makes.
 */
export const PATIENT_CALLBACKS = { callbackRetries: 1000, callbackRetryBackoffMs: 50, callbackRetryMaxBackoffMs: 500 } as const;

export interface Tenant {
  appId: string;
  headers: Record<string, string>;
  /** The callback URL the service hands out for the app (as configured at Gupshup). */
  callbackUrl: string;
  gupshupApiKey: string;
}

let tenants = 0;

/**
 * An app created through the admin API, with gupshup_whatsapp enabled under a Gupshup key the
 * simulator knows. With `callbacks`, the simulator posts each message's events to the app's
 * callback URL, as Gupshup does once the URL is set in its console.
 */
export async function createTenant(serviceUrl: string, simulator: GupshupSimulator, options: { callbacks: boolean }): Promise<Tenant> {
  tenants += 1;
  const created = await call(serviceUrl, 'POST', '/admin/apps', { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, { name: `Faults ${tenants}` });
  expectStatus(created, 201);
  const { id: appId, apiKey, apiSecret, callbackUrl } = created.body as { id: string; apiKey: string; apiSecret: string; callbackUrl: string };
  const headers = { 'X-ENGAGESPOT-API-KEY': apiKey, 'X-ENGAGESPOT-API-SECRET': apiSecret };
  const gupshupApiKey = `gs-faults-${appId.slice(0, 8)}`;
  simulator.registerApp(gupshupApiKey, { source: GUPSHUP_SOURCE, srcName: GUPSHUP_SRC_NAME, ...(options.callbacks ? { callbackUrl } : {}) });
  const provider = await call(serviceUrl, 'PUT', '/v3/channels/whatsapp/providers/gupshup_whatsapp', headers, {
    enabled: true,
    config: { API_KEY: gupshupApiKey, SOURCE: GUPSHUP_SOURCE, SRC_NAME: GUPSHUP_SRC_NAME },
  });
  expectStatus(provider, 200);
  return { appId, headers, callbackUrl: (provider.body as { callbackUrl?: string }).callbackUrl ?? callbackUrl, gupshupApiKey };
}

export interface Answer {
  status: number;
  body: unknown;
}

/** One HTTP request with a JSON body; a connection error rejects. */
export async function call(baseUrl: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body: parsed };
}

function expectStatus(answer: Answer, status: number): void {
  if (answer.status !== status) throw new Error(`expected ${status}, got ${answer.status}: ${JSON.stringify(answer.body)}`);
}

/**
 * Distinct phone numbers, none ending in 9: the simulator's default fate for a last digit 9 is a
 * failure, and these tests want every message delivered somewhere between sent and read.
 */
export function phoneNumbers(prefix: string, count: number): string[] {
  const numbers: string[] = [];
  for (let n = 0; numbers.length < count; n++) if (n % 10 !== 9) numbers.push(`+${prefix}${String(n).padStart(5, '0')}`);
  return numbers;
}

export interface MessageTimelineEntry {
  status: string;
  providerStatus?: string;
  at: string;
}

export interface MessageState {
  messageId: string;
  phoneNumber: string;
  status: string;
  providerMessageId?: string | null;
  discardReason?: { code: string; reason?: string } | null;
  timeline: MessageTimelineEntry[];
}

export async function getMessage(serviceUrl: string, tenant: Tenant, messageId: string): Promise<MessageState | undefined> {
  const answer = await call(serviceUrl, 'GET', `/v3/messages/${messageId}`, tenant.headers);
  return answer.status === 200 ? (answer.body as MessageState) : undefined;
}

/** Reads every message, a few at a time. */
export async function getMessages(serviceUrl: string, tenant: Tenant, messageIds: readonly string[]): Promise<(MessageState | undefined)[]> {
  const states: (MessageState | undefined)[] = [];
  for (let i = 0; i < messageIds.length; i += 8) {
    states.push(...(await Promise.all(messageIds.slice(i, i + 8).map((id) => getMessage(serviceUrl, tenant, id).catch(() => undefined)))));
  }
  return states;
}

const RANK: Record<string, number> = { queued: 0, sent: 1, delivered: 2, seen: 3 };

/**
 * Watches statuses as they are read and fails on a status that moves back (a message that has
 * reached `delivered` shown `sent` again). Discarded ends a message, so it counts as the top.
 */
export class StatusWatch {
  private readonly highest = new Map<string, { status: string; rank: number }>();
  readonly backwards: string[] = [];

  observe(state: MessageState): void {
    const rank = state.status === 'discarded' ? 4 : (RANK[state.status] ?? -1);
    const before = this.highest.get(state.messageId);
    if (before && rank < before.rank) this.backwards.push(`${state.messageId}: ${before.status} -> ${state.status}`);
    if (!before || rank > before.rank) this.highest.set(state.messageId, { status: state.status, rank });
  }
}

/** The public status a provider event leads to. */
export function statusOfProviderEvent(event: string): string {
  return { enqueued: 'sent', sent: 'sent', delivered: 'delivered', read: 'seen', failed: 'discarded' }[event] ?? 'unknown';
}

export function higherStatus(a: string, b: string): string {
  return (RANK[b] ?? 4) > (RANK[a] ?? 4) ? b : a;
}

/** Send requests the simulator took for one destination (digits, as Gupshup gets them). */
export function sendRequestsTo(simulator: GupshupSimulator, phoneNumber: string): number {
  const digits = phoneNumber.replace(/\D/g, '');
  return simulator.requests().filter((request) => request.path.startsWith('/wa/api/v1/') && request.form.destination === digits).length;
}

/** The operator's command line (`npm run cli -- ...`) against the service's database. */
export async function runCli(databaseUrl: string, args: string[]): Promise<string> {
  const dataDir = makeTempDir('cli-');
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', '@swc-node/register', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, DATA_DIR: dataDir, SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'error' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } finally {
    removeTempDir(dataDir);
  }
}

/** The messages of an app parked as outcome_unknown: what `npm run cli -- dispatch:unknown` lists, read the same way. */
async function parkedMessageIds(databaseUrl: string, appId: string): Promise<Set<string>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ message_id: string }>(`SELECT message_id FROM whatsapp_dispatch_jobs WHERE app_id = $1 AND state = 'outcome_unknown'`, [appId]);
    return new Set(rows.map((row) => row.message_id));
  } finally {
    await client.end();
  }
}

/**
 * What the dispatch policy leaves to an operator after a crash (docs/dispatch-policy.md): a
 * message whose worker died after marking its request started but before the request left is
 * parked as outcome_unknown, and only an operator who knows Gupshup never got it sends it again. Here the operator asks the
 * simulator (Gupshup's own record of requests): of the messages still `queued`, every one that
 * is parked and that Gupshup never received is resent with `npm run cli -- dispatch:resend`. A
 * parked message that Gupshup did receive is left to its callbacks, which settle it. Returns the
 * ids resent.
 */
export async function resendWhatGupshupNeverGot(
  databaseUrl: string,
  tenant: Tenant,
  simulator: GupshupSimulator,
  queued: ReadonlyMap<string, string>,
): Promise<string[]> {
  const candidates = [...queued].filter(([, phone]) => sendRequestsTo(simulator, phone) === 0);
  if (candidates.length === 0) return [];
  const parked = await parkedMessageIds(databaseUrl, tenant.appId);
  const resent: string[] = [];
  for (const [messageId] of candidates) {
    if (!parked.has(messageId)) continue; // not claimed yet, or not given up on yet
    await runCli(databaseUrl, ['dispatch:resend', messageId]);
    resent.push(messageId);
  }
  return resent;
}

/**
 * Waits until no message is `queued` any more, acting as the operator above meanwhile; returns the
 * messages' states and the ids resent.
 */
export async function settleAfterCrash(
  serviceUrl: string,
  databaseUrl: string,
  tenant: Tenant,
  simulator: GupshupSimulator,
  phoneOf: ReadonlyMap<string, string>,
  watch: StatusWatch,
): Promise<{ states: MessageState[]; resent: string[] }> {
  const resent: string[] = [];
  const states = await eventually(
    async () => {
      const states = await getMessages(serviceUrl, tenant, [...phoneOf.keys()]);
      for (const state of states) if (state) watch.observe(state);
      const queued = new Map([...phoneOf].filter((_, i) => !states[i] || states[i].status === 'queued'));
      if (queued.size === 0) return states as MessageState[];
      resent.push(...(await resendWhatGupshupNeverGot(databaseUrl, tenant, simulator, queued)));
      return undefined;
    },
    'every message to be sent, or resent by the operator',
    RECOVERY_GIVE_UP_MS,
    200,
  );
  return { states, resent };
}

