import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { GIVE_UP_AFTER_MS } from '../support/eventually';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { TEST_SECRET_KEY } from '../support/test-app';

const root = join(__dirname, '..', '..');

describe('npm run migration:run / migration:revert', () => {
  let database: TestDatabase;
  beforeAll(async () => (database = await createTestDatabase({ migrate: false })));
  afterAll(() => database.drop());

  const run = (script: string) =>
    spawnSync('npm', ['run', '-s', script], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: database.url, SECRET_KEY: TEST_SECRET_KEY },
      encoding: 'utf8',
      timeout: GIVE_UP_AFTER_MS, // only ends a command that hangs
    });

  const names = async (sql: string) => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<{ name: string }>(sql)).rows.map((r) => r.name);
    } finally {
      await client.end();
    }
  };
  const tables = () => names("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
  const functions = () => names("SELECT proname AS name FROM pg_proc WHERE pronamespace = 'public'::regnamespace");
  const lastMigration = async () => (await names('SELECT name FROM schema_migrations ORDER BY timestamp DESC LIMIT 1'))[0];
  const lastMigrations = (count: number) => names(`SELECT name FROM schema_migrations ORDER BY timestamp DESC LIMIT ${count}`);

  it('applies every migration to an empty database, then undoes the last one', async () => {
    const applied = run('migration:run');
    expect(applied.status).toBe(0);
    expect(applied.stdout).toContain('EventStore1764000000000');
    expect(await tables()).toEqual(expect.arrayContaining(['es_events', 'es_streams', 'es_subscriptions', 'message_status_view']));

    expect(await functions()).toContain('es_append_many');

    const last = await lastMigration();
    const reverted = run('migration:revert');
    expect(reverted.status).toBe(0);
    expect(reverted.stdout).toContain(`reverted ${last}`);
    expect(await lastMigration()).not.toBe(last);
    expect(await tables()).toContain('es_events');
  });

  it('undoes one migration more at each revert, and applies them again', async () => {
    expect(run('migration:run').status).toBe(0);
    const [last, beforeIt, third] = await lastMigrations(3);
    for (const name of [last, beforeIt]) {
      const reverted = run('migration:revert');
      expect(reverted.status).toBe(0);
      expect(reverted.stdout).toContain(`reverted ${name}`);
    }
    expect(await lastMigration()).toBe(third);

    const applied = run('migration:run');
    expect(applied.status).toBe(0);
    expect(await lastMigrations(2)).toEqual([last, beforeIt]);
    expect(await functions()).toContain('es_append_many');
  });
});
