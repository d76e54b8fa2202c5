import { Injectable, Module, type BeforeApplicationShutdown } from '@nestjs/common';
import request from 'supertest';
import { eventually } from '../support/eventually';
import { startTestApp, type TestApp } from '../support/test-app';

/** Holds the shutdown in its drain phase (where the dispatcher and subscriptions finish) until released. */
@Injectable()
class HeldShutdown implements BeforeApplicationShutdown {
  release!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));

  beforeApplicationShutdown(): Promise<void> {
    return this.released;
  }
}

@Module({ providers: [HeldShutdown] })
class HeldShutdownModule {}

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

describe('GET /health while the service shuts down', () => {
  it('answers 503 from the start of the shutdown, while the work in flight drains, and other routes still answer', async () => {
    const t = await startTestApp({ imports: [HeldShutdownModule] });
    try {
      await request(t.url).get('/health').expect(200);
      const closing = t.app.close();
      const res = await eventually(async () => {
        const answer = await request(t.url).get('/health');
        return answer.status === 503 ? answer : undefined;
      }, '/health to answer 503 once the shutdown began');
      expect(res.body).toMatchObject({ status: 'shutting_down', database: 'up', error: 'the service is shutting down' });
      await request(t.url).get('/metrics').expect(200);
      t.app.get(HeldShutdown).release();
      await closing;
    } finally {
      t.app.get(HeldShutdown).release();
      await t.database.drop();
    }
  });
});
