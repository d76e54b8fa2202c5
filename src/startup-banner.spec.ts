import { AppConfig } from './config/app-config';
import { describeDatabase, localUrl, startupBanner, type StartupFacts } from './startup-banner';

const base: StartupFacts = {
  url: 'http://127.0.0.1:3000',
  publicBaseUrl: 'https://notify.example.com',
  database: { kind: 'external', host: 'db.internal', port: 5433, database: 'notify' },
  gupshupApiBaseUrl: 'http://127.0.0.1:4010',
  adminToken: { kind: 'disabled' },
};

describe('start-up banner', () => {
  it("names DATABASE_URL's server and database, never its user or password", () => {
    const config = AppConfig.fromEnv({ DATABASE_URL: 'postgres://notifier:s3cret-pass@db.internal:5433/notify' });
    const database = describeDatabase(config, config.get('DATABASE_URL')!);
    expect(database).toEqual({ kind: 'external', host: 'db.internal', port: 5433, database: 'notify' });
    const banner = startupBanner({ ...base, database });
    expect(banner).toContain('database:        PostgreSQL at db.internal:5433, database notify (DATABASE_URL)');
    expect(banner).not.toContain('s3cret-pass');
    expect(banner).not.toContain('notifier');
  });

  it('names the default port and a Unix-socket host of DATABASE_URL', () => {
    const config = AppConfig.fromEnv({ DATABASE_URL: 'postgres://u@localhost/notify?host=/var/run/postgresql' });
    expect(describeDatabase(config, config.get('DATABASE_URL')!)).toEqual({ kind: 'external', host: '/var/run/postgresql', port: 5432, database: 'notify' });
  });

  it('names the URL, /docs, the SDK baseUrl, the Gupshup API and where callbacks go', () => {
    const banner = startupBanner(base);
    expect(banner.split('\n')[0]).toBe('whatsapp-notify is listening on http://127.0.0.1:3000');
    expect(banner).toContain('API docs:        http://127.0.0.1:3000/docs');
    expect(banner).toContain('dashboard:       http://127.0.0.1:3000/dashboard');
    expect(banner).toContain('SDK baseUrl:     http://127.0.0.1:3000/v3');
    expect(banner).toContain('Gupshup API:     http://127.0.0.1:4010');
    expect(banner).toContain('callbacks:       https://notify.example.com/api/v1/apps/{apiKey}/webhook/gupshup_whatsapp?token={callbackToken}');
  });

  it('says which roles run elsewhere, and that a worker has no HTTP API', () => {
    expect(startupBanner({ ...base, roles: ['api'] })).toContain('roles:           api (ROLES): dispatch and subscriptions run elsewhere');
    const worker = startupBanner({ ...base, roles: ['dispatch', 'subscriptions'] });
    expect(worker.split('\n')[0]).toBe(
      'whatsapp-notify is running dispatch and subscriptions (ROLES); no HTTP API here, only http://127.0.0.1:3000/health and http://127.0.0.1:3000/metrics',
    );
    expect(worker).not.toContain('/docs');
    expect(startupBanner(base)).not.toContain('roles:');
  });

  it('says the admin API is off, and how to create an app without it', () => {
    const banner = startupBanner(base);
    expect(banner).toContain('admin API:       off');
    expect(banner).toContain('npm run cli -- apps:create Acme');
  });

  it('never prints a token that came from ADMIN_TOKEN', () => {
    const banner = startupBanner({ ...base, adminToken: { kind: 'env', token: 'from-the-environment-123' } });
    expect(banner).toContain('admin token:     ADMIN_TOKEN, from the environment');
    expect(banner).toContain('Authorization: Bearer $ADMIN_TOKEN');
    expect(banner).not.toContain('from-the-environment-123');
  });

  it('quotes a token path that the shell would split', () => {
    const banner = startupBanner({
      ...base,
      dataDir: "/tmp/my data/it's",
      adminToken: { kind: 'file', token: 'generated-token-0123456789', path: "/tmp/my data/it's/admin.token", created: true },
    });
    expect(banner).toContain(`$(cat '/tmp/my data/it'\\''s/admin.token')`);
    expect(banner).toContain(`DATA_DIR='/tmp/my data/it'\\''s' npm run cli -- apps:create Acme`);
    expect(banner).not.toContain('generated-token-0123456789');
  });

  it('reaches a service bound to every address through the loopback one', () => {
    expect(localUrl('0.0.0.0', 3000)).toBe('http://127.0.0.1:3000');
    expect(localUrl('::1', 3000)).toBe('http://[::1]:3000');
  });
});
