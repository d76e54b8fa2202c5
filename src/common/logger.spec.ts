import { ConsoleLogger, Logger } from '@nestjs/common';
import { Writable } from 'node:stream';
import { chooseLogFormat, createRootLogger, lazyRequestLogger, PinoLoggerService, redactUrl, type LogFormat } from './logger';
import { runInRequestContext } from './request-context';

// ESC [ ... m: an ANSI colour sequence.
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;]*m`);

/** A destination that keeps what is written, presenting itself as a terminal or not. */
function captureStream(isTTY: boolean): Writable & { isTTY: boolean; text(): string; firstWrite: Promise<void> } {
  const chunks: string[] = [];
  let written!: () => void;
  const firstWrite = new Promise<void>((resolve) => (written = resolve));
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(String(chunk));
      written();
      done();
    },
  });
  return Object.assign(stream, { isTTY, text: () => chunks.join(''), firstWrite });
}

/** Logs one warning through a logger made for `destination`, and returns what was written once it is. */
async function writeOneLine(format: LogFormat | undefined, destination: ReturnType<typeof captureStream>): Promise<string> {
  const service = new PinoLoggerService(createRootLogger({ level: 'info', format, destination }));
  service.warn({ message: 'attempt 2 of 6 failed', messageId: 'm-1', attempt: 2 }, 'WhatsAppDispatcher');
  // pino-pretty writes through a transform stream, a little later.
  await destination.firstWrite;
  return destination.text();
}

describe('log format', () => {
  it.each([
    [undefined, true, 'pretty'],
    [undefined, false, 'json'],
    ['json', true, 'json'],
    ['json', false, 'json'],
    ['pretty', true, 'pretty'],
    ['pretty', false, 'pretty'],
  ] as const)('LOG_FORMAT=%s on a terminal: %s gives %s', (configured, isTerminal, expected) => {
    expect(chooseLogFormat(configured, isTerminal)).toBe(expected);
  });

  it('is one JSON object a line, without colour, when LOG_FORMAT is unset and the output is not a terminal', async () => {
    const text = await writeOneLine(undefined, captureStream(false));
    expect(text).not.toMatch(ANSI_COLOUR);
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'warn',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      context: 'WhatsAppDispatcher',
      message: 'attempt 2 of 6 failed',
      messageId: 'm-1',
      attempt: 2,
    });
  });

  it('is pretty and coloured when LOG_FORMAT is unset and the output is a terminal', async () => {
    const text = await writeOneLine(undefined, captureStream(true));
    expect(text).toMatch(ANSI_COLOUR);
    expect(text).toContain('[WhatsAppDispatcher] attempt 2 of 6 failed');
    expect(() => JSON.parse(text)).toThrow();
  });

  it('is pretty without colour when LOG_FORMAT=pretty writes to a file or a pipe', async () => {
    const text = await writeOneLine('pretty', captureStream(false));
    expect(text).not.toMatch(ANSI_COLOUR);
    expect(text).toMatch(/WARN.*\[WhatsAppDispatcher\] attempt 2 of 6 failed.*"messageId":"m-1"/);
    expect(text.trim().split('\n')).toHaveLength(1);
  });

  it('is JSON on a terminal when LOG_FORMAT=json', async () => {
    const text = await writeOneLine('json', captureStream(true));
    expect(text).not.toMatch(ANSI_COLOUR);
    expect(JSON.parse(text)).toMatchObject({ level: 'warn', message: 'attempt 2 of 6 failed' });
  });
});

describe('PinoLoggerService', () => {
  function jsonLogger(level: 'info' | 'debug' | 'warn' = 'debug') {
    const destination = captureStream(false);
    const service = new PinoLoggerService(createRootLogger({ level, format: 'json', destination }));
    const lines = () =>
      destination
        .text()
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { service, lines };
  }

  it('takes the context Nest passes last, a stack before it, and fields from a message object', () => {
    const { service, lines } = jsonLogger();
    service.log('plain', 'Main');
    service.error('failed', 'Error: failed\n    at x (file.ts:1:2)', 'Dispatcher');
    service.error('no stack', undefined, 'Dispatcher');
    service.debug({ message: 'with fields', appId: 'a-1' }, 'Dispatcher');
    service.verbose('verbose is debug', 'Nest');
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'info', context: 'Main', message: 'plain' }),
      expect.objectContaining({ level: 'error', context: 'Dispatcher', message: 'failed', stack: expect.stringContaining('at x') }),
      expect.objectContaining({ level: 'error', context: 'Dispatcher', message: 'no stack' }),
      expect.objectContaining({ level: 'debug', context: 'Dispatcher', message: 'with fields', appId: 'a-1' }),
      expect.objectContaining({ level: 'debug', context: 'Nest', message: 'verbose is debug' }),
    ]);
  });

  it('keeps to LOG_LEVEL', () => {
    const { service, lines } = jsonLogger('warn');
    service.log('info line');
    service.debug('debug line');
    service.warn('warn line');
    expect(lines().map((line) => line.message)).toEqual(['warn line']);
  });

  it('names the request being handled, and its app once known, on every line', async () => {
    const { service, lines } = jsonLogger();
    Logger.overrideLogger(service);
    try {
      const context = { requestId: 'req-1' } as { requestId: string; appId?: string };
      await runInRequestContext(context, async () => {
        new Logger('Probe').log('before authentication');
        context.appId = 'app-1';
        await new Promise((resolve) => setTimeout(resolve, 1));
        new Logger('Probe').log({ message: 'after', messageId: 'm-1' });
      });
      service.log('outside', 'Probe');
    } finally {
      Logger.overrideLogger(new ConsoleLogger());
    }
    expect(lines()).toEqual([
      expect.objectContaining({ requestId: 'req-1', message: 'before authentication', context: 'Probe' }),
      expect.objectContaining({ requestId: 'req-1', appId: 'app-1', messageId: 'm-1', message: 'after' }),
      expect.not.objectContaining({ requestId: expect.anything() }),
    ]);
  });

  it('never writes secret fields', () => {
    const { service, lines } = jsonLogger();
    service.warn({ message: 'x', apikey: 'gs-secret', config: { API_KEY: 'k-secret' }, headers: { authorization: 'Bearer t', 'x-engagespot-api-secret': 's' } });
    const [line] = lines();
    expect(JSON.stringify(line)).not.toMatch(/gs-secret|k-secret|Bearer t|"s"/);
  });
});

describe('redactUrl', () => {
  it.each([
    ['/api/v1/apps/k/webhook/gupshup_whatsapp?token=abc123', '/api/v1/apps/k/webhook/gupshup_whatsapp?token=[redacted]'],
    ['/x?a=1&Token=abc&b=2', '/x?a=[redacted]&Token=[redacted]&b=[redacted]'],
    ['/x?to%6Ben=abc', '/x?to%6Ben=[redacted]'],
    ['/x?token', '/x?[redacted]'],
    // A value sent alone, with no name: replaced whole.
    ['/api/v1/apps/k/webhook/gupshup_whatsapp?abc123', '/api/v1/apps/k/webhook/gupshup_whatsapp?[redacted]'],
    ['/x?a=1&abc123#top', '/x?a=[redacted]&[redacted]#top'],
    ['/x?', '/x?'],
    ['/x?tokens=1', '/x?tokens=[redacted]'],
    ['/x?token%3Dabc123', '/x?token=[redacted]'],
    ['/x?token%253Dabc123&a=1', '/x?token=[redacted]&a=[redacted]'],
    ['/x?token[]=abc123', '/x?token[]=[redacted]'],
    ['/x?token%5B0%5D=abc123', '/x?token%5B0%5D=[redacted]'],
    ['/x?a=token', '/x?a=[redacted]'],
    ['/x?token_id=1', '/x?token_id=[redacted]'],
    ['/health', '/health'],
    // An HTML-escaped link pasted as is: the parameter's name is `amp;token`.
    ['/api/v1/apps/k/webhook/gupshup_whatsapp?a=1&amp;token=abc123', '/api/v1/apps/k/webhook/gupshup_whatsapp?a=[redacted]&amp;token=[redacted]'],
    ['/x?a=1&amp;amp;token=abc123&amp;b=2', '/x?a=[redacted]&amp;amp;token=[redacted]&amp;b=[redacted]'],
    ['/x?a=1&#38;token=abc123', '/x?a=[redacted]&#38;token=[redacted]'],
    ['/x?a=1%26amp%3Btoken%3Dabc123', '/x?a=[redacted]%26amp%3Btoken=[redacted]'],
    ['/x?access_token=abc123', '/x?access_token=[redacted]'],
    // The `?` itself percent-encoded: the token is in the path.
    ['/api/v1/apps/k/webhook/gupshup_whatsapp%3Ftoken%3Dabc123', '/api/v1/apps/k/webhook/gupshup_whatsapp%3Ftoken=[redacted]'],
    ['/api/v1/apps/k/webhook/gupshup_whatsapp%253Ftoken%253Dabc123', '/api/v1/apps/k/webhook/gupshup_whatsapp%253Ftoken=[redacted]'],
    ['/api/v1/apps/k/webhook/gupshup_whatsapp%3FToKeN=abc123', '/api/v1/apps/k/webhook/gupshup_whatsapp%3FToKeN=[redacted]'],
    ['/x/token=abc123', '/x/token=[redacted]'],
    // Every name, in any case; every occurrence; the value ends at `&`, `;` or `#`, raw or encoded.
    ['/x?TOKEN=a1&ApiKey=a2&API_KEY=a3&Secret=a4&passWORD=a5&b=2', '/x?TOKEN=[redacted]&ApiKey=[redacted]&API_KEY=[redacted]&Secret=[redacted]&passWORD=[redacted]&b=[redacted]'],
    ['/x?token=a1&token=a2', '/x?token=[redacted]&token=[redacted]'],
    ['/x;token=abc123;b=2', '/x;token=[redacted];b=2'],
    ['/x?token=abc123#top', '/x?token=[redacted]#top'],
    ['/x?token%3Dabc123%26b%3D2', '/x?token=[redacted]%26b=[redacted]'],
    ['/x?token%253Dabc123%2526b%253D2', '/x?token=[redacted]%2526b=[redacted]'],
    ['/x?token=', '/x?token=[redacted]'],
    ['/x?%zz&token=abc123', '/x?[redacted]&token=[redacted]'],
    // Every query value, whatever its name: a callback token may come under any name.
    ['/api/v1/apps/k/webhook/gupshup_whatsapp?callbackToken=abc123', '/api/v1/apps/k/webhook/gupshup_whatsapp?callbackToken=[redacted]'],
    ['/api/v1/apps/k/webhook/gupshup_whatsapp?x=abc123&y=def456', '/api/v1/apps/k/webhook/gupshup_whatsapp?x=[redacted]&y=[redacted]'],
    ['/api/v1/apps/k/webhook/gupshup_whatsapp%3Fx%3Dabc123', '/api/v1/apps/k/webhook/gupshup_whatsapp%3Fx=[redacted]'],
    ['/x?a=b=abc123', '/x?a=[redacted]'],
    ['/x?flag&x=abc123', '/x?[redacted]&x=[redacted]'],
    ['/x?x=1?y=abc123', '/x?x=[redacted]'],
    // Paths stay as they are but for secret parameters (the API key in a callback path is public); names stay.
    ['/api/v1/apps/tokenSecretPassword123/webhook/gupshup_whatsapp', '/api/v1/apps/tokenSecretPassword123/webhook/gupshup_whatsapp'],
    ['/v3/users/secret?name=abc', '/v3/users/secret?name=[redacted]'],
    ['/v3/users/password%2Freset?x=1', '/v3/users/password%2Freset?x=[redacted]'],
    ['/x?mytoken=1&apikeys=2&secret2=3', '/x?mytoken=[redacted]&apikeys=[redacted]&secret2=[redacted]'],
    ['/v3/users/caf%C3%A9?a=%E2%9C%93', '/v3/users/caf%C3%A9?a=[redacted]'],
    ['/x/a=1;b=2', '/x/a=1;b=2'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it.each([1, 2, 3, 5, 8])('redacts a token percent-encoded %i times, anywhere from the `?` on', (times) => {
    let encoded = '?amp;token=abc123';
    for (let round = 0; round < times; round++) encoded = encodeURIComponent(encoded);
    const redacted = redactUrl(`/api/v1/apps/k/webhook/gupshup_whatsapp${encoded}`);
    expect(redacted).not.toContain('abc123');
    expect(redacted).toMatch(/^\/api\/v1\/apps\/k\/webhook\/gupshup_whatsapp%.*token=\[redacted\]$/);
  });

  it('reads a URL of deeply nested encodings', () => {
    const url = `/x?${'%25'.repeat(5000)}token=abc123&${'a'.repeat(10000)}`;
    expect(redactUrl(url)).toBe(`/x?${'%25'.repeat(5000)}token=[redacted]&[redacted]`);
  });
});

describe('lazyRequestLogger', () => {
  it('makes the child only when a line is logged, with its bindings and redaction', async () => {
    const destination = captureStream(false);
    const root = createRootLogger({ level: 'info', format: 'json', destination });
    let made = 0;
    const child = root.child.bind(root);
    root.child = ((...args: Parameters<typeof child>) => {
      made++;
      return child(...args);
    }) as typeof root.child;
    const logger = lazyRequestLogger.call(undefined as never, root, { requestId: 'r-1' }, {}, undefined as never);
    expect(made).toBe(0);
    logger.warn({ token: 'secret-token' }, 'slow client');
    logger.info('again');
    expect(made).toBe(1);
    await destination.firstWrite;
    const lines = destination.text().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ requestId: 'r-1', message: 'slow client', token: '[redacted]', level: 'warn' });
    expect(lines).toHaveLength(2);
  });
});
