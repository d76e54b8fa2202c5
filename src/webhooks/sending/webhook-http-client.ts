import { isIP } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
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
const MAX_ERROR_LENGTH = 300;
/** Of an error answer's body, the start is kept for the delivery log. */
const MAX_ERROR_BODY_BYTES = 4 * MAX_ERROR_LENGTH;
/** An answer's body is read and dropped up to this size; past it the connection is closed (as undici's dump() does). */
const MAX_BODY_BYTES = 128 * 1024;

/** Where an endpoint's URL points, parsed once while it stays the same. */
interface Target {
  url: string;
  origin: string;
  path: string;
  /** Why it may not be posted to (a private IP literal), or null. */
  problem: string | null;
}

interface EndpointAgent {
  agent: Agent;
  target?: Target;
  inFlight: number;
  lastUsed: number;
}

/**
 * One POST through undici's dispatch interface: the answer's status, and the start of its body
 * when it is an error; every other byte is dropped as it arrives. `request()` makes a stream and
 * promises per response, and an AbortSignal.timeout() per attempt: two to four times the client's
 * CPU per POST on loopback. Settles once.
 */
class Attempt implements Dispatcher.DispatchHandler {
  readonly started = performance.now();
  readonly deadline: number;
  private controller?: Dispatcher.DispatchController;
  private statusCode: number | null = null;
  private bodyBytes = 0;
  private errorBody: Buffer[] = [];
  private settled = false;

  constructor(
    timeoutMs: number,
    private readonly settle: (result: WebhookPostResult) => void,
    private readonly timeoutMessage: string,
  ) {
    this.deadline = this.started + timeoutMs;
  }

  private get ok(): boolean {
    return this.statusCode !== null && this.statusCode >= 200 && this.statusCode < 300;
  }

  private finish(result: Omit<WebhookPostResult, 'durationMs'>): void {
    if (this.settled) return;
    this.settled = true;
    this.settle({ ...result, durationMs: Math.round(performance.now() - this.started) });
  }

  private answered(): void {
    const ok = this.ok;
    let error: string | null = null;
    if (!ok) {
      const text = Buffer.concat(this.errorBody).toString('utf8');
      error = `HTTP ${this.statusCode}${text ? `: ${text.slice(0, MAX_ERROR_LENGTH)}` : ''}`;
    }
    this.errorBody = [];
    this.finish({ statusCode: this.statusCode, ok, error });
  }

  /** The whole attempt ran past its time: answered as a timeout now, and the request dropped. */
  expire(): void {
    this.finish({ statusCode: null, ok: false, error: this.timeoutMessage });
    this.controller?.abort(new Error(this.timeoutMessage));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(new Error(this.timeoutMessage));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    // 1xx answers come before the final one, which replaces them.
    this.statusCode = statusCode;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bodyBytes += chunk.length;
    if (!this.ok && this.bodyBytes - chunk.length < MAX_ERROR_BODY_BYTES) this.errorBody.push(chunk);
    if (this.bodyBytes > MAX_BODY_BYTES && !this.settled) {
      this.answered();
      controller.abort(new Error('answer body too large; connection closed'));
    }
  }

  onResponseEnd(): void {
    this.answered();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const err = error as Error & { code?: string };
    const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError' || /timeout/i.test(err.code ?? '');
    const message = timedOut ? this.timeoutMessage : `${err.code ?? err.name}: ${err.message}`;
    this.finish({ statusCode: null, ok: false, error: message.slice(0, MAX_ERROR_LENGTH) });
  }
}

/**
 * POSTs deliveries with undici, keeping connections to each endpoint open. Each endpoint has
 * connections of its own: two endpoints on one host (`/a` and `/b` of the same server) must not
 * share a pool, or a slow one would hold every connection and delay the other. Unless private
 * addresses are allowed, every connection is made through a DNS lookup that refuses non-public
 * answers, and an IP literal in the URL is checked before the request. An attempt ends within
 * the timeout, connecting and reading the answer included: undici's own timeouts bound each
 * phase, and a sweep ends any attempt past its deadline (one timer for all of them).
 */
export class WebhookHttpClient {
  private readonly agents = new Map<string, EndpointAgent>();
  private readonly attempts = new Set<Attempt>();
  private readonly deadlineSweep: NodeJS.Timeout;
  private readonly timeoutMessage: string;
  private lastSweep = Date.now();

  constructor(private readonly options: WebhookHttpClientOptions) {
    this.timeoutMessage = `no answer within ${options.timeoutMs} ms`;
    this.deadlineSweep = setInterval(() => this.expireLate(), Math.max(10, Math.min(100, Math.floor(options.timeoutMs / 10))));
    this.deadlineSweep.unref();
  }

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

  private targetOf(entry: EndpointAgent, url: string): Target {
    if (entry.target?.url === url) return entry.target;
    const parsed = new URL(url);
    let problem: string | null = null;
    if (!this.options.allowPrivate) {
      const host = hostOf(parsed);
      if (isIP(host) && !isPublicAddress(host)) problem = `${host} is not a public address`;
    }
    entry.target = { url, origin: parsed.origin, path: `${parsed.pathname}${parsed.search}`, problem };
    return entry.target;
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

  private expireLate(): void {
    const now = performance.now();
    for (const attempt of this.attempts) if (attempt.deadline <= now) attempt.expire();
  }

  post(endpointId: string, url: string, body: string, headers: Record<string, string>): Promise<WebhookPostResult> {
    const now = Date.now();
    this.sweepIdle(now);
    const endpoint = this.agentFor(endpointId);
    let target: Target;
    try {
      target = this.targetOf(endpoint, url);
    } catch (error) {
      return Promise.resolve({ statusCode: null, durationMs: 0, ok: false, error: `the URL is not valid: ${(error as Error).message}` });
    }
    if (target.problem) return Promise.resolve({ statusCode: null, durationMs: 0, ok: false, error: target.problem });
    endpoint.inFlight++;
    endpoint.lastUsed = now;
    return new Promise<WebhookPostResult>((resolve) => {
      const attempt = new Attempt(
        this.options.timeoutMs,
        (result) => {
          this.attempts.delete(attempt);
          endpoint.inFlight--;
          endpoint.lastUsed = Date.now();
          resolve(result);
        },
        this.timeoutMessage,
      );
      this.attempts.add(attempt);
      try {
        endpoint.agent.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'user-agent': 'whatsapp-notify-webhooks/1', ...headers },
            body,
          },
          attempt,
        );
      } catch (error) {
        attempt.onResponseError(undefined as unknown as Dispatcher.DispatchController, error as Error);
      }
    });
  }

  async close(): Promise<void> {
    clearInterval(this.deadlineSweep);
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((entry) => entry.agent.close().catch(() => undefined)));
  }
}
