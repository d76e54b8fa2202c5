import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * WhatsApp templates: each app's identifiers bound to a Gupshup template (its parameters and media
 * header), and the status of each Gupshup template as its template-events said (no row: unknown).
 * The status is kept per Gupshup template, not per identifier, so that one registered later, or
 * under a second identifier, knows it at once.
 */
export class WhatsAppTemplates1764001300000 implements MigrationInterface {
  name = 'WhatsAppTemplates1764001300000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE whatsapp_templates (
        app_id              text NOT NULL,
        identifier          text COLLATE "C" NOT NULL,
        gupshup_template_id text NOT NULL,
        -- texts with {{data.PATH}} and {{recipient.FIELD}} placeholders, in the template's order
        params              jsonb NOT NULL,
        -- {"type": "image" | "video" | "document", "url", "filename"?}
        header              jsonb,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (app_id, identifier)
      )`);
    await db.query(`
      CREATE TABLE whatsapp_template_statuses (
        app_id              text NOT NULL,
        gupshup_template_id text NOT NULL,
        status              text NOT NULL,
        reason              text,
        -- Gupshup's time of the template-event that set it: an older one arriving late changes nothing
        occurred_at         timestamptz NOT NULL,
        updated_at          timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (app_id, gupshup_template_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE whatsapp_template_statuses');
    await db.query('DROP TABLE whatsapp_templates');
  }
}
