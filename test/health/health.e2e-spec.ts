import request from 'supertest';
import { startTestApp, type TestApp } from '../support/test-app';

describe('GET /health', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('answers 200 with the database up and each subscription lag', async () => {
    const res = await request(t.url).get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', database: 'up' });
    expect(typeof res.body.projectionLag).toBe('object');
  });

  it('answers 503 when the database is unreachable', async () => {
    // Terminate this database's connections and forbid new ones, then restore them.
    const name = new URL(t.database.url).pathname.slice(1);
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      const res = await request(t.url).get('/health').expect(503);
      expect(res.body).toMatchObject({ status: 'error', database: 'down' });
    } finally {
      await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await request(t.url).get('/health').expect(200);
  });
});
