import { ConfigError } from '../config/app-config';
import { moduleConfig, type WhatsAppNotifyModuleOptions } from './module-options';

const base: WhatsAppNotifyModuleOptions = { databaseUrl: 'postgres://db.example/app', publicBaseUrl: 'https://shop.example' };

function failure(options: unknown): string {
  try {
    moduleConfig(options as WhatsAppNotifyModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the options were accepted');
}

describe('WhatsAppNotifyModule options', () => {
  it('reads the settings by their camelCase names, with the module defaults', () => {
    const { config, routing } = moduleConfig({ ...base, gupshupRateLimit: 5, webhookOutAllowPrivate: true, gupshupApiBaseUrl: 'http://127.0.0.1:9/' });
    expect(config.get('GUPSHUP_RATE_LIMIT')).toBe(5);
    expect(config.get('WEBHOOK_OUT_ALLOW_PRIVATE')).toBe(true);
    expect(config.get('GUPSHUP_API_BASE_URL')).toBe('http://127.0.0.1:9');
    expect(config.get('DATABASE_SCHEMA')).toBe('whatsapp_notify');
    expect(config.get('MIGRATIONS_RUN')).toBe(true);
    expect(config.get('ROLES')).toEqual(['api', 'dispatch', 'subscriptions']);
    expect(config.usesEmbeddedDatabase).toBe(false);
    expect(routing).toEqual({ http: true, routePrefix: undefined });
  });

  it('puts the route prefix into the callback URLs, and runs no workers when asked', () => {
    const { config, routing } = moduleConfig({ ...base, routePrefix: '/whatsapp/', workers: false, schema: 'notify', migrationsRun: false });
    expect(routing).toEqual({ http: true, routePrefix: 'whatsapp' });
    expect(config.publicBaseUrl).toBe('https://shop.example/whatsapp');
    expect(config.get('ROLES')).toEqual(['api']);
    expect(config.get('DATABASE_SCHEMA')).toBe('notify');
    expect(config.get('MIGRATIONS_RUN')).toBe(false);
  });

  it.each([
    [{ ...base, gupshupRateLimt: 5 }, /unknown option "gupshupRateLimt"/],
    [{ ...base, port: 3000 }, /"port" is not an option of the module inside an application: the application listens: give the port to app.listen$/],
    [{ ...base, embeddedPostgresPort: 5433 }, /"embeddedPostgresPort" is not an option .*: the module starts no embedded PostgreSQL/],
    [{ ...base, logLevel: 'error' }, /"logLevel" is not an option .*: the module writes its lines through the application's NestJS logger/],
    [{ ...base, gupshupRateLimit: -1 }, /gupshupRateLimit must be a whole number from 0 to 100000 \(got "-1"\)/],
    [{ ...base, schema: 'Bad-Schema' }, /schema must be a schema name/],
    [{ ...base, http: 'yes' }, /http must be true or false/],
    [{ ...base, routePrefix: 'a b' }, /routePrefix must be a path/],
    [{ ...base, dataSource: {} }, /give databaseUrl or dataSource|dataSource must be a TypeORM DataSource/],
    [{ publicBaseUrl: 'https://shop.example' }, /databaseUrl or dataSource is required/],
    [{ databaseUrl: 'postgres://db.example/app' }, /publicBaseUrl is required with http/],
    [{ ...base, databaseUrl: 'mysql://db' }, /databaseUrl must be a postgres:\/\/ connection URL$/],
    [{ ...base, secretKey: 'short' }, /secretKey must be 32 bytes/],
  ])('stops with one line naming the option: %j', (options, message) => {
    const text = failure(options);
    expect(text).toMatch(/^Invalid WhatsAppNotifyModule options: /);
    expect(text).toMatch(message);
    expect(text).not.toContain('\n');
    expect(text).not.toContain('short');
  });
});
