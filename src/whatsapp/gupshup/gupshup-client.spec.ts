import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GupshupClient } from './gupshup-client';
import { buildGupshupSendRequest, type GupshupCredentials } from './send-request';
import { createGupshupSimulator, type GupshupSimulator } from '../../../tools/simulator/gupshup-simulator';

const API_KEY = 'sk_test_7c1f0e5a9b2d4e6f';
const credentials: GupshupCredentials = { apiKey: API_KEY, source: '917834811114', srcName: 'DemoAPI' };
const textRequest = (destination = '919876543210') => buildGupshupSendRequest({ credentials, destination, text: 'Your order shipped' });
/** For calls that are answered: far longer than any answer takes, even on a busy machine. */
const PATIENT_MS = 30_000;

describe('GupshupClient against the simulator', () => {
  let simulator: GupshupSimulator;
  let client: GupshupClient;

  beforeAll(async () => {
    simulator = createGupshupSimulator({ apps: [{ apiKey: API_KEY, source: '917834811114', srcName: 'DemoAPI' }] });
    const baseUrl = await simulator.listen();
    client = new GupshupClient({ baseUrl, timeoutMs: PATIENT_MS });
  });
  afterEach(() => simulator.reset());
  afterAll(async () => {
    await client.close();
    await simulator.close();
  });

  it('sends a plain text message with exactly the documented fields and headers', async () => {
    const outcome = await client.send(textRequest());
    expect(outcome).toEqual({ outcome: 'accepted', messageId: expect.stringMatching(/^[0-9a-f-]{36}$/), httpStatus: 200 });

    const [received] = simulator.requests();
    expect(received.method).toBe('POST');
    expect(received.path).toBe('/wa/api/v1/msg');
    expect(received.headers).toMatchObject({ apikey: API_KEY, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
    expect(received.form).toEqual({
      channel: 'whatsapp',
      source: '917834811114',
      'src.name': 'DemoAPI',
      destination: '919876543210',
      message: '{"type":"text","text":"Your order shipped"}',
    });
    if (outcome.outcome === 'accepted') expect(simulator.message(outcome.messageId)?.message).toEqual({ type: 'text', text: 'Your order shipped' });
  });

  it('sends a template to the template endpoint', async () => {
    const request = buildGupshupSendRequest({
      credentials,
      destination: '919876543210',
      text: 'unused',
      override: { template: { id: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b', params: ['Agent', 'Local Address', 'Tracking code'] } },
    });
    expect(await client.send(request)).toMatchObject({ outcome: 'accepted' });
    const [received] = simulator.requests();
    expect(received.path).toBe('/wa/api/v1/template/msg');
    expect(received.form).toEqual({
      channel: 'whatsapp',
      source: '917834811114',
      'src.name': 'DemoAPI',
      destination: '919876543210',
      template: '{"id":"c6aecef6-bcb0-4fb1-8100-28c094e3bc6b","params":["Agent","Local Address","Tracking code"]}',
    });
  });

  it('sends override fields as given, objects as JSON text', async () => {
    const request = buildGupshupSendRequest({
      credentials,
      destination: '919876543210',
      text: 'unused',
      override: { message: { type: 'image', originalUrl: 'https://picsum.photos/200', previewUrl: 'https://picsum.photos/200', caption: 'Lorem & ipsum = 100%' }, disablePreview: true },
    });
    expect(await client.send(request)).toMatchObject({ outcome: 'accepted' });
    expect(simulator.requests()[0].form).toEqual({
      channel: 'whatsapp',
      source: '917834811114',
      'src.name': 'DemoAPI',
      destination: '919876543210',
      message: '{"type":"image","originalUrl":"https://picsum.photos/200","previewUrl":"https://picsum.photos/200","caption":"Lorem & ipsum = 100%"}',
      disablePreview: 'true',
    });
  });

  it('reports a wrong key as rejected, with Gupshup message', async () => {
    const request = buildGupshupSendRequest({ credentials: { ...credentials, apiKey: 'sk_test_wrong_000000' }, destination: '919876543210', text: 'x' });
    expect(await client.send(request)).toEqual({ outcome: 'rejected', httpStatus: 401, message: 'Authentication Failed' });
    expect(simulator.requests()[0].response).toMatchObject({ status: 401, body: '{"message":"Authentication Failed","status":"error"}' });
  });

  it('reports wrong app details and a bad destination as rejected', async () => {
    const wrongApp = buildGupshupSendRequest({ credentials: { ...credentials, srcName: 'OtherApp' }, destination: '919876543210', text: 'x' });
    expect(await client.send(wrongApp)).toEqual({ outcome: 'rejected', httpStatus: 400, message: 'Invalid App Details' });
    expect(await client.send(textRequest('12345'))).toEqual({ outcome: 'rejected', httpStatus: 400, message: 'Invalid Destination' });
    expect(simulator.requests().map((request) => request.response?.body)).toEqual([
      '{"message":"Invalid App Details","status":"error"}',
      '{"message":"Invalid Destination","status":"error"}',
    ]);
  });

  it('retries nothing itself: a 429 is retryable, and the next call succeeds', async () => {
    simulator.injectFailure({ status: 429, count: 1 });
    expect(await client.send(textRequest())).toEqual({ outcome: 'retryable', kind: 'http', httpStatus: 429, message: 'Too Many Requests' });
    expect(await client.send(textRequest())).toMatchObject({ outcome: 'accepted', httpStatus: 200 });
    expect(simulator.requests()).toHaveLength(2);
    expect(simulator.messages()).toHaveLength(1);
  });

  it.each([500, 502, 503, 504, 408])('classifies %i as retryable', async (status) => {
    simulator.injectFailure({ status });
    expect(await client.send(textRequest())).toMatchObject({ outcome: 'retryable', kind: 'http', httpStatus: status });
  });

  it('uses Gupshup 5xx body as the message', async () => {
    simulator.injectFailure({ status: 500 });
    expect(await client.send(textRequest())).toEqual({
      outcome: 'retryable',
      kind: 'http',
      httpStatus: 500,
      message: 'Internal server error. Please try again later',
    });
  });

  it.each([403, 404, 409, 422])('classifies %i as rejected', async (status) => {
    simulator.injectFailure({ status });
    expect(await client.send(textRequest())).toMatchObject({ outcome: 'rejected', httpStatus: status });
  });

  it('tolerates a non-JSON error body', async () => {
    simulator.injectFailure({ status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' });
    expect(await client.send(textRequest())).toEqual({
      outcome: 'retryable',
      kind: 'http',
      httpStatus: 502,
      message: '<html><body><h1>502 Bad Gateway</h1></body></html>',
    });
  });

  it('accepts a success answered as text/html, and a 202', async () => {
    simulator.updateSettings({ responseContentType: 'text/html', successStatus: 202 });
    const outcome = await client.send(textRequest());
    expect(outcome).toMatchObject({ outcome: 'accepted', httpStatus: 202 });
    expect(simulator.requests()[0].response?.contentType).toBe('text/html; charset=UTF-8');
  });

  it('classifies an error answer by the failure code it carries, over its HTTP status', async () => {
    simulator.injectFailure({ status: 400, body: { status: 'error', message: 'Rate limit hit', code: 130429 } });
    expect(await client.send(textRequest())).toEqual({ outcome: 'retryable', kind: 'http', httpStatus: 400, message: 'Rate limit hit', code: '130429' });
    simulator.injectFailure({ status: 402, body: { status: 'error', message: 'Wallet Balance Low', code: '1003' } });
    expect(await client.send(textRequest())).toEqual({ outcome: 'account', httpStatus: 402, message: 'Wallet Balance Low', code: '1003' });
    simulator.injectFailure({ status: 503, body: { error: { code: 131026, message: 'Message undeliverable' } } });
    expect(await client.send(textRequest())).toMatchObject({ outcome: 'rejected', httpStatus: 503, code: '131026' });
    simulator.injectFailure({ status: 503, body: { status: 'error', message: 'Busy', code: 999999 } });
    expect(await client.send(textRequest())).toMatchObject({ outcome: 'retryable', httpStatus: 503, code: '999999' });
    // A 2xx is never retried, whatever it carries: Gupshup may have taken the message in.
    simulator.injectFailure({ status: 200, body: { status: 'error', message: 'Rate limit hit', code: 130429 } });
    expect(await client.send(textRequest())).toEqual({ outcome: 'rejected', httpStatus: 200, message: 'Rate limit hit' });
  });

  it('does not retry a 2xx without a messageId or with status error', async () => {
    simulator.injectFailure({ status: 200, body: { status: 'error', message: 'Something odd' } });
    expect(await client.send(textRequest())).toEqual({ outcome: 'rejected', httpStatus: 200, message: 'Something odd' });
    simulator.injectFailure({ status: 200, body: { status: 'error', messageId: 'abc', message: 'Errored with an id' } });
    expect(await client.send(textRequest())).toEqual({ outcome: 'rejected', httpStatus: 200, message: 'Errored with an id' });
    simulator.injectFailure({ status: 202, body: { status: 'submitted' } });
    expect(await client.send(textRequest())).toEqual({ outcome: 'rejected', httpStatus: 202, message: 'HTTP 202 without a messageId' });
    simulator.injectFailure({ status: 200, body: 'OK' });
    expect(await client.send(textRequest())).toEqual({ outcome: 'rejected', httpStatus: 200, message: 'HTTP 200 without a messageId' });
  });

  it('accepts the {"status":"success"} variant seen on one reference page', async () => {
    simulator.injectFailure({ status: 200, body: { messageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35', status: 'success' } });
    expect(await client.send(textRequest())).toEqual({ outcome: 'accepted', httpStatus: 200, messageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35' });
  });

  it('gives up at its deadline on a slow answer, as an unknown outcome (Gupshup may have the message)', async () => {
    // A simulator of its own: the abandoned request may reach it late, and must not take another test's failure.
    const slow = createGupshupSimulator({ apps: [{ apiKey: API_KEY, source: '917834811114', srcName: 'DemoAPI' }] });
    const impatient = new GupshupClient({ baseUrl: await slow.listen(), timeoutMs: 150 });
    try {
      // An answer ten minutes away (dropped when the simulator closes): that send() returns at all shows it did not wait.
      slow.injectFailure({ delayMs: 600_000 });
      expect(await impatient.send(textRequest())).toEqual({ outcome: 'unknown', kind: 'timeout', message: 'no answer from Gupshup within 150 ms' });
      expect(slow.requests().filter((request) => request.response !== undefined)).toEqual([]);
    } finally {
      await impatient.close();
      await slow.close();
    }
  });

  it('reports a connection dropped after the request was written as an unknown outcome, not retryable', async () => {
    simulator.injectFailure({ dropConnection: true });
    const outcome = await client.send(textRequest());
    expect(outcome).toMatchObject({ outcome: 'unknown', kind: 'network' });
    expect(simulator.requests()[0].response).toEqual({ dropped: true });
    expect(await client.send(textRequest())).toMatchObject({ outcome: 'accepted' });
  });

  it('never lets the API key into a message, even when the server echoes it', async () => {
    simulator.injectFailure({ status: 400, message: `Invalid key ${API_KEY} for app` });
    const outcome = await client.send(textRequest());
    expect(outcome).toEqual({ outcome: 'rejected', httpStatus: 400, message: 'Invalid key **** for app' });
  });
});

describe('GupshupClient transport', () => {
  const servers: Server[] = [];
  async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ url: string; server: Server }> {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }
  afterEach(async () => {
    await Promise.all(
      servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
  });

  it('reuses keep-alive connections instead of opening one per call', async () => {
    let connections = 0;
    const { url, server } = await serve((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end('{"status":"submitted","messageId":"m-1"}');
    });
    server.on('connection', () => connections++);
    const client = new GupshupClient({ baseUrl: url, timeoutMs: PATIENT_MS });
    for (let i = 0; i < 20; i++) expect(await client.send(textRequest())).toMatchObject({ outcome: 'accepted', messageId: 'm-1' });
    // The pool may open a second socket while the first is still finishing its previous exchange.
    expect(connections).toBeLessThanOrEqual(2);
    await client.close();
  });

  it('keeps a path prefix of the base URL and sends a URL-encoded body', async () => {
    let seen: { url?: string; body: string } = { body: '' };
    const { url } = await serve((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        seen = { url: request.url, body };
        response.end('{"status":"submitted","messageId":"m-2"}');
      });
    });
    const client = new GupshupClient({ baseUrl: `${url}/gupshup/`, timeoutMs: PATIENT_MS });
    await client.send(buildGupshupSendRequest({ credentials, destination: '919876543210', text: 'a&b=c 🙏' }));
    expect(seen.url).toBe('/gupshup/wa/api/v1/msg');
    expect(new URLSearchParams(seen.body).get('message')).toBe('{"type":"text","text":"a&b=c 🙏"}');
    await client.close();
  });

  it('times out when the body stalls after the headers', async () => {
    const { url } = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"status":"submitted",');
    });
    const client = new GupshupClient({ baseUrl: url, timeoutMs: 200 });
    expect(await client.send(textRequest())).toMatchObject({ outcome: 'unknown', kind: 'timeout' });
    await client.close();
  });

  it('reports a refused connection as a retryable network error', async () => {
    const { url, server } = await serve(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = new GupshupClient({ baseUrl: url, timeoutMs: PATIENT_MS });
    expect(await client.send(textRequest())).toMatchObject({ outcome: 'retryable', kind: 'network', message: expect.stringContaining('ECONNREFUSED') });
    await client.close();
  });

  it('does not send a request whose headers cannot be written', async () => {
    const { url } = await serve((_request, response) => response.end('{}'));
    const client = new GupshupClient({ baseUrl: url, timeoutMs: PATIENT_MS });
    const request = buildGupshupSendRequest({ credentials: { ...credentials, apiKey: 'bad\r\nkey-value' }, destination: '919876543210', text: 'x' });
    const outcome = await client.send(request);
    expect(outcome).toMatchObject({ outcome: 'rejected', httpStatus: 0 });
    expect(JSON.stringify(outcome)).not.toContain('bad\r\nkey-value');
    await client.close();
  });

  it('answers retryable after close, and closes twice safely', async () => {
    const client = new GupshupClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: PATIENT_MS });
    await client.close();
    await client.close();
    expect(await client.send(textRequest())).toEqual({ outcome: 'retryable', kind: 'network', message: 'Gupshup client is closed' });
  });

  it('refuses a base URL that is not http(s) and a timeout that is not positive', () => {
    expect(() => new GupshupClient({ baseUrl: 'ftp://x', timeoutMs: 1 })).toThrow('http or https');
    expect(() => new GupshupClient({ baseUrl: 'http://x', timeoutMs: 0 })).toThrow('positive');
  });
});
