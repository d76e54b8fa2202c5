import type { AbstractHttpAdapter } from '@nestjs/core';
import { errorCodes, type FastifyInstance, type FastifyRequest, type onRequestHookHandler, type preValidationHookHandler, type RouteOptions } from 'fastify';
import { isBodyRefusal, jsonOrNoBody, NOT_JSON_BODY_TYPES, notJsonBodyRefusal } from '../common/empty-json-body';
import type { ErrorResponseFilter } from '../common/error-response.filter';
import { answerRouteErrors } from '../common/route-error-handlers';
import { GUPSHUP_CALLBACK_ROUTE } from '../whatsapp/tracking/receiving/webhook-body-parser';

/** Internal media types: a body on one of the module's routes reaches the module's parser under one of them. */
const MODULE_JSON = 'application/x-whatsapp-notify-json';
/** text/plain or a form: read under the limit, then refused naming the type, as the service does. */
const MODULE_NOT_JSON = 'application/x-whatsapp-notify-not-json';
/** Any other type, or a body without one: refused unread, as Fastify refuses a type it has no parser for. */
const MODULE_UNSUPPORTED = 'application/x-whatsapp-notify-unsupported';

/** The Content-Type each rewritten request came with (undefined: none), given back before its body is used. */
const sentContentTypes = new WeakMap<FastifyRequest, string | undefined>();

function restoreContentType(request: FastifyRequest): void {
  const sent = sentContentTypes.get(request);
  if (sent === undefined) delete request.headers['content-type'];
  else request.headers['content-type'] = sent;
}

const giveBackContentType: preValidationHookHandler = (request, _reply, done) => {
  if (sentContentTypes.has(request)) restoreContentType(request);
  done();
};

function mediaTypeOf(contentType: string | undefined): string | undefined {
  return contentType?.split(';', 1)[0].trim().toLowerCase();
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Sends the request's body to the module's parser for its type (Fastify picks parsers by content type, for the whole server). */
const chooseModuleParser: onRequestHookHandler = (request, _reply, done) => {
  const sent = request.headers['content-type'];
  const mediaType = mediaTypeOf(sent);
  const internal =
    mediaType === 'application/json'
      ? MODULE_JSON
      : mediaType !== undefined && NOT_JSON_BODY_TYPES.includes(mediaType)
        ? MODULE_NOT_JSON
        : mediaType !== undefined || hasBody(request)
          ? MODULE_UNSUPPORTED
          : undefined;
  if (internal) {
    sentContentTypes.set(request, sent);
    request.headers['content-type'] = internal;
  }
  done();
};

function toArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/**
 * The service reads bodies with its own parsers, limit and error answers, for its whole server
 * (bootstrap.ts). In a host, the parsers, the limit and the error handler are the host's, and a
 * body refused before any controller is answered by the host's error handler, in the host's shape.
 * So the module's routes, and only they, read their bodies as the service does: JSON only (an empty
 * JSON body is none; text/plain and forms are refused 415 saying what to send), under the module's
 * BODY_LIMIT_BYTES (`bodyLimitBytes`), and a refused body (413, 400, 415) is answered by the
 * module's ErrorResponseFilter; any other error goes on to the host's handler. The host's routes
 * keep the host's parsers, limit and answers. Gupshup's callback routes read raw bytes under their
 * own limit (webhook-body-parser), their refusals answered here too.
 */
export function readModuleBodiesAsTheService(
  fastify: FastifyInstance,
  isModuleRoute: (url: string) => boolean,
  adapter: AbstractHttpAdapter,
  filter: ErrorResponseFilter,
  bodyLimit: number,
): void {
  const parseJson = jsonOrNoBody(fastify);
  fastify.addContentTypeParser(MODULE_JSON, { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    restoreContentType(request);
    parseJson(request, body as Buffer, done);
  });
  fastify.addContentTypeParser(MODULE_NOT_JSON, { parseAs: 'buffer', bodyLimit }, (request, _body, done) => {
    restoreContentType(request);
    done(notJsonBodyRefusal(mediaTypeOf(request.headers['content-type'])!), undefined);
  });
  fastify.addContentTypeParser(MODULE_UNSUPPORTED, (request, _payload, done) => {
    restoreContentType(request);
    done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), undefined);
  });

  fastify.addHook('onRoute', (route: RouteOptions) => {
    // Fastify declares a HEAD route from each GET one with its options, hooks included.
    if (!isModuleRoute(route.url) || toArray(route.onRequest).includes(chooseModuleParser)) return;
    answerRouteErrors(route, (error, request, reply) => {
      if (!isBodyRefusal(error)) return false;
      // As Nest's exception layer hands it to the service's filter: Fastify's errors become HttpExceptions.
      filter.answer(adapter.mapException(error), request, reply);
      return true;
    });
    if ((route.config as Record<string, unknown> | undefined)?.[GUPSHUP_CALLBACK_ROUTE]) return;
    route.bodyLimit ??= bodyLimit;
    route.onRequest = [...toArray(route.onRequest), chooseModuleParser];
    // A request whose body no parser read (a GET with a Content-Type, say) gets its header back here.
    route.preValidation = [...toArray(route.preValidation), giveBackContentType];
  });
}
