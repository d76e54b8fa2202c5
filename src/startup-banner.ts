import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { DataSource } from 'typeorm';
import { AdminToken, type AdminTokenSource } from './apps/admin/admin-token';
import { AppConfig } from './config/app-config';
import { ROLES, type Role } from './config/config.schema';
import { embeddedDataDir } from './database/database.module';
import { SERVICE_DATA_SOURCE } from './database/service-data-source';

export type DatabaseInUse =
  | { kind: 'embedded'; dataDir: string; host: string; port: number }
  /** DATABASE_URL's server and database; its user's password is never part of it. */
  | { kind: 'external'; host: string; port: number; database: string };

/** What start-up tells the person who started the service. No secret is part of it. */
export interface StartupFacts {
  /** Where this machine reaches the service. */
  url: string;
  publicBaseUrl: string;
  database: DatabaseInUse;
  gupshupApiBaseUrl: string;
  adminToken: AdminTokenSource;
  /** DATA_DIR, when it is not the default ./.data: commands run beside the service need it too. */
  dataDir?: string;
  /** ROLES, when this process does not run them all. */
  roles?: Role[];
}

/** How to reach a server bound to `host` from the same machine. */
export function localUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** A connection URL's server and database, without its user or password. */
export function describeDatabase(config: AppConfig, connectionUrl: string): DatabaseInUse {
  const url = new URL(connectionUrl);
  // ?host= (a Unix socket's directory, say) takes the place of the URL's host, as pg reads it.
  const host = url.searchParams.get('host') || url.hostname || 'localhost';
  const port = Number(url.port || url.searchParams.get('port') || 5432);
  if (config.usesEmbeddedDatabase) return { kind: 'embedded', dataDir: embeddedDataDir(config), host, port };
  return { kind: 'external', host, port, database: decodeURIComponent(url.pathname.slice(1)) || '(the default of its user)' };
}

/** The facts, read from a service that listens. */
export function startupFacts(app: INestApplication, config: AppConfig): StartupFacts {
  const address = app.getHttpServer().address() as AddressInfo;
  const url = localUrl(address.address, address.port);
  const connectionUrl = (app.get<DataSource>(SERVICE_DATA_SOURCE).options as { url: string }).url;
  const dataDir = resolve(config.get('DATA_DIR'));
  return {
    url,
    publicBaseUrl: config.get('PUBLIC_BASE_URL') ?? url,
    database: describeDatabase(config, connectionUrl),
    gupshupApiBaseUrl: config.get('GUPSHUP_API_BASE_URL'),
    adminToken: app.get(AdminToken).source,
    ...(dataDir === resolve('.data') ? {} : { dataDir }),
    ...(config.get('ROLES').length === ROLES.length ? {} : { roles: config.get('ROLES') }),
  };
}

function shellQuoted(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * The start-up banner: where the service answers, its docs, the database, where messages go,
 * and the admin token's origin (where a generated one is kept; the token itself is never
 * printed), with the commands that create a first app.
 */
export function startupBanner(facts: StartupFacts): string {
  const { database, adminToken } = facts;
  const databaseLine =
    database.kind === 'embedded'
      ? `  database:        embedded PostgreSQL on ${database.host}:${database.port}, data in ${database.dataDir}`
      : `  database:        PostgreSQL at ${database.host}:${database.port}, database ${database.database} (DATABASE_URL)`;
  if (facts.roles && !facts.roles.includes('api')) {
    return [
      `whatsapp-notify is running ${facts.roles.join(' and ')} (ROLES); no HTTP API here, only ${facts.url}/health and ${facts.url}/metrics`,
      databaseLine,
      `  Gupshup API:     ${facts.gupshupApiBaseUrl}`,
    ].join('\n');
  }
  const lines = [
    `whatsapp-notify is listening on ${facts.url}`,
    `  API docs:        ${facts.url}/docs (OpenAPI: ${facts.url}/docs-json)`,
    `  dashboard:       ${facts.url}/dashboard`,
    `  SDK baseUrl:     ${facts.url}/v3`,
    databaseLine,
    `  Gupshup API:     ${facts.gupshupApiBaseUrl}`,
    `  callbacks:       ${facts.publicBaseUrl}/api/v1/apps/{apiKey}/webhook/gupshup_whatsapp?token={callbackToken}`,
  ];
  if (facts.roles) lines.push(`  roles:           ${facts.roles.join(', ')} (ROLES): ${ROLES.filter((role) => !facts.roles!.includes(role)).join(' and ')} run elsewhere`);
  const cli = `${facts.dataDir ? `DATA_DIR=${shellQuoted(facts.dataDir)} ` : ''}npm run cli -- apps:create Acme`;
  const createApp = (bearer: string) => [
    'Create an app, to get the API key and secret the /v3 API needs:',
    `  curl -X POST ${facts.url}/admin/apps -H "Authorization: Bearer ${bearer}" -H 'Content-Type: application/json' -d '{"name": "Acme"}'`,
    `  ${cli}`,
  ];
  switch (adminToken.kind) {
    case 'file':
      lines.push(
        adminToken.created
          ? `  admin token:     generated now and kept in ${adminToken.path} (mode 0600; not printed)`
          : `  admin token:     reused from ${adminToken.path} (generated on an earlier start; not printed)`,
        ...createApp(`$(cat ${shellQuoted(adminToken.path)})`),
      );
      break;
    case 'env':
      lines.push('  admin token:     ADMIN_TOKEN, from the environment', ...createApp('$ADMIN_TOKEN'));
      break;
    case 'disabled':
      lines.push(
        '  admin API:       off (ADMIN_TOKEN is unset and the database is not the embedded one)',
        'Create an app with the same DATABASE_URL:',
        `  ${cli}`,
      );
      break;
  }
  return lines.join('\n');
}
