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
