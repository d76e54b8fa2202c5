import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Pool } from 'undici';
import { failureClassOf, FAILURE_CODES } from '../domain/failure-classes';
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
  | { outcome: 'rejected'; httpStatus: number; message: string; code?: string }
  /**
   * Known not to have been sent, and worth trying again later: 408, 429, 5xx answers, a failure
   * code of the passing class (failure-classes.ts), and connections that never carried the request.
   */
  | { outcome: 'retryable'; kind: 'http' | 'timeout' | 'network'; httpStatus?: number; message: string; code?: string }
  /** Gupshup refused it with an account-level code (wallet empty, rate-limited): nothing is sent until the app is resumed. */
  | { outcome: 'account'; httpStatus: number; code: string; message: string }
  /**
   * The request may have reached Gupshup (no answer before the deadline, the connection lost once
   * it was written): sending it again could deliver the message twice.
   */
  | { outcome: 'unknown'; kind: 'timeout' | 'network'; message: string };

/** Gupshup answers in a few hundred bytes; anything past this is not an answer worth reading. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_MESSAGE_LENGTH = 300;
/** Errors raised before a connection to Gupshup existed: the request cannot have left. */
const NOT_CONNECTED_ERROR_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
/** Longest wait for a connection: past it the call fails as never sent, well before its deadline. */
const MAX_CONNECT_TIMEOUT_MS = 5000;

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
      // Shorter than the call's deadline, so that a connection that never opens fails as such
      // (never sent, retried) rather than as a deadline (maybe sent, never retried).
      connect: { timeout: Math.max(1, Math.min(MAX_CONNECT_TIMEOUT_MS, Math.floor(this.options.timeoutMs / 2))) },
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
  // An error answer means Gupshup did not take the message. A failure code it carries says what
  // to do; without a known one, the HTTP status does.
  const code = failureCodeOf(body);
  if (code !== undefined && FAILURE_CODES[code]) {
    const failureClass = failureClassOf(code);
    if (failureClass === 'account') return { outcome: 'account', httpStatus, code, message };
    if (failureClass === 'passing') return { outcome: 'retryable', kind: 'http', httpStatus, message, code };
    return { outcome: 'rejected', httpStatus, message, code };
  }
  const withCode = code !== undefined ? { code } : {};
  if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) return { outcome: 'retryable', kind: 'http', httpStatus, message, ...withCode };
  return { outcome: 'rejected', httpStatus, message, ...withCode };
}

/** The failure code of an error body: `code` (Gupshup), or `error.code` / `errors[0].code` (Meta's shape). */
function failureCodeOf(body: Record<string, unknown> | undefined): string | undefined {
  const error = body?.error;
  const errors = body?.errors;
  const candidates = [
    body?.code,
    typeof error === 'object' && error !== null ? (error as Record<string, unknown>).code : undefined,
    Array.isArray(errors) && typeof errors[0] === 'object' && errors[0] !== null ? (errors[0] as Record<string, unknown>).code : undefined,
  ];
  for (const candidate of candidates) {
    if (typeof candidate === 'number' && Number.isInteger(candidate)) return String(candidate);
    if (typeof candidate === 'string' && /^\d{1,9}$/.test(candidate.trim())) return candidate.trim();
  }
  return undefined;
}

function classifyError(error: unknown, deadlinePassed: boolean, timeoutMs: number, apiKey: string): GupshupSendOutcome {
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (code === 'UND_ERR_INVALID_ARG') {
    // The request could not even be written (e.g. a header with a line break): nothing left this process.
    return { outcome: 'rejected', httpStatus: 0, message: safeMessage(`request not sent: ${detail}`, apiKey) };
  }
  if (code !== undefined && NOT_CONNECTED_ERROR_CODES.has(code)) {
    const kind = code === 'UND_ERR_CONNECT_TIMEOUT' ? 'timeout' : 'network';
    return { outcome: 'retryable', kind, message: safeMessage(`request not sent, no connection to Gupshup: ${code}: ${detail}`, apiKey) };
  }
  // Anything else happened on a connection that may have carried the request: Gupshup may have
  // the message, and calling it again could deliver it twice (docs/dispatch-policy.md).
  if (deadlinePassed || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return { outcome: 'unknown', kind: 'timeout', message: safeMessage(`no answer from Gupshup within ${timeoutMs} ms`, apiKey) };
  }
  return { outcome: 'unknown', kind: 'network', message: safeMessage(`connection lost before Gupshup answered: ${code ? `${code}: ${detail}` : detail}`, apiKey) };
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
