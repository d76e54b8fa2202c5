import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawServerDefault } from 'fastify';

/**
 * Reads a JSON request with an empty body as one without a body, instead of Fastify's 400
 * "Body cannot be empty": Engagespot's SDK sends `Content-Type: application/json` with no body
 * (createOrUpdateUser without a profile). Each route's schema then says whether a body is needed.
 * Anything else is parsed by Fastify's own JSON parser, with its checks, under the body limit.
 */
export function acceptEmptyJsonBody(app: NestFastifyApplication, bodyLimit: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>('application/json', { bodyLimit }, (request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else parseJson(request, body.toString('utf8'), done);
  });
}
