import type { LoggerService } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { redactUrl } from './logger';
import { runInRequestContext, type RequestContext } from './request-context';

export const REQUEST_ID_HEADER = 'x-request-id';

/** A caller's request id is kept when it is short and plain enough to be logged and echoed as is. */
const SANE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$/;

/** Longer URLs are cut in the access line (Node accepts request lines of up to 16 KiB). */
const MAX_LOGGED_URL_LENGTH = 1000;

/** Route label of requests that matched no route, so that unknown paths cannot grow the label set. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface CompletedRequest {
  method: string;
  /** The route's pattern (`/v3/messages/:messageId`), or UNMATCHED_ROUTE. */
  route: string;
  statusCode: number;
  durationSeconds: number;
}

/** The caller's x-request-id when it is sane, a new UUID otherwise. */
export function chooseRequestId(request: IncomingMessage): string {
  const sent = request.headers[REQUEST_ID_HEADER];
  const value = Array.isArray(sent) ? sent[0] : sent;
  return value !== undefined && SANE_REQUEST_ID.test(value) ? value : randomUUID();
}

interface RequestState {
  requestId: string;
  started: number;
  route?: string;
  context?: RequestContext;
  /** Brings the handler back into the request context after the body was read. */
  resource?: AsyncResource;
  /** The client's address as Fastify sees it: behind a trusted proxy (TRUST_PROXY), the one the proxy forwarded. */
  clientAddress?: string;
}

/**
 * Per request: its id in the x-request-id response header, a request context (requestId, and the
 * appId once authenticated) on every line logged while it is handled, and one access line when
 * it ends (method, URL without secrets, route, status, duration, requestId, appId), also handed
 * to `onCompleted` (HTTP metrics).
 *
 * The id and the access line hang on the server's raw request event, which comes before Fastify:
 * requests Fastify answers before any of its hooks (a malformed URL, one too long) get them too.
 */
export class RequestLogging {
  private readonly requests = new WeakMap<IncomingMessage, RequestState>();
  private onCompleted?: (request: CompletedRequest) => void;

  /** Fastify's genReqId: the id this request was given on arrival. */
  readonly genReqId = (request: IncomingMessage): string => this.requests.get(request)?.requestId ?? chooseRequestId(request);

  constructor(private readonly logger: LoggerService & { isLevelEnabled?(level: 'info' | 'error'): boolean }) {}

  install(fastify: FastifyInstance, onCompleted?: (request: CompletedRequest) => void): void {
    this.onCompleted = onCompleted;
    fastify.server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => this.track(request, response));

    fastify.addHook('onRequest', (request, reply, done) => {
      // Requests that did not come through the server (fastify.inject) are taken on here.
      const state = this.requests.get(request.raw) ?? this.track(request.raw, reply.raw, request.id);
      state.route = request.routeOptions.url;
      state.clientAddress = request.ip;
      state.context = { requestId: request.id };
      runInRequestContext(state.context, () => {
        // Reading the body runs outside the context (in the socket's); the handler goes back into it through this resource.
        state.resource = new AsyncResource('request-context');
        done();
      });
    });

    fastify.addHook('preValidation', (request, _reply, done) => {
      const resource = this.requests.get(request.raw)?.resource;
      if (resource) resource.runInAsyncScope(done);
      else done();
    });
  }

  private track(request: IncomingMessage, response: ServerResponse, requestId = chooseRequestId(request)): RequestState {
    const state: RequestState = { requestId, started: performance.now() };
    this.requests.set(request, state);
    response.setHeader(REQUEST_ID_HEADER, requestId);
    response.once('close', () => this.completed(request, response, state));
    return state;
  }

  private completed(request: IncomingMessage, response: ServerResponse, state: RequestState): void {
    const durationMs = performance.now() - state.started;
    const route = state.route ?? UNMATCHED_ROUTE;
    const method = request.method ?? 'UNKNOWN';
    const statusCode = response.statusCode;
    this.onCompleted?.({ method, route, statusCode, durationSeconds: durationMs / 1000 });
    // The line is built only when it is written (LOG_LEVEL above info writes none of a success).
    if (this.logger.isLevelEnabled && !this.logger.isLevelEnabled(statusCode >= 500 ? 'error' : 'info')) return;
    const appId = state.context?.appId;
    const fullUrl = redactUrl(request.url ?? '');
    const url = fullUrl.length > MAX_LOGGED_URL_LENGTH ? `${fullUrl.slice(0, MAX_LOGGED_URL_LENGTH)}…` : fullUrl;
    const rounded = Math.round(durationMs * 10) / 10;
    const answered = response.writableEnded;
    const line = {
      message: `${method} ${url} ${statusCode} ${rounded} ms` + (answered ? '' : ' (connection closed before the response was complete)'),
      requestId: state.requestId,
      ...(appId !== undefined ? { appId } : {}),
      method,
      url,
      route,
      statusCode,
      durationMs: rounded,
      ...(answered ? {} : { aborted: true }),
      remoteAddress: request.socket.remoteAddress,
      ...(state.clientAddress !== undefined && state.clientAddress !== request.socket.remoteAddress ? { clientAddress: state.clientAddress } : {}),
    };
    if (statusCode >= 500) this.logger.error(line, undefined, 'HTTP');
    else this.logger.log(line, 'HTTP');
  }
}
