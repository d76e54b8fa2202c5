import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A template message's job holds the template as it goes to Gupshup for its recipient (Gupshup's
 * template id, the parameters filled from the request's data and the recipient's profile, the
 * media header): they differ per recipient, unlike the rest of a request's content.
 */
export class DispatchJobTemplates1764001300001 implements MigrationInterface {
  name = 'DispatchJobTemplates1764001300001';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE whatsapp_dispatch_jobs ADD COLUMN template jsonb');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE whatsapp_dispatch_jobs DROP COLUMN template');
  }
}
