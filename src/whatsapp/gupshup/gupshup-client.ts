import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Pool } from 'undici';
import type { GupshupSendRequest } from './send-request';

export interface GupshupClientOptions {
  /** Gupshup API root, e.g. https://api.gupshup.io (a path prefix is kept). */
  baseUrl: string;
  /** Deadline for a whole call: connecting, waiting for the headers and reading the body. */
  timeoutMs: number;
  /** Upper bound of concurrent keep-alive connections to the API. */
  connections?: number;
}

export type GupshupSendOutcome =
  | { outcome: 'accepted'; messageId: string; httpStatus: number }
  /** Gupshup refused the request. Sending it again would fail the same way. httpStatus 0: it was never sent. */
  | { outcome: 'rejected'; httpStatus: number; message: string }
  /** Worth trying again later: 408, 429, 5xx, timeouts and connection errors. */
  | { outcome: 'retryable'; kind: 'http' | 'timeout' | 'network'; httpStatus?: number; message: string };

/** Gupshup answers in a few hundred bytes; anything past this is not an answer worth reading. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_MESSAGE_LENGTH = 300;
const TIMEOUT_ERROR_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Sends prepared requests to Gupshup's send API and classifies every answer, failure included, without throwing. */
@Injectable()
export class GupshupClient implements OnModuleDestroy {
  private readonly origin: string;
  private readonly basePath: string;
  private pool: Pool | undefined;
  private closed = false;

  constructor(private readonly options: GupshupClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`Gupshup base URL must be http or https: ${url.protocol}`);
    if (!(options.timeoutMs > 0)) throw new Error('Gupshup timeout must be a positive number of milliseconds');
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
  }

  async send(request: GupshupSendRequest): Promise<GupshupSendOutcome> {
    const apiKey = request.headers.apikey ?? '';
    if (this.closed) return { outcome: 'retryable', kind: 'network', message: 'Gupshup client is closed' };

    const deadline = new AbortController();
    let deadlinePassed = false;
    const timer = setTimeout(() => {
      deadlinePassed = true;
      deadline.abort();
    }, this.options.timeoutMs);
    try {
      const response = await this.dispatcher().request({
        method: 'POST',
        path: this.basePath + request.path,
        headers: request.headers,
        body: new URLSearchParams(request.form).toString(),
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        signal: deadline.signal,
      });
      const text = await readLimitedText(response.body);
      return classifyAnswer(response.statusCode, text, apiKey);
    } catch (error) {
      return classifyError(error, deadlinePassed, this.options.timeoutMs, apiKey);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  /** One keep-alive pool for the base URL, created on first use and reused by every call. */
  private dispatcher(): Pool {
    this.pool ??= new Pool(this.origin, {
      connections: this.options.connections ?? 32,
      keepAliveTimeout: 10_000,
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
      connect: { timeout: this.options.timeoutMs },
    });
    return this.pool;
  }
}

function classifyAnswer(httpStatus: number, text: string, apiKey: string): GupshupSendOutcome {
  const body = parseJsonObject(text);
  const bodyMessage = typeof body?.message === 'string' && body.message.trim() !== '' ? body.message : undefined;
  const message = safeMessage(bodyMessage ?? (text.trim() || `HTTP ${httpStatus}`), apiKey);

  if (httpStatus >= 200 && httpStatus < 300) {
    const messageId = typeof body?.messageId === 'string' ? body.messageId.trim() : '';
    if (messageId !== '' && body?.status !== 'error') return { outcome: 'accepted', messageId, httpStatus };
    // Not retried: a 2xx means Gupshup took the request in, and it may well have sent the message;
    // a second try could deliver it twice. Without an id, we cannot track it either.
    return { outcome: 'rejected', httpStatus, message: bodyMessage ? message : safeMessage(`HTTP ${httpStatus} without a messageId`, apiKey) };
  }
  if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) return { outcome: 'retryable', kind: 'http', httpStatus, message };
  return { outcome: 'rejected', httpStatus, message };
}

function classifyError(error: unknown, deadlinePassed: boolean, timeoutMs: number, apiKey: string): GupshupSendOutcome {
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (deadlinePassed || (code !== undefined && TIMEOUT_ERROR_CODES.has(code))) {
    return { outcome: 'retryable', kind: 'timeout', message: safeMessage(`no answer from Gupshup within ${timeoutMs} ms`, apiKey) };
  }
  if (code === 'UND_ERR_INVALID_ARG') {
    // The request could not even be written (e.g. a header with a line break): nothing left this process.
    return { outcome: 'rejected', httpStatus: 0, message: safeMessage(`request not sent: ${detail}`, apiKey) };
  }
  return { outcome: 'retryable', kind: 'network', message: safeMessage(code ? `${code}: ${detail}` : detail, apiKey) };
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Node reports a refused dual-stack connect as an AggregateError whose parts carry the code.
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors)) return errors.map(errorCode).find((inner) => inner !== undefined);
  return undefined;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Short, single-line, and never carrying the API key, whatever the server echoed back. */
function safeMessage(message: string, apiKey: string): string {
  let safe = message.replace(/\s+/g, ' ').trim();
  if (apiKey.length > 0) safe = safe.split(apiKey).join('****');
  return safe.length > MAX_MESSAGE_LENGTH ? `${safe.slice(0, MAX_MESSAGE_LENGTH)}…` : safe;
}

async function readLimitedText(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
