import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';

export interface EmbeddedTestServer {
  server: EmbeddedPostgresServer;
  dir: string;
}

/**
 * Tests run against a real PostgreSQL: the server named by DATABASE_URL when it is set,
 * otherwise an embedded one started here for the whole run. Each test file then creates
 * (and drops) databases of its own on it, see test-database.ts.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.TEST_ADMIN_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wa-test-pg-'));
  chmodSync(dir, 0o755); // the server runs as the postgres user when the tests run as root
  const server = new EmbeddedPostgresServer({ dataDir: join(dir, 'data') });
  process.env.TEST_ADMIN_DATABASE_URL = await server.start();
  (globalThis as { embeddedTestPostgres?: EmbeddedTestServer }).embeddedTestPostgres = { server, dir };
}
