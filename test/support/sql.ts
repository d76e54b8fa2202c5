import { Pool } from 'pg';
import { Database } from '../../src/database/database';
import { EventStore } from '../../src/event-store';
import { createTestDatabase, type TestDatabase } from './test-database';

export interface StoreFixture {
  database: TestDatabase;
  pool: Pool;
  db: Database;
  store: EventStore;
  close(): Promise<void>;
}

/** A migrated database of its own with a pool, a Database and an EventStore on it. */
export async function createStoreFixture(poolSize = 20): Promise<StoreFixture> {
  const database = await createTestDatabase();
  const pool = new Pool({ connectionString: database.url, max: poolSize });
  const db = new Database(pool);
  return {
    database,
    pool,
    db,
    store: new EventStore(db),
    async close() {
      await pool.end();
      await database.drop();
    },
  };
}
