import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-app rate limit keeps one "theoretical arrival time" per app (GCRA), advanced on the
 * database's clock; it replaces the fixed-window table, whose windows were stamped with each
 * instance's own clock (see docs/dispatch-policy.md).
 */
export class RateBuckets1764000200002 implements MigrationInterface {
  name = 'RateBuckets1764000200002';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE whatsapp_rate_limits`);
    await db.query(`
      CREATE TABLE whatsapp_rate_buckets (
        key  text PRIMARY KEY,
        -- when the bucket is empty again: each send pushes it on by 1/limit seconds
        tat  timestamptz NOT NULL
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE whatsapp_rate_buckets`);
    await db.query(`
      CREATE TABLE whatsapp_rate_limits (
        key     varchar(255) PRIMARY KEY,
        points  integer NOT NULL DEFAULT 0,
        expire  bigint
      )`);
  }
}
