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
  /** Connections kept per endpoint origin. */
  connectionsPerOrigin: number;
}

const MAX_ERROR_LENGTH = 300;

/**
 * POSTs deliveries with undici, keeping connections to each endpoint open. Unless private
 * addresses are allowed, every connection is made through a DNS lookup that refuses non-public
 * answers, and an IP literal in the URL is checked before the request.
 */
export class WebhookHttpClient {
  private readonly agent: Agent;

  constructor(private readonly options: WebhookHttpClientOptions) {
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      connect: { timeout: options.timeoutMs, ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }) },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<WebhookPostResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      if (!this.options.allowPrivate) {
        const host = hostOf(new URL(url));
        if (isIP(host) && !isPublicAddress(host)) return { statusCode: null, durationMs: 0, ok: false, error: `${host} is not a public address` };
      }
      const response = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
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
    await this.agent.close().catch(() => undefined);
  }
}
