import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The rate limiter's slot of each send, on the database's clock, kept beside the attempt's start:
 * the limit holds at these times exactly, whereas at Gupshup a request held up longer than the
 * others (by the network, or a busy process) can arrive bunched with later ones. NULL for sends
 * made without a limit.
 */
export class DispatchRateSlots1764002600000 implements MigrationInterface {
  name = 'DispatchRateSlots1764002600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE whatsapp_dispatch_jobs ADD COLUMN rate_slot_at timestamptz');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE whatsapp_dispatch_jobs DROP COLUMN rate_slot_at');
  }
}
