import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';
import { SLOW_MACHINE_ENV } from './slow-machine-env';

export interface TestRun {
  /** Everything the run writes outside the project: the embedded server and every test's temporary directories. */
  dir: string;
  server?: EmbeddedPostgresServer;
}

/**
 * Tests run against a real PostgreSQL: the server named by DATABASE_URL when it is set,
 * otherwise an embedded one started here for the whole run. Each test file then creates
 * (and drops) databases of its own on it, see test-database.ts.
 *
 * Every temporary directory of the run lives under one directory (TEST_TEMP_ROOT, see
 * temp-dirs.ts), removed with the server's cluster by the global teardown.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-test-'));
  // As root, the embedded server runs as the postgres user, which keeps its cluster in here.
  chmodSync(dir, 0o755);
  process.env.TEST_TEMP_ROOT = join(dir, 'tmp');
  mkdirSync(process.env.TEST_TEMP_ROOT);
  // Service processes that tests spawn inherit these (test workers are forked after this).
  for (const [name, value] of Object.entries(SLOW_MACHINE_ENV)) process.env[name] ??= value;
  const run: TestRun = { dir };
  (globalThis as { testRun?: TestRun }).testRun = run;

  if (process.env.DATABASE_URL) {
    process.env.TEST_ADMIN_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  run.server = new EmbeddedPostgresServer({
    dataDir: join(dir, 'postgres'),
    // As root, a copy of the server binaries goes here when the postgres user cannot reach the project's.
    rootRuntimeDir: dir,
    // A Ctrl-C that stops the run stops this server too.
    sameProcessGroup: true,
    settings: {
      // The tests need no crash safety, and a busy disk must not slow every commit down.
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      // Two test files at a time, each with services of their own pools, and the admin connections.
      max_connections: '300',
    },
  });
  process.env.TEST_ADMIN_DATABASE_URL = await run.server.start();
}
