import { AppConfig, ConfigError } from './app-config';

describe('AppConfig', () => {
  it('applies the defaults of API.md', () => {
    const config = AppConfig.fromEnv({});
    expect(config.get('PORT')).toBe(3000);
    expect(config.get('HOST')).toBe('127.0.0.1');
    expect(config.get('GUPSHUP_API_BASE_URL')).toBe('https://api.gupshup.io');
    expect(config.get('GUPSHUP_RATE_LIMIT')).toBe(20);
    expect(config.get('DISPATCH_MAX_ATTEMPTS')).toBe(6);
    expect(config.get('DISPATCH_BACKOFF_MS')).toBe(1000);
    expect(config.get('LOG_LEVEL')).toBe('info');
    expect(config.usesEmbeddedDatabase).toBe(true);
    expect(config.publicBaseUrl).toBe('http://127.0.0.1:3000');
  });

  it('reads typed values and treats empty strings as unset', () => {
    const config = AppConfig.fromEnv({ PORT: '8080', GUPSHUP_RATE_LIMIT: '0', PUBLIC_BASE_URL: 'https://wa.example.com/', DATABASE_URL: '' });
    expect(config.get('PORT')).toBe(8080);
    expect(config.get('GUPSHUP_RATE_LIMIT')).toBe(0);
    expect(config.publicBaseUrl).toBe('https://wa.example.com');
    expect(config.usesEmbeddedDatabase).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, /PORT must be a port number/],
    [{ PORT: '70000' }, /PORT must be a port number/],
    [{ LOG_LEVEL: 'verbose' }, /LOG_LEVEL must be one of error, warn, info, debug/],
    [{ LOG_FORMAT: 'text' }, /LOG_FORMAT must be json or pretty/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be a postgres:\/\/ connection URL/],
    [{ GUPSHUP_API_BASE_URL: 'api.gupshup.io' }, /GUPSHUP_API_BASE_URL must be an http/],
    [{ DISPATCH_MAX_ATTEMPTS: '0' }, /DISPATCH_MAX_ATTEMPTS must be a whole number from 1 to 100/],
    [{ SECRET_KEY: 'short' }, /SECRET_KEY must be 32 bytes/],
    [{ ROLES: 'api,workers' }, /ROLES must be a comma-separated list of api, dispatch, subscriptions \(unknown: workers\)/],
    [{ ROLES: 'api,,dispatch' }, /ROLES must be a comma-separated list of api, dispatch, subscriptions/],
    [{ TRUST_PROXY: 'yes' }, /TRUST_PROXY must be true, false, a number of proxy hops, or a comma-separated list/],
    [{ TRUST_PROXY: '10.0.0.0/8,,loopback' }, /TRUST_PROXY must be/],
    [{ HOST: 'not..a..host' }, /HOST must be an IP address or a host name to listen on, such as 127\.0\.0\.1, 0\.0\.0\.0, :: or localhost \(got "not\.\.a\.\.host"\)/],
    [{ HOST: '[::1]' }, /HOST must be an IP address or a host name/],
    [{ HOST: 'http://example.com' }, /HOST must be an IP address or a host name/],
    [{ HOST: '-leading-dash' }, /HOST must be an IP address or a host name/],
    [{ WEBHOOK_OUT_BACKOFF_MS: '0' }, /WEBHOOK_OUT_BACKOFF_MS must be a whole number from 10 to 86400000/],
    [{ WEBHOOK_OUT_MAX_BACKOFF_MS: '100' }, /WEBHOOK_OUT_MAX_BACKOFF_MS must be at least WEBHOOK_OUT_BACKOFF_MS \(5000\), the first retry's delay \(got "100"\)/],
  ])('stops with one line naming the variable: %j', (env, message) => {
    let error: unknown;
    try {
      AppConfig.fromEnv(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it.each(['0.0.0.0', '127.0.0.1', '::', '::1', 'fe80::1%eth0', 'localhost', 'notify.internal', 'notify.internal.', 'notify_api'])('accepts HOST=%s', (value) => {
    expect(AppConfig.fromEnv({ HOST: value }).get('HOST')).toBe(value);
  });

  it('reads TRUST_PROXY as a switch, a number of hops or a list of proxies', () => {
    expect(AppConfig.fromEnv({}).get('TRUST_PROXY')).toBe(false);
    expect(AppConfig.fromEnv({ TRUST_PROXY: 'true' }).get('TRUST_PROXY')).toBe(true);
    expect(AppConfig.fromEnv({ TRUST_PROXY: '2' }).get('TRUST_PROXY')).toBe(2);
    expect(AppConfig.fromEnv({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).get('TRUST_PROXY')).toBe('loopback,10.0.0.0/8');
  });

  it('runs every role unless ROLES names some', () => {
    const all = AppConfig.fromEnv({});
    expect(['api', 'dispatch', 'subscriptions'].map((role) => all.runs(role as 'api'))).toEqual([true, true, true]);
    const worker = AppConfig.fromEnv({ ROLES: ' Subscriptions , dispatch,dispatch' });
    expect(worker.get('ROLES')).toEqual(['dispatch', 'subscriptions']);
    expect(worker.runs('api')).toBe(false);
    expect(worker.runs('dispatch')).toBe(true);
  });

  it('never echoes a secret value back', () => {
    expect(() => AppConfig.fromEnv({ ADMIN_TOKEN: 'tiny-secret' })).toThrow(/ADMIN_TOKEN must be at least 16 characters$/);
    expect(() => AppConfig.fromEnv({ ADMIN_TOKEN: 'tiny-secret' })).not.toThrow(/tiny-secret/);
  });
});
