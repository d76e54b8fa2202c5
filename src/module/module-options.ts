import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { AppConfig, ConfigError } from '../config/app-config';
import { configSchema, type AppConfigValues, type ConfigInput } from '../config/config.schema';

/** `GUPSHUP_API_BASE_URL` -> `gupshupApiBaseUrl`. */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}` : Lowercase<S>;

/**
 * Variables that have no meaning for a module inside another application, or that options
 * below replace: the host listens (PORT, HOST, SHUTDOWN_TIMEOUT_MS, TRUST_PROXY), `workers` and `http` say
 * what runs here (ROLES, SUBSCRIPTIONS_ENABLED), `schema` names the schema, the database is
 * the host's to give (no embedded server), and the host's logger writes the module's lines
 * (LOG_LEVEL, LOG_FORMAT). Each is refused by its camelCase name, saying why.
 */
const NOT_OPTIONS = [
  'ROLES',
  'PORT',
  'HOST',
  'SHUTDOWN_TIMEOUT_MS',
  'TRUST_PROXY',
  'SUBSCRIPTIONS_ENABLED',
  'DATABASE_SCHEMA',
  'EMBEDDED_POSTGRES_PORT',
  'LOG_LEVEL',
  'LOG_FORMAT',
] as const;

const NOT_OPTION_REASONS: Record<(typeof NOT_OPTIONS)[number], string> = {
  ROLES: 'workers and http say what runs in this application',
  PORT: 'the application listens: give the port to app.listen',
  HOST: 'the application listens: give the address to app.listen',
  SHUTDOWN_TIMEOUT_MS: 'the application decides how it shuts down (app.enableShutdownHooks, app.close)',
  TRUST_PROXY: "the application's server decides which proxies it trusts (new FastifyAdapter({ trustProxy }))",
  SUBSCRIPTIONS_ENABLED: 'workers says whether the subscriptions run in this application',
  DATABASE_SCHEMA: 'the option is schema',
  EMBEDDED_POSTGRES_PORT: 'the module starts no embedded PostgreSQL inside an application: give databaseUrl or dataSource',
  LOG_LEVEL:
    "the module writes its lines through the application's NestJS logger, which keeps or drops them: set the levels there (NestFactory.create(..., { logger: ['error', 'warn'] }) or your logger's own level)",
  LOG_FORMAT: "the application's logger formats every line, the module's included",
};
type SettingVariable = Exclude<keyof ConfigInput, (typeof NOT_OPTIONS)[number]>;

/** The settings of the Configuration table (README) by their camelCase names, e.g. `gupshupRateLimit`. */
export type WhatsAppNotifySettings = { [K in SettingVariable as CamelCase<K>]?: AppConfigValues[K] };

export interface WhatsAppNotifyModuleOptions extends WhatsAppNotifySettings {
  /** PostgreSQL connection URL; or `dataSource`. */
  databaseUrl?: string;
  /**
   * The host's TypeORM DataSource on PostgreSQL: the module connects to the same server and
   * database with the same credentials, through a small pool of its own whose connections use
   * the module's schema (so the host's connections and their search_path are never touched).
   */
  dataSource?: DataSource;
  /** The schema holding every table of the module; created if missing. Default `whatsapp_notify`. */
  schema?: string;
  /** Apply pending migrations (in `schema`) at start-up. Default true. */
  migrationsRun?: boolean;
  /** Mount the REST routes and Gupshup's webhook on the host's HTTP server (Fastify). Default true. */
  http?: boolean;
  /** Path the routes are mounted under, e.g. `whatsapp`: `/whatsapp/v3/notifications`. Default none. */
  routePrefix?: string;
  /** Run the dispatch workers and the event subscriptions (projections, events on the EventBus) in this process. Default true. */
  workers?: boolean;
}

/** The schema the module's tables live in when another application imports it. */
export const DEFAULT_MODULE_SCHEMA = 'whatsapp_notify';

function camelCase(variable: string): string {
  return variable.toLowerCase().replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

/** `port` -> why it is not an option (`schema`, an option, is not among them). */
const REFUSED: ReadonlyMap<string, string> = new Map(
  Object.entries(NOT_OPTION_REASONS)
    .filter(([variable]) => variable !== 'DATABASE_SCHEMA')
    .map(([variable, reason]) => [camelCase(variable), reason]),
);

const SETTINGS: ReadonlyMap<string, string> = new Map(
  Object.keys(configSchema.shape)
    .filter((variable) => !(NOT_OPTIONS as readonly string[]).includes(variable))
    .map((variable) => [camelCase(variable), variable]),
);

const OPTION_NAMES: Record<string, string> = { DATABASE_SCHEMA: 'schema', ...Object.fromEntries([...SETTINGS].map(([option, variable]) => [variable, option])) };

const isDataSource = (value: unknown): value is DataSource =>
  typeof value === 'object' && value !== null && typeof (value as DataSource).options === 'object' && typeof (value as DataSource).initialize === 'function';

/** The options that are not configuration variables. */
const ownOptionsSchema = z.object({
  dataSource: z.custom<DataSource>(isDataSource, 'dataSource must be a TypeORM DataSource').optional(),
  http: z.boolean({ error: 'http must be true or false' }).default(true),
  workers: z.boolean({ error: 'workers must be true or false' }).default(true),
  routePrefix: z
    .string({ error: 'routePrefix must be a path such as "whatsapp"' })
    .regex(/^\/*[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*\/*$/, 'routePrefix must be a path such as "whatsapp" or "api/whatsapp" (letters, digits, . _ ~ - and /)')
    .transform((prefix) => prefix.replace(/^\/+|\/+$/g, ''))
    .optional(),
});
const OWN_OPTIONS = new Set(Object.keys(ownOptionsSchema.shape));

/** What the module does besides its configuration: which parts run here. */
export interface ModuleRouting {
  http: boolean;
  routePrefix?: string;
}

/**
 * The ModuleRouting of the module inside a host application (global); absent in the standalone
 * service, which serves every route itself at the root.
 */
export const MODULE_ROUTING = Symbol('whatsapp-notify-module-routing');

/** Where a route of the module is: `/dashboard` under `routePrefix` `whatsapp` is `/whatsapp/dashboard`. */
export function mountedPath(routing: ModuleRouting | undefined, path: string): string {
  return routing?.routePrefix ? `/${routing.routePrefix}${path}` : path;
}

/** The option values as the configuration schema reads them: text, like the environment. */
function asVariableValue(value: unknown): unknown {
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

/**
 * Validates a host's options into the service's configuration. Throws a ConfigError whose message
 * is one line naming the option (unknown ones included).
 */
export function moduleConfig(options: WhatsAppNotifyModuleOptions): { config: AppConfig; routing: ModuleRouting } {
  const fail = (message: string): never => {
    throw new ConfigError(`Invalid WhatsAppNotifyModule options: ${message}`);
  };
  if (typeof options !== 'object' || options === null) fail('the options must be an object');
  const given = Object.entries(options).filter(([, value]) => value !== undefined);
  const unknown = given.find(([name]) => !SETTINGS.has(name) && !OWN_OPTIONS.has(name) && name !== 'schema');
  if (unknown && REFUSED.has(unknown[0])) fail(`"${unknown[0]}" is not an option of the module inside an application: ${REFUSED.get(unknown[0])}`);
  if (unknown) fail(`unknown option "${unknown[0]}" (the options are databaseUrl or dataSource, schema, migrationsRun, http, routePrefix, workers, and the settings of the configuration table by their camelCase names)`);

  const own = ownOptionsSchema.safeParse(Object.fromEntries(given.filter(([name]) => OWN_OPTIONS.has(name))));
  if (!own.success) fail(own.error.issues[0].message);
  const { dataSource, http, workers, routePrefix } = own.data!;

  const settings: Record<string, unknown> = { DATABASE_SCHEMA: DEFAULT_MODULE_SCHEMA };
  for (const [name, value] of given) {
    const variable = name === 'schema' ? 'DATABASE_SCHEMA' : SETTINGS.get(name);
    if (variable) settings[variable] = asVariableValue(value);
  }
  if (settings.DATABASE_URL === undefined && !dataSource) fail('databaseUrl or dataSource is required');
  if (settings.DATABASE_URL !== undefined && dataSource) fail('give databaseUrl or dataSource, not both');
  if (http && settings.PUBLIC_BASE_URL === undefined) {
    fail('publicBaseUrl is required with http: the address at which Gupshup reaches this application, used in callback URLs');
  }
  // Gupshup's callbacks come to the routes where they are mounted.
  if (routePrefix && typeof settings.PUBLIC_BASE_URL === 'string') settings.PUBLIC_BASE_URL = `${settings.PUBLIC_BASE_URL.replace(/\/+$/, '')}/${routePrefix}`;
  settings.ROLES = workers ? 'api,dispatch,subscriptions' : 'api';
  const config = AppConfig.fromSettings(settings, (variable) => OPTION_NAMES[variable] ?? variable, 'Invalid WhatsAppNotifyModule options', { dataSource });
  return { config, routing: { http, routePrefix } };
}
