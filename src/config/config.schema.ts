import { isIP } from 'node:net';
import { z } from 'zod';

const port = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a port number (1-65535)` })
    .int(`${name} must be a whole port number (1-65535)`)
    .min(1, `${name} must be a port number (1-65535)`)
    .max(65535, `${name} must be a port number (1-65535)`);

const count = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a whole number from ${min} to ${max}` })
    .int(`${name} must be a whole number from ${min} to ${max}`)
    .min(min, `${name} must be a whole number from ${min} to ${max}`)
    .max(max, `${name} must be a whole number from ${min} to ${max}`);

/** Hours from 0 up (0: at once), fractions allowed. */
const hoursFromZero = (name: string, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number of hours from 0 to ${max} (fractions allowed, e.g. 0.5)` })
    .min(0, `${name} must be a number of hours from 0 to ${max} (fractions allowed, e.g. 0.5)`)
    .max(max, `${name} must be a number of hours from 0 to ${max} (fractions allowed, e.g. 0.5)`);

const bool = (name: string) =>
  z
    .enum(['true', 'false', '1', '0'], { error: `${name} must be true or false` })
    .transform((v) => v === 'true' || v === '1');

const hours = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a number of hours (fractions allowed), more than 0` })
    .positive(`${name} must be a number of hours (fractions allowed), more than 0`)
    .max(100000, `${name} must be at most 100000 hours`);

const httpUrl = (name: string) =>
  z
    .string()
    .refine((v) => /^https?:\/\/[^\s/]+/.test(v) && URL.canParse(v), `${name} must be an http:// or https:// URL`)
    .transform((v) => v.replace(/\/+$/, ''));

/** A DNS name: dot-separated labels of letters, digits, - and _ (not starting or ending with -), 253 characters at most. */
const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

const hostMessage = 'HOST must be an IP address or a host name to listen on, such as 127.0.0.1, 0.0.0.0, :: or localhost';

/** Where the service listens: an IPv4 or IPv6 address (without brackets), or a host name. */
const host = z.string().refine((value) => isIP(value) !== 0 || HOST_NAME.test(value), hostMessage);

/** The kinds of work one process can take on; ROLES picks a subset, all of them by default. */
export const ROLES = ['api', 'dispatch', 'subscriptions'] as const;
export type Role = (typeof ROLES)[number];

const rolesMessage = `ROLES must be a comma-separated list of ${ROLES.join(', ')}`;

/** "api, dispatch" -> ['api', 'dispatch']; an unknown or missing role is refused by name. */
const roles = z
  .string()
  .transform((value, context) => {
    const named = value.split(',').map((role) => role.trim().toLowerCase());
    const unknown = named.filter((role) => !(ROLES as readonly string[]).includes(role));
    if (named.some((role) => role === '') || unknown.length > 0) {
      context.addIssue({
        code: 'custom',
        message: unknown.some((role) => role !== '') ? `${rolesMessage} (unknown: ${unknown.filter((role) => role !== '').join(', ')})` : rolesMessage,
      });
      return z.NEVER;
    }
    return ROLES.filter((role) => named.includes(role));
  });

const trustProxyMessage =
  'TRUST_PROXY must be true, false, a number of proxy hops, or a comma-separated list of proxy addresses or CIDR ranges (loopback, linklocal and uniquelocal name the usual ranges)';

/**
 * Which proxies' X-Forwarded-For the access log believes (Fastify's trustProxy): `true` trusts
 * whatever connects (only right when a proxy is the only way in), a number trusts that many hops,
 * a list trusts those addresses.
 */
const trustProxy = z.string().transform((value, context): boolean | number | string => {
  const trimmed = value.trim();
  if (trimmed === 'true' || trimmed === 'false') return trimmed === 'true';
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const entries = trimmed.split(',').map((entry) => entry.trim());
  const valid = entries.every((entry) => ['loopback', 'linklocal', 'uniquelocal'].includes(entry) || /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry));
  if (trimmed === '' || !valid) {
    context.addIssue({ code: 'custom', message: trustProxyMessage });
    return z.NEVER;
  }
  return entries.join(',');
});

/** Every variable the service reads, with its default. Unknown variables are ignored. */
export const configSchema = z.object({
  ROLES: roles.default([...ROLES]),
  PORT: port('PORT').default(3000),
  TRUST_PROXY: trustProxy.default(false),
  HOST: host.default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v) && URL.canParse(v), 'DATABASE_URL must be a postgres:// connection URL')
    .optional(),
  DATABASE_READ_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v) && URL.canParse(v), 'DATABASE_READ_URL must be a postgres:// connection URL (a replica of DATABASE_URL)')
    .optional(),
  /** The PostgreSQL schema holding every table of the service (the search_path of its connections). */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'DATABASE_SCHEMA must be a schema name: lower-case letters, digits and _, not starting with a digit, at most 63 characters')
    .default('public'),
  /** Apply pending migrations at start-up; false: they must have been applied already (the start-up fails otherwise). */
  MIGRATIONS_RUN: bool('MIGRATIONS_RUN').default(true),
  EMBEDDED_POSTGRES_PORT: port('EMBEDDED_POSTGRES_PORT').optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters').optional(),
  PUBLIC_BASE_URL: httpUrl('PUBLIC_BASE_URL').optional(),
  GUPSHUP_API_BASE_URL: httpUrl('GUPSHUP_API_BASE_URL').default('https://api.gupshup.io'),
  SECRET_KEY: z
    .string()
    .refine(
      (v) => /^[0-9a-fA-F]{64}$/.test(v) || Buffer.from(v, 'base64').length === 32,
      'SECRET_KEY must be 32 bytes, written as 64 hex digits or in base64',
    )
    .optional(),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug'], { error: 'LOG_LEVEL must be one of error, warn, info, debug' }).default('info'),
  /** Unset: pretty on a terminal, json otherwise (decided where the output stream is known). */
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'LOG_FORMAT must be json or pretty' }).optional(),
  GUPSHUP_RATE_LIMIT: count('GUPSHUP_RATE_LIMIT', 0, 100000).default(20),
  GUPSHUP_TIMEOUT_MS: count('GUPSHUP_TIMEOUT_MS', 100, 120000).default(10000),
  DISPATCH_MAX_ATTEMPTS: count('DISPATCH_MAX_ATTEMPTS', 1, 100).default(6),
  DISPATCH_BACKOFF_MS: count('DISPATCH_BACKOFF_MS', 0, 86400000).default(1000),
  DISPATCH_WORKERS: count('DISPATCH_WORKERS', 0, 256).default(4),
  DISPATCH_BATCH_SIZE: count('DISPATCH_BATCH_SIZE', 1, 1000).default(100),
  DISPATCH_POLL_MS: count('DISPATCH_POLL_MS', 10, 60000).default(250),
  DISPATCH_LEASE_MS: count('DISPATCH_LEASE_MS', 100, 3600000).default(60000),
  SUBSCRIPTIONS_ENABLED: bool('SUBSCRIPTIONS_ENABLED').default(true),
  SUBSCRIPTION_POLL_MS: count('SUBSCRIPTION_POLL_MS', 10, 60000).default(200),
  SUBSCRIPTION_NOTIFY_DELAY_MS: count('SUBSCRIPTION_NOTIFY_DELAY_MS', 0, 10000).default(20),
  SUBSCRIPTION_BATCH_SIZE: count('SUBSCRIPTION_BATCH_SIZE', 1, 100000).default(1000),
  SUBSCRIPTION_PARTITIONS: count('SUBSCRIPTION_PARTITIONS', 1, 256).default(1),
  SUBSCRIPTION_LEASE_MS: count('SUBSCRIPTION_LEASE_MS', 300, 600000).default(10000),
  PROJECTION_REBUILD_BATCH_SIZE: count('PROJECTION_REBUILD_BATCH_SIZE', 1, 100000).default(10000),
  DATABASE_POOL_SIZE: count('DATABASE_POOL_SIZE', 2, 500).default(20),
  DATABASE_CONNECT_TIMEOUT_MS: count('DATABASE_CONNECT_TIMEOUT_MS', 100, 600000).default(5000),
  BODY_LIMIT_BYTES: count('BODY_LIMIT_BYTES', 1024, 50 * 1024 * 1024).default(1024 * 1024),
  WEBHOOK_BODY_LIMIT_BYTES: count('WEBHOOK_BODY_LIMIT_BYTES', 1024, 50 * 1024 * 1024).default(256 * 1024),
  CALLBACK_TOKEN_GRACE_HOURS: hoursFromZero('CALLBACK_TOKEN_GRACE_HOURS', 8760).default(24),
  CALLBACK_TOKEN_CACHE_TTL_MS: count('CALLBACK_TOKEN_CACHE_TTL_MS', 0, 600000).default(5000),
  WEBHOOK_BATCH_MAX_WAIT_MS: count('WEBHOOK_BATCH_MAX_WAIT_MS', 0, 1000).default(2),
  WEBHOOK_BATCH_MAX_SIZE: count('WEBHOOK_BATCH_MAX_SIZE', 1, 10000).default(256),
  WEBHOOK_BATCH_CONCURRENCY: count('WEBHOOK_BATCH_CONCURRENCY', 1, 100).default(2),
  NOT_ON_WHATSAPP_SUPPRESSION_DAYS: z.coerce
    .number({ error: 'NOT_ON_WHATSAPP_SUPPRESSION_DAYS must be a number of days from more than 0 to 3650 (fractions allowed, e.g. 0.5)' })
    .positive('NOT_ON_WHATSAPP_SUPPRESSION_DAYS must be a number of days from more than 0 to 3650 (fractions allowed, e.g. 0.5)')
    .max(3650, 'NOT_ON_WHATSAPP_SUPPRESSION_DAYS must be a number of days from more than 0 to 3650 (fractions allowed, e.g. 0.5)')
    .default(30),
  RAW_CALLBACK_RETENTION_DAYS: count('RAW_CALLBACK_RETENTION_DAYS', 1, 3650).default(30),
  MESSAGE_RETENTION_DAYS: count('MESSAGE_RETENTION_DAYS', 0, 36500).default(0),
  EVENT_LOG_PARTITION_DAYS: count('EVENT_LOG_PARTITION_DAYS', 1, 366).default(7),
  EVENT_ARCHIVE_DIR: z.string().min(1).optional(),
  INVALID_CALLBACKS_PER_HOUR: count('INVALID_CALLBACKS_PER_HOUR', 0, 10_000_000).default(1000),
  WEBHOOK_OUT_TIMEOUT_MS: count('WEBHOOK_OUT_TIMEOUT_MS', 100, 600000).default(5000),
  // Not 0: the delay doubles from it, and a failing endpoint would be retried without pause for hours.
  WEBHOOK_OUT_BACKOFF_MS: count('WEBHOOK_OUT_BACKOFF_MS', 10, 86400000).default(5000),
  WEBHOOK_OUT_MAX_BACKOFF_MS: count('WEBHOOK_OUT_MAX_BACKOFF_MS', 0, 86400000).default(3600000),
  WEBHOOK_OUT_RETRY_HOURS: hours('WEBHOOK_OUT_RETRY_HOURS').default(24),
  WEBHOOK_OUT_DISABLE_AFTER_HOURS: hours('WEBHOOK_OUT_DISABLE_AFTER_HOURS').default(72),
  WEBHOOK_OUT_ALLOW_PRIVATE: bool('WEBHOOK_OUT_ALLOW_PRIVATE').default(false),
  WEBHOOK_OUT_SECRET_GRACE_HOURS: hoursFromZero('WEBHOOK_OUT_SECRET_GRACE_HOURS', 8760).default(24),
  WEBHOOK_OUT_CONCURRENCY: count('WEBHOOK_OUT_CONCURRENCY', 0, 4096).default(256),
  WEBHOOK_OUT_ENDPOINT_CONCURRENCY: count('WEBHOOK_OUT_ENDPOINT_CONCURRENCY', 1, 1024).default(64),
  WEBHOOK_OUT_POLL_MS: count('WEBHOOK_OUT_POLL_MS', 10, 60000).default(250),
  SHUTDOWN_TIMEOUT_MS: count('SHUTDOWN_TIMEOUT_MS', 0, 600000).default(10000),
  CREDENTIAL_CHECK_TIMEOUT_MS: count('CREDENTIAL_CHECK_TIMEOUT_MS', 100, 600000).default(10000),
  DASHBOARD_SESSION_TTL_MINUTES: count('DASHBOARD_SESSION_TTL_MINUTES', 1, 10080).default(480),
}).superRefine((config, context) => {
  if (config.WEBHOOK_OUT_MAX_BACKOFF_MS < config.WEBHOOK_OUT_BACKOFF_MS) {
    context.addIssue({
      code: 'custom',
      path: ['WEBHOOK_OUT_MAX_BACKOFF_MS'],
      message: `WEBHOOK_OUT_MAX_BACKOFF_MS must be at least WEBHOOK_OUT_BACKOFF_MS (${config.WEBHOOK_OUT_BACKOFF_MS}), the first retry's delay`,
    });
  }
});

export type ConfigInput = z.input<typeof configSchema>;
export type AppConfigValues = z.output<typeof configSchema>;
