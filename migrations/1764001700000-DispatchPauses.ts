import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Apps whose WhatsApp dispatch is paused after an account-level failure (Gupshup 1003, 4001, ...):
 * one row per paused app, read by every dispatcher's claim, removed when the app is resumed.
 */
export class DispatchPauses1764001700000 implements MigrationInterface {
  name = 'DispatchPauses1764001700000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE whatsapp_dispatch_pauses (
        app_id     text PRIMARY KEY,
        since      timestamptz NOT NULL DEFAULT now(),
        code       text NOT NULL,
        reason     text NOT NULL,
        -- the message whose failure paused the app
        message_id uuid
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE whatsapp_dispatch_pauses`);
  }
}
