import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
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
      timeout: 60000,
    });

  const tables = async () => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")).rows.map((r) => r.t);
    } finally {
      await client.end();
    }
  };

  it('applies every migration to an empty database, then undoes the last one', async () => {
    const applied = run('migration:run');
    expect(applied.status).toBe(0);
    expect(applied.stdout).toContain('EventStore1764000000000');
    expect(await tables()).toEqual(expect.arrayContaining(['es_events', 'es_streams', 'es_subscriptions', 'message_status_view']));

    const reverted = run('migration:revert');
    expect(reverted.status).toBe(0);
    expect(reverted.stdout).toMatch(/^reverted WhatsAppProjections\d+$/m);
    expect(await tables()).not.toContain('message_status_view');
    expect(await tables()).toContain('es_events');
  });
});
