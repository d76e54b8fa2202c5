import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The dashboard: its sign-in sessions, and the message list's filters by phone number and by
 * discard code, keyset-ordered like the others so that a filtered page is an index range.
 */
export class Dashboard1764001500000 implements MigrationInterface {
  name = 'Dashboard1764001500000';

  async up(db: QueryRunner): Promise<void> {
    // The cookie holds a random id; only its SHA-256 is stored, so a copy of the table signs no one in.
    // app_id: the app a session acts as (for an admin, the one chosen last; null before a choice).
    await db.query(`
      CREATE TABLE dashboard_sessions (
        id_hash     text COLLATE "C" PRIMARY KEY,
        kind        text NOT NULL CHECK (kind IN ('app', 'admin')),
        app_id      text COLLATE "C",
        created_at  timestamptz NOT NULL DEFAULT now(),
        expires_at  timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at)`);
    await db.query(
      `CREATE INDEX message_status_view_app_phone ON message_status_view (app_id, phone_number, queued_at DESC, message_id DESC) WHERE phone_number IS NOT NULL`,
    );
    await db.query(
      `CREATE INDEX message_status_view_app_discard_code ON message_status_view (app_id, discard_code, queued_at DESC, message_id DESC) WHERE discard_code IS NOT NULL`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX message_status_view_app_discard_code`);
    await db.query(`DROP INDEX message_status_view_app_phone`);
    await db.query(`DROP TABLE dashboard_sessions`);
  }
}
