import { Controller, Get, Module } from '@nestjs/common';
import request from 'supertest';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { StreamVersionConflictError } from '../../src/event-store';
import { startTestApp, type TestApp } from '../support/test-app';
import { adminAuth, appAuth, createApp, expectErrorBody } from './app-helpers';

@Controller('error-probe')
class ErrorProbeController {
  @Get('crash')
  crash(): never {
    throw new Error('database password is hunter2');
  }

  @Get('conflict')
  conflict(): never {
    throw new StreamVersionConflictError('app-1', 3, 4);
  }
}

@Module({ controllers: [ErrorProbeController] })
class ErrorProbeModule {}

describe('Error responses: one shape everywhere', () => {
  let t: TestApp;
  const logged: string[] = [];
  beforeAll(async () => {
    const capture = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
    t = await startTestApp({
      env: { BODY_LIMIT_BYTES: '2048' },
      imports: [ErrorProbeModule],
      logger: { log: capture, error: capture, warn: capture, debug: capture, verbose: capture, fatal: capture },
    });
  });
  afterAll(() => t.close());

  it('404 for an unknown route', async () => {
    const res = await request(t.url).get('/no/such/route').expect(404);
    expect(res.body).toEqual({ statusCode: 404, message: 'Cannot GET /no/such/route', error: 'Not Found' });
    // The URL is repeated without its query's values (any of them could be a secret).
    const withSecret = await request(t.url).get('/no/such/route?a=1&amp;Token=s3cr3t-value&b=2').expect(404);
    expect(withSecret.body).toEqual({ statusCode: 404, message: 'Cannot GET /no/such/route?a=[redacted]&amp;Token=[redacted]&b=[redacted]', error: 'Not Found' });
    expectErrorBody((await request(t.url).patch('/v3/users/x').expect(404)).body, 404);
  });

  it('400 for malformed JSON', async () => {
    const res = await request(t.url).post('/admin/apps').set(adminAuth).set('Content-Type', 'application/json').send('{"name": "Acme"').expect(400);
    expect(res.body).toEqual({ statusCode: 400, message: expect.stringMatching(/^Body is not valid JSON \(.+\): send a JSON document/), error: 'Bad Request' });
  });

  it('400 for valid JSON with a key that could poison prototypes, saying which keys are refused', async () => {
    const app = await createApp(t);
    for (const body of ['{"__proto__": {"admin": true}}', '{"constructor": {"prototype": {"admin": true}}}']) {
      const res = await request(t.url).put('/v3/users/proto').set(appAuth(app)).set('Content-Type', 'application/json').send(body).expect(400);
      expect(res.body).toEqual({ statusCode: 400, message: expect.stringContaining('"__proto__" key, or "constructor" with "prototype" inside'), error: 'Bad Request' });
    }
    await request(t.url).get('/v3/users/proto').set(appAuth(app)).expect(404);
  });

  it('400 for an empty JSON body', async () => {
    const res = await request(t.url).post('/admin/apps').set(adminAuth).set('Content-Type', 'application/json').send('').expect(400);
    expectErrorBody(res.body, 400);
  });

  it('413 for a body over BODY_LIMIT_BYTES, naming the limit', async () => {
    const app = await createApp(t);
    const res = await request(t.url).put('/v3/users/big').set(appAuth(app)).send({ blob: 'x'.repeat(4000) }).expect(413);
    expect(res.body).toEqual({ statusCode: 413, message: 'Request body is too large: the limit is 2048 bytes (BODY_LIMIT_BYTES)', error: 'Payload Too Large' });
    await request(t.url).get('/v3/users/big').set(appAuth(app)).expect(404);
  });

  it('415 for a body that is not JSON', async () => {
    const res = await request(t.url).post('/admin/apps').set(adminAuth).set('Content-Type', 'text/xml').send('<app name="Acme"/>').expect(415);
    expect(res.body).toEqual({ statusCode: 415, message: expect.stringMatching(/Content-Type: application\/json/), error: 'Unsupported Media Type' });
  });

  it.each([
    ['text/plain', '{"name": "Acme"}'],
    ['application/x-www-form-urlencoded', 'name=Acme'],
  ])('415 for JSON sent as %s, or a form, instead of reading it as a string or as fields', async (type, body) => {
    const before = (await request(t.url).get('/admin/apps').set(adminAuth).expect(200)).body;
    const res = await request(t.url).post('/admin/apps').set(adminAuth).set('Content-Type', type).send(body).expect(415);
    expect(res.body).toEqual({
      statusCode: 415,
      message: `The body was sent as ${type}: send it as JSON with Content-Type: application/json`,
      error: 'Unsupported Media Type',
    });
    expect((await request(t.url).get('/admin/apps').set(adminAuth).expect(200)).body).toEqual(before);
  });

  it('415 for a compressed body, saying to send it uncompressed, without echoing its bytes', async () => {
    const app = await createApp(t);
    // The bytes as they are: superagent would otherwise send a Buffer as its JSON form.
    const post = (path: string, encoding: string, bytes: Buffer, method: 'post' | 'put' = 'post') =>
      request(t.url)[method](path).set(appAuth(app)).set('Content-Type', 'application/json').set('Content-Encoding', encoding).serialize((body: Buffer) => body).send(bytes);
    const json = JSON.stringify({ notification: { title: 'x' }, sendTo: { recipients: ['alice'] } });
    for (const [encoding, bytes] of [
      ['gzip', gzipSync(json)],
      ['deflate', deflateSync(json)],
      ['br', brotliCompressSync(json)],
    ] as const) {
      const res = await post('/v3/notifications', encoding, bytes).expect(415);
      expect(res.body).toEqual({
        statusCode: 415,
        message: `The body was sent compressed (Content-Encoding: ${encoding}), which is not accepted: send it uncompressed, as JSON with Content-Type: application/json`,
        error: 'Unsupported Media Type',
      });
    }
    // Identity is no compression at all.
    await post('/v3/users/plain', 'identity', Buffer.from('{}'), 'put').expect(200);
    expectErrorBody((await post('/v3/users/zipped', 'gzip', gzipSync('{}'), 'put').expect(415)).body, 415);
    await request(t.url).get('/v3/users/zipped').set(appAuth(app)).expect(404);
    // Gupshup's callback route reads its raw bytes itself, as before: not JSON to it, answered in its own words.
    const callbackUrl = new URL(app.callbackUrl);
    const callback = await post(callbackUrl.pathname + callbackUrl.search, 'gzip', gzipSync('{}')).expect(400);
    expect(callback.body.message).toMatch(/^The callback body is not valid JSON/);
  });

  it('414 for a path parameter far too long', async () => {
    const app = await createApp(t);
    const res = await request(t.url).get(`/v3/users/${'x'.repeat(3000)}`).set(appAuth(app)).expect(414);
    // Raised by Fastify's router before Nest sees the request, answered in the same shape, without the path.
    expect(res.body).toEqual({ statusCode: 414, message: 'A part of the path is longer than 2048 characters (as sent, percent-encoded): shorten it', error: 'URI Too Long' });
  });

  it('400 for a path with broken percent-encoding', async () => {
    const app = await createApp(t);
    const res = await request(t.url).get('/v3/users/%E0%A4%A').set(appAuth(app)).expect(400);
    expect(res.body).toEqual({ statusCode: 400, message: expect.stringContaining('malformed percent-encoding'), error: 'Bad Request' });
  });

  it('500 for an unexpected error, revealing nothing, and logged', async () => {
    const res = await request(t.url).get('/error-probe/crash').expect(500);
    expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error', error: 'Internal Server Error' });
    expect(logged.some((line) => line.includes('hunter2'))).toBe(true);
    await request(t.url).get('/health').expect(200);
  });

  it('409 for a concurrent change of the same stream', async () => {
    const res = await request(t.url).get('/error-probe/conflict').expect(409);
    expect(res.body).toEqual({ statusCode: 409, message: expect.stringMatching(/retry the request/), error: 'Conflict' });
  });
});
