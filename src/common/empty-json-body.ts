import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawServerDefault } from 'fastify';

/**
 * Reads a JSON request with an empty body as one without a body, instead of Fastify's 400
 * "Body cannot be empty": Engagespot's SDK sends `Content-Type: application/json` with no body
 * (createOrUpdateUser without a profile). Each route's schema then says whether a body is needed.
 * Anything else is parsed by Fastify's own JSON parser, with its checks, under the body limit; a
 * body it refuses is answered with what is wrong with it.
 */
export function acceptEmptyJsonBody(app: NestFastifyApplication, bodyLimit: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>('application/json', { bodyLimit }, (request, body, done) => {
    if (body.length === 0) return done(null, undefined);
    const text = body.toString('utf8');
    parseJson(request, text, (error, parsed) => (error ? done(explainRefusedJson(text, error), undefined) : done(null, parsed)));
  });
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
const NOT_JSON_BODY_TYPES = ['text/plain', 'application/x-www-form-urlencoded'];

/**
 * The API takes JSON bodies only. A JSON body sent as text/plain was read as a string (and refused
 * as "not an object"), a form as fields (and taken): both are answered 415 saying what to send.
 * Gupshup's callback routes read their raw bytes whatever the type (webhook-body-parser).
 */
export function refuseNonJsonBodies(app: NestFastifyApplication, bodyLimit: number): void {
  for (const type of NOT_JSON_BODY_TYPES) {
    app.useBodyParser<RawServerDefault>(type, { bodyLimit }, (_request, _body, done) =>
      done(new UnsupportedMediaTypeException(`The body was sent as ${type}: send it as JSON with Content-Type: application/json`), undefined),
    );
  }
}
