import { Injectable, PayloadTooLargeException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyError, FastifyInstance, onRequestHookHandler, RouteOptions } from 'fastify';
import { asBodyRefusal } from '../../../common/empty-json-body';
import { rewriteRouteErrors } from '../../../common/route-error-handlers';
import { AppConfig } from '../../../config/app-config';

/** Route config flag (set with @RouteConfig) of the routes that take Gupshup callbacks. */
export const GUPSHUP_CALLBACK_ROUTE = 'gupshupCallback';

/** Internal media type: every callback body reaches the handler as raw bytes under it. */
const RAW_CALLBACK_MEDIA_TYPE = 'application/x-whatsapp-notify-gupshup-callback';

/**
 * Gupshup documents application/json, but a callback is JSON whatever its header says: the
 * webhook reads the raw bytes and parses them itself, so that a JSON body sent as text/plain (or
 * with any charset) is accepted and anything that is not JSON gets a 400 with the webhook's own
 * message. Fastify picks body parsers by content type for the whole server, so the callback
 * routes (and only they) have their request's content type replaced by an internal one before
 * parsing, and get their own, smaller body limit.
 */
@Injectable()
export class WebhookBodyParser {
  readonly bodyLimit: number;

  constructor(adapterHost: HttpAdapterHost, config: AppConfig) {
    this.bodyLimit = Math.min(config.get('WEBHOOK_BODY_LIMIT_BYTES'), config.get('BODY_LIMIT_BYTES'));
    // Commands run the modules without an HTTP server.
    const fastify = adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (!fastify || typeof fastify.addContentTypeParser !== 'function') return;

    fastify.addContentTypeParser(RAW_CALLBACK_MEDIA_TYPE, { parseAs: 'buffer', bodyLimit: this.bodyLimit }, (_request, body, done) => done(null, body));
    const readRawBody: onRequestHookHandler = (request, _reply, done) => {
      request.headers['content-type'] = RAW_CALLBACK_MEDIA_TYPE;
      done();
    };
    const bodyLimit = this.bodyLimit;
    // The service-wide error filter words a too-large body in terms of BODY_LIMIT_BYTES; this
    // route's own, smaller limit is named instead. Anything else goes on as it came.
    const nameOwnLimit = (error: FastifyError): Error =>
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? asBodyRefusal(
            new PayloadTooLargeException(
              `The callback body is larger than the webhook accepts: at most ${bodyLimit} bytes (WEBHOOK_BODY_LIMIT_BYTES, capped by BODY_LIMIT_BYTES)`,
            ),
          )
        : error;
    fastify.addHook('onRoute', (route: RouteOptions) => {
      if (!(route.config as Record<string, unknown> | undefined)?.[GUPSHUP_CALLBACK_ROUTE]) return;
      route.bodyLimit = bodyLimit;
      route.onRequest = [...toArray(route.onRequest), readRawBody];
      rewriteRouteErrors(route, nameOwnLimit);
    });
  }
}

function toArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
