import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A replayed answer must be the first one byte for byte; jsonb reorders object keys, so the
 * stored response becomes the JSON text as it was sent.
 */
export class IdempotencyResponseText1764000200001 implements MigrationInterface {
  name = 'IdempotencyResponseText1764000200001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE whatsapp_idempotency_keys ALTER COLUMN response TYPE text USING response::text`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE whatsapp_idempotency_keys ALTER COLUMN response TYPE jsonb USING response::jsonb`);
  }
}
