import { Injectable, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { readOrCreateSecretFile } from '../secret-file';

export const ADMIN_TOKEN_FILE = 'admin.token';

export type AdminTokenSource = { kind: 'env'; token: string } | { kind: 'file'; token: string; path: string } | { kind: 'disabled' };

/** 32 random bytes, URL-safe: 43 characters. */
export function generateAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * ADMIN_TOKEN when set. Otherwise, with the embedded database (the zero-configuration local
 * setup) a token generated once into {DATA_DIR}/admin.token and reused on every start; with an
 * external database the admin API stays off.
 */
export function resolveAdminToken(config: AppConfig): AdminTokenSource {
  const fromEnv = config.get('ADMIN_TOKEN');
  if (fromEnv) return { kind: 'env', token: fromEnv };
  if (!config.usesEmbeddedDatabase) return { kind: 'disabled' };
  const path = resolve(config.get('DATA_DIR'), ADMIN_TOKEN_FILE);
  const { value } = readOrCreateSecretFile(path, generateAdminToken);
  if (value.length < 16) throw new Error(`${path} must hold an admin token of at least 16 characters: delete the file to generate a new one, or set ADMIN_TOKEN`);
  return { kind: 'file', token: value, path };
}

/** How to reach a server bound to `host` from the same machine. */
function localUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * What the service prints at start-up when it generated the admin token itself: where the token
 * is kept, never the token (a secret does not belong in logs), and commands that read it from
 * there. The command line needs the running embedded database's address: without DATABASE_URL it
 * would try to start a second server on the same data directory, which the running one holds.
 */
export function adminTokenBanner(path: string, baseUrl: string, embeddedDatabaseUrl?: string): string {
  const quotedPath = `'${path.replaceAll("'", "'\\''")}'`;
  return [
    '',
    `Admin API token generated and kept in ${path} (mode 0600); it is not printed.`,
    'Create an app, to get the API key and secret the /v3 API needs:',
    `  curl -X POST ${baseUrl}/admin/apps -H "Authorization: Bearer $(cat ${quotedPath})" -H 'Content-Type: application/json' -d '{"name": "Acme"}'`,
    embeddedDatabaseUrl
      ? `  DATABASE_URL=${embeddedDatabaseUrl} npm run cli -- apps:create Acme    (or, with the service stopped: npm run cli -- apps:create Acme)`
      : '  npm run cli -- apps:create Acme',
    'Set ADMIN_TOKEN to choose the token yourself.',
    '',
  ].join('\n');
}

@Injectable()
export class AdminToken implements OnApplicationBootstrap {
  readonly source: AdminTokenSource;

  constructor(
    config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    @Optional() private readonly dataSource?: DataSource,
  ) {
    this.source = resolveAdminToken(config);
  }

  /**
   * Where the generated token is kept is printed (to stdout, once per start, once the server
   * listens, with its real address) because nobody else knows it is there: it is the user's own
   * credential for their local service. Commands (no HTTP server) print nothing.
   */
  onApplicationBootstrap(): void {
    const source = this.source;
    if (source.kind !== 'file') return;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    server.once('listening', () => {
      const address = server.address() as AddressInfo | null;
      if (!address || typeof address !== 'object') return;
      const databaseUrl = (this.dataSource?.options as { url?: string } | undefined)?.url;
      process.stdout.write(`${adminTokenBanner(source.path, localUrl(address.address, address.port), databaseUrl)}\n`);
    });
  }
}
