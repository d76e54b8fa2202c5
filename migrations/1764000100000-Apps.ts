import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tenants. Only a slow hash of each app's secret is kept (`scrypt$N$r$p$salt$hash`, the cost
 * parameters stored with it so that they can be raised later without breaking old apps).
 */
export class Apps1764000100000 implements MigrationInterface {
  name = 'Apps1764000100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE apps (
        id          uuid PRIMARY KEY,
        name        text NOT NULL,
        api_key     text NOT NULL,
        secret_hash text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT apps_api_key_key UNIQUE (api_key)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE apps`);
  }
}
