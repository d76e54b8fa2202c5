import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter, type HttpServer } from '@nestjs/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { isRetryableTransactionError } from '../database/database';
import { isDatabaseUnavailable } from '../database/database-unavailable';
import { StreamVersionConflictError } from '../event-store/errors';
import { redactUrl } from './logger';

export interface ErrorBody {
  statusCode: number;
  message: string;
  error: string;
  [extra: string]: unknown;
}

function statusText(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** Longest path segment the router takes (Fastify's maxParamLength): a 128-character identifier percent-encoded as UTF-8 (up to 12 characters each). */
export const MAX_PATH_PARAMETER_LENGTH = 2048;

/**
 * Fastify's answer to a request it cannot route (frameworkErrors), in the service's error shape:
 * a path segment too long, or a malformed percent-encoding. Its own answer repeats the whole path.
 */
export function answerUnroutableRequest(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const statusCode = error.statusCode ?? HttpStatus.BAD_REQUEST;
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? `A part of the path is longer than ${MAX_PATH_PARAMETER_LENGTH} characters (as sent, percent-encoded): shorten it`
      : error.code === 'FST_ERR_BAD_URL'
        ? 'The path is not a valid URL (a malformed percent-encoding): encode each part with encodeURIComponent'
        : 'The request could not be routed';
  const body: ErrorBody = { statusCode, message, error: statusText(statusCode) };
  void reply.code(statusCode).send(body);
}

/** A `?` percent-encoded (`%3F`, `%253F`…) in a URL's path: its query was taken for part of the path. */
const ENCODED_QUERY_START = /%(?:25)*3F/i;

/**
 * Nest's answer to a request no route matches, `Cannot POST /path?query`, without the secrets the
 * URL may carry (a callback token, even in the path when its `?` came percent-encoded), and
 * saying what to fix when that is why no route matched.
 */
function unmatchedRouteMessage(method: string, url: string): string {
  const path = url.split('?', 1)[0];
  const message = `Cannot ${method} ${redactUrl(url)}`;
  return ENCODED_QUERY_START.test(path)
    ? `${message}: the "?" that starts the query is percent-encoded (%3F), so the query was read as part of the path; send it as a plain "?"`
    : message;
}

/** Fastify's own errors (body parsing, size limit), which reach Nest as HttpExceptions caused by a FastifyError. */
function fastifyCode(exception: HttpException): string | undefined {
  return (exception.cause as { code?: string } | undefined)?.code;
}

/**
 * Gives every error response one shape, `{statusCode, message, error}`, whatever raised it: Nest
 * (unknown routes, validation), Fastify (malformed JSON, a body over the size limit, an
 * unsupported content type) or the application. Anything that is not an HttpException is a
 * server fault: it is logged in full and answered with a generic 500 that leaks nothing, except
 * for the database being unreachable or going away, or contention that outlasted a transaction's
 * retries, which are answered 503. Every 503 carries
 * Retry-After: 1, whatever raised it.
 */
@Catch()
export class ErrorResponseFilter implements ExceptionFilter {
  private readonly logger = new Logger('ExceptionsHandler');

  constructor(
    private readonly httpAdapter: HttpServer,
    private readonly bodyLimitBytes: number,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    this.answer(exception, host.switchToHttp().getRequest(), host.switchToHttp().getResponse());
  }

  /** Answers a request with the error's body; also called outside Nest's exception layer, by the module's routes in a host (module-bodies.ts). */
  answer(exception: unknown, request: unknown, response: unknown): void {
    const body = this.toBody(exception, request);
    if (this.httpAdapter.isHeadersSent(response)) {
      this.httpAdapter.end(response);
      return;
    }
    // Every 503 says when to try again: a database outage found here, and the ServiceUnavailableExceptions routes throw alike.
    if (body.statusCode === HttpStatus.SERVICE_UNAVAILABLE) this.httpAdapter.setHeader(response, 'Retry-After', '1');
    this.httpAdapter.reply(response, body, body.statusCode);
  }

  /** `request`, when given, is the one answered: Nest's message for an unmatched route repeats its URL, which is redacted. */
  toBody(exception: unknown, request?: unknown): ErrorBody {
    if (exception instanceof StreamVersionConflictError) {
      return {
        statusCode: HttpStatus.CONFLICT,
        message: 'The resource was changed by another request at the same time: retry the request',
        error: statusText(HttpStatus.CONFLICT),
      };
    }
    if (!(exception instanceof HttpException) && isDatabaseUnavailable(exception)) {
      // Worth sending again; should a commit have gone through unacknowledged, an Idempotency-Key makes that safe.
      this.logger.warn(`database unavailable: ${exception instanceof Error ? exception.message : String(exception)}`);
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        message: 'The database is unavailable for a moment: send the request again shortly',
        error: statusText(HttpStatus.SERVICE_UNAVAILABLE),
      };
    }
    if (!(exception instanceof HttpException) && isRetryableTransactionError(exception)) {
      // Contention that outlasted the transaction's retries (many requests writing the same user or
      // stream at once): nothing was written, and the same request succeeds once the others are done.
      this.logger.warn(`database contention outlasted the retries: ${exception instanceof Error ? exception.message : String(exception)}`);
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        message: 'Other requests were changing the same data at the same moment, and this one was not applied: send it again shortly',
        error: statusText(HttpStatus.SERVICE_UNAVAILABLE),
      };
    }
    if (!(exception instanceof HttpException)) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error', error: statusText(HttpStatus.INTERNAL_SERVER_ERROR) };
    }
    const statusCode = exception.getStatus();
    const response = exception.getResponse();
    const fields = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : { message: response };
    let message = Array.isArray(fields.message) ? fields.message.join('; ') : String(fields.message ?? statusText(statusCode));
    switch (fastifyCode(exception)) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        message = `Request body is too large: the limit is ${this.bodyLimitBytes} bytes (BODY_LIMIT_BYTES)`;
        break;
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        message = `${message}: send the body as JSON with Content-Type: application/json`;
        break;
    }
    if (statusCode === HttpStatus.NOT_FOUND && request !== undefined) message = this.withoutSecrets(message, request);
    const error = typeof fields.error === 'string' && fields.error !== message ? fields.error : statusText(statusCode);
    return { ...fields, statusCode, message, error };
  }

  /** Nest's 404 for an unmatched route (`Cannot ${method} ${url}`, the URL as it came) made safe to answer; any other message as it is. */
  private withoutSecrets(message: string, request: unknown): string {
    const method = this.httpAdapter.getRequestMethod?.(request);
    const url = this.httpAdapter.getRequestUrl?.(request);
    if (method === undefined || url === undefined || message !== `Cannot ${method} ${url}`) return message;
    return unmatchedRouteMessage(method, url);
  }
}
