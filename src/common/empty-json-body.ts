import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest, RawServerDefault } from 'fastify';

type BodyParser = (request: FastifyRequest, body: Buffer, done: (error: Error | null, parsed: unknown) => void) => void;

/** Refusals raised by the service's own parsers (Fastify's carry an FST_ERR_CTP_ code instead). */
const bodyRefusals = new WeakSet<object>();

/** Marks an error as a refusal of the request's body, raised before any controller, so that it is answered as one (isBodyRefusal). */
export function asBodyRefusal<E extends Error>(error: E): E {
  bodyRefusals.add(error);
  return error;
}

/** Whether an error refuses the request's body (too large, malformed, of a type not taken): Fastify's own, or one marked by asBodyRefusal. */
export function isBodyRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return bodyRefusals.has(error) || (typeof code === 'string' && code.startsWith('FST_ERR_CTP_'));
}

/**
 * Reads a JSON request with an empty body as one without a body, instead of Fastify's 400
 * "Body cannot be empty": Engagespot's SDK sends `Content-Type: application/json` with no body
 * (createOrUpdateUser without a profile). Each route's schema then says whether a body is needed.
 * Anything else is parsed by Fastify's own JSON parser, with its checks, under the body limit; a
 * body it refuses is answered with what is wrong with it.
 */
export function acceptEmptyJsonBody(app: NestFastifyApplication, bodyLimit: number): void {
  app.useBodyParser<RawServerDefault>('application/json', { bodyLimit }, jsonOrNoBody(app.getHttpAdapter().getInstance()));
}

/** The service's JSON parser (acceptEmptyJsonBody): an empty body is none, a refused one is explained. */
export function jsonOrNoBody(fastify: FastifyInstance): BodyParser {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  return (request, body, done) => {
    if (body.length === 0) return done(null, undefined);
    const encoding = compressionOf(request.headers['content-encoding']);
    if (encoding) return done(compressedBodyRefusal(encoding), undefined);
    const text = body.toString('utf8');
    parseJson(request, text, (error, parsed) => (error ? done(explainRefusedJson(text, error), undefined) : done(null, parsed)));
  };
}

/** A Content-Encoding other than identity, as sent (shortened), or undefined. */
function compressionOf(header: string | string[] | undefined): string | undefined {
  const value = (Array.isArray(header) ? header.join(', ') : (header ?? '')).trim();
  const codings = value.split(',').map((coding) => coding.trim().toLowerCase());
  return codings.every((coding) => coding === '' || coding === 'identity') ? undefined : value.slice(0, 40);
}

/** Bodies are read as they come (Fastify does not inflate them): a compressed one is refused by name, not parsed as broken JSON and echoed. */
function compressedBodyRefusal(encoding: string): UnsupportedMediaTypeException {
  return asBodyRefusal(
    new UnsupportedMediaTypeException(
      `The body was sent compressed (Content-Encoding: ${encoding}), which is not accepted: send it uncompressed, as JSON with Content-Type: application/json`,
    ),
  );
}

/** Fastify says only "not valid JSON": say where, or that valid JSON was refused for a key that could poison prototypes. */
function explainRefusedJson(text: string, refusal: Error): Error {
  try {
    JSON.parse(text);
  } catch (syntax) {
    refusal.message = `Body is not valid JSON (${(syntax as Error).message}): send a JSON document with Content-Type: application/json`;
    return refusal;
  }
  refusal.message = 'Body holds a "__proto__" key, or "constructor" with "prototype" inside, which are refused: rename or remove them';
  return refusal;
}

/** Body types a client may send by mistake that Fastify and Nest would otherwise read as something. */
export const NOT_JSON_BODY_TYPES = ['text/plain', 'application/x-www-form-urlencoded'];

/** The 415 for a body sent as one of NOT_JSON_BODY_TYPES. */
export function notJsonBodyRefusal(type: string): UnsupportedMediaTypeException {
  return asBodyRefusal(new UnsupportedMediaTypeException(`The body was sent as ${type}: send it as JSON with Content-Type: application/json`));
}

/**
 * The API takes JSON bodies only. A JSON body sent as text/plain was read as a string (and refused
 * as "not an object"), a form as fields (and taken): both are answered 415 saying what to send.
 * Gupshup's callback routes read their raw bytes whatever the type (webhook-body-parser).
 */
export function refuseNonJsonBodies(app: NestFastifyApplication, bodyLimit: number): void {
  for (const type of NOT_JSON_BODY_TYPES) {
    app.useBodyParser<RawServerDefault>(type, { bodyLimit }, (_request, _body, done) => done(notJsonBodyRefusal(type), undefined));
  }
}
