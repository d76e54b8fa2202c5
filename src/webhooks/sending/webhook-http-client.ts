import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { hostOf, isPublicAddress, publicOnlyLookup } from './public-address';

export interface WebhookPostResult {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  ok: boolean;
}

export interface WebhookHttpClientOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Connections per endpoint: its concurrency limit. */
  connectionsPerEndpoint: number;
}

/** An endpoint's connections are closed after this long without a delivery. */
const IDLE_AGENT_MS = 5 * 60_000;
const IDLE_SWEEP_EVERY_MS = 60_000;

interface EndpointAgent {
  agent: Agent;
  inFlight: number;
  lastUsed: number;
}

const MAX_ERROR_LENGTH = 300;

/**
 * POSTs deliveries with undici, keeping connections to each endpoint open. Each endpoint has
 * connections of its own: two endpoints on one host (`/a` and `/b` of the same server) must not
 * share a pool, or a slow one would hold every connection and delay the other. Unless private
 * addresses are allowed, every connection is made through a DNS lookup that refuses non-public
 * answers, and an IP literal in the URL is checked before the request.
 */
export class WebhookHttpClient {
  private readonly agents = new Map<string, EndpointAgent>();
  private lastSweep = Date.now();

  constructor(private readonly options: WebhookHttpClientOptions) {}

  private agentFor(endpointId: string): EndpointAgent {
    let entry = this.agents.get(endpointId);
    if (!entry) {
      const agent = new Agent({
        connections: this.options.connectionsPerEndpoint,
        connect: { timeout: this.options.timeoutMs, ...(this.options.allowPrivate ? {} : { lookup: publicOnlyLookup }) },
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      entry = { agent, inFlight: 0, lastUsed: Date.now() };
      this.agents.set(endpointId, entry);
    }
    return entry;
  }

  /** Closes the connections of endpoints that have had no delivery for a while. */
  private sweepIdle(now: number): void {
    if (now - this.lastSweep < IDLE_SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [endpointId, entry] of this.agents) {
      if (entry.inFlight === 0 && now - entry.lastUsed > IDLE_AGENT_MS) {
        this.agents.delete(endpointId);
        void entry.agent.close().catch(() => undefined);
      }
    }
  }

  async post(endpointId: string, url: string, body: string, headers: Record<string, string>): Promise<WebhookPostResult> {
    this.sweepIdle(Date.now());
    const endpoint = this.agentFor(endpointId);
    endpoint.inFlight++;
    endpoint.lastUsed = Date.now();
    try {
      return await this.postWith(endpoint.agent, url, body, headers);
    } finally {
      endpoint.inFlight--;
      endpoint.lastUsed = Date.now();
    }
  }

  private async postWith(agent: Agent, url: string, body: string, headers: Record<string, string>): Promise<WebhookPostResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      if (!this.options.allowPrivate) {
        const host = hostOf(new URL(url));
        if (isIP(host) && !isPublicAddress(host)) return { statusCode: null, durationMs: 0, ok: false, error: `${host} is not a public address` };
      }
      const response = await request(url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'user-agent': 'whatsapp-notify-webhooks/1', ...headers },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      let error: string | null = null;
      if (ok) {
        await response.body.dump();
      } else {
        const text = await response.body.text().catch(() => '');
        error = `HTTP ${response.statusCode}${text ? `: ${text.slice(0, MAX_ERROR_LENGTH)}` : ''}`;
      }
      return { statusCode: response.statusCode, durationMs: elapsed(), ok, error };
    } catch (error) {
      const err = error as Error & { code?: string; cause?: Error & { code?: string } };
      const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError' || /timeout/i.test(err.code ?? '');
      const message = timedOut ? `no answer within ${this.options.timeoutMs} ms` : `${err.code ?? err.name}: ${err.message}`;
      return { statusCode: null, durationMs: elapsed(), ok: false, error: message.slice(0, MAX_ERROR_LENGTH) };
    }
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((entry) => entry.agent.close().catch(() => undefined)));
  }
}
