import type { LoggerService } from '@nestjs/common';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/test-app';
import { adminAuth, appAuth, createApp, gupshupApiKey, type CreatedTestApp } from './app-helpers';

const PATH = '/v3/channels/whatsapp/providers/gupshup_whatsapp';

/** Everything the service writes: its logger at debug level, and any direct write to stdout or stderr. */
function captureOutput() {
  const lines: string[] = [];
  const record = (...parts: unknown[]) => void lines.push(parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p) ?? String(p))).join(' '));
  const logger: LoggerService = { log: record, error: record, warn: record, debug: record, verbose: record, fatal: record };
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const tap = (original: typeof process.stdout.write) =>
    function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      lines.push(String(chunk));
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof process.stdout.write;
  process.stdout.write = tap(originals.out);
  process.stderr.write = tap(originals.err);
  return {
    lines,
    logger,
    restore() {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}

describe('Secrets never leave whole', () => {
  let t: TestApp;
  let output: ReturnType<typeof captureOutput>;
  const responses: string[] = [];
  const track = async <R extends { text: string }>(res: Promise<R> | R): Promise<R> => {
    const done = await res;
    responses.push(done.text);
    return done;
  };

  beforeAll(async () => {
    output = captureOutput();
    t = await startTestApp({ logger: output.logger, env: { LOG_LEVEL: 'debug' } });
  });
  afterAll(async () => {
    await t.close();
    output.restore();
  });

  it('does not show a Gupshup API key or an app secret in any response (but the one creating the app) or output line', async () => {
    const apps: CreatedTestApp[] = [await createApp(t, 'Secret A'), await createApp(t, 'Secret B')];
    const gupshupKeys = [gupshupApiKey('s3c1'), gupshupApiKey('s3c2'), gupshupApiKey('s3c3')];
    const [a, b] = apps;

    await track(request(t.url).put(PATH).set(appAuth(a)).send({ enabled: true, config: { API_KEY: gupshupKeys[0], SOURCE: '917834811114', SRC_NAME: 'A' } }).expect(200));
    await track(request(t.url).put(PATH).set(appAuth(a)).send({ enabled: true, config: { API_KEY: gupshupKeys[1] } }).expect(200));
    await track(request(t.url).put(`/admin/apps/${b.id}/channels/whatsapp/providers/gupshup_whatsapp`).set(adminAuth).send({ enabled: true, config: { API_KEY: gupshupKeys[2], SOURCE: '14155550100', SRC_NAME: 'B' } }).expect(200));
    await track(request(t.url).get(PATH).set(appAuth(a)).expect(200));
    await track(request(t.url).get(PATH).set(appAuth(b)).expect(200));
    await track(request(t.url).get(`/admin/apps/${a.id}/channels/whatsapp/providers/gupshup_whatsapp`).set(adminAuth).expect(200));
    await track(request(t.url).get('/admin/apps').set(adminAuth).expect(200));
    // Requests that fail while carrying a secret.
    await track(request(t.url).put(PATH).set(appAuth(a)).send({ enabled: true, config: { API_KEY: `${gupshupKeys[0]} x`, SOURCE: 'bad' } }).expect(400));
    await track(request(t.url).put(PATH).set(appAuth(a)).send({ enabled: true, config: { API_KEY: gupshupKeys[0], EXTRA: gupshupKeys[0] } }).expect(400));
    await track(request(t.url).put(PATH).set(appAuth({ ...a, apiSecret: b.apiSecret })).send({}).expect(401));
    await track(request(t.url).get('/v3/users/x').set(appAuth({ apiKey: b.apiKey, apiSecret: a.apiSecret })).expect(401));
    await track(request(t.url).put('/v3/users/u1').set(appAuth(a)).send({ phoneNumber: '+919988776655' }).expect(200));
    await track(request(t.url).get('/v3/users/u1').set(appAuth(a)).expect(200));
    await track(request(t.url).get('/health').expect(200));

    const secrets = [...gupshupKeys, ...apps.map((app) => app.apiSecret)];
    for (const secret of secrets) {
      for (const body of responses) expect(body).not.toContain(secret);
      for (const line of output.lines) expect(line).not.toContain(secret);
    }
    // The masked form is what is shown.
    expect(responses.join('\n')).toContain('****s3c2');
    expect(output.lines.length).toBeGreaterThan(0);
  });
});
