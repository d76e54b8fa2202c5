import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The pause a pending job was last logged as held by (its `whatsapp_dispatch_pauses.since`), so
 * that each message a pause holds gets one log line per pause, whichever instance writes it and
 * however often the housekeeping looks. NULL for a job never held.
 */
export class DispatchPauseHeldLines1764003000000 implements MigrationInterface {
  name = 'DispatchPauseHeldLines1764003000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE whatsapp_dispatch_jobs ADD COLUMN held_by_pause_since timestamptz');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE whatsapp_dispatch_jobs DROP COLUMN held_by_pause_since');
  }
}
