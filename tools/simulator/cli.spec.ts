import { CliUsageError, SIMULATOR_HELP, parseAppSpec, parseSimulatorArgs } from './cli';

describe('parseSimulatorArgs', () => {
  it('has defaults', () => {
    expect(parseSimulatorArgs([])).toEqual({
      help: false,
      port: 4010,
      host: '127.0.0.1',
      options: {
        apps: [],
        acceptAnyKey: false,
        reorder: false,
        duplicates: false,
        readWithoutDelivered: false,
        omitGsId: false,
        callbackBeforeResponse: false,
      },
    });
  });

  it('reads every flag', () => {
    const command = parseSimulatorArgs([
      '--port', '0', '--host', '0.0.0.0',
      '--app', 'key-a:917834811114:DemoAPI',
      '--app', 'key-b:14155550100:Acme:http://127.0.0.1:3000/api/v1/apps/abc/webhook/gupshup_whatsapp:v3',
      '--callback-url', 'http://127.0.0.1:3000/hook', '--format', 'v3', '--delay-ms', '250',
      '--reorder', '--duplicates', '--accept-any-key', '--omit-gsid', '--read-without-delivered', '--callback-before-response',
    ]);
    expect(command).toEqual({
      help: false,
      port: 0,
      host: '0.0.0.0',
      options: {
        apps: [
          { apiKey: 'key-a', source: '917834811114', srcName: 'DemoAPI' },
          { apiKey: 'key-b', source: '14155550100', srcName: 'Acme', callbackUrl: 'http://127.0.0.1:3000/api/v1/apps/abc/webhook/gupshup_whatsapp', callbackFormat: 'v3' },
        ],
        acceptAnyKey: true,
        reorder: true,
        duplicates: true,
        readWithoutDelivered: true,
        omitGsId: true,
        callbackBeforeResponse: true,
        defaultCallbackUrl: 'http://127.0.0.1:3000/hook',
        callbackFormat: 'v3',
        delayMs: 250,
      },
    });
  });

  it('asks for help', () => {
    expect(parseSimulatorArgs(['--help']).help).toBe(true);
    expect(parseSimulatorArgs(['-h']).help).toBe(true);
    expect(SIMULATOR_HELP).toContain('0-5 read, 6-7 delivered, 8 sent only, 9 failed');
  });

  it.each([[['--port', 'abc']], [['--port', '70000']], [['--format', 'v4']], [['--delay-ms', '-1']], [['--nope']], [['positional']], [['--app', 'only:two']]])(
    'rejects %j',
    (argv) => {
      expect(() => parseSimulatorArgs(argv)).toThrow(CliUsageError);
    },
  );
});

describe('parseAppSpec', () => {
  it.each([
    ['k:1:n', { apiKey: 'k', source: '1', srcName: 'n' }],
    ['k:1:n:v2', { apiKey: 'k', source: '1', srcName: 'n', callbackFormat: 'v2' }],
    ['k:1:n::v3', { apiKey: 'k', source: '1', srcName: 'n', callbackFormat: 'v3' }],
    ['k:1:n:https://hooks.test:8443/a?b=c', { apiKey: 'k', source: '1', srcName: 'n', callbackUrl: 'https://hooks.test:8443/a?b=c' }],
  ])('%s', (spec, expected) => {
    expect(parseAppSpec(spec)).toEqual(expected);
  });
});
