import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The category and template of a send request on each of its messages, as filters of the message
 * list and dimensions of the daily statistics. Existing rows have neither (their requests could not
 * name one); a rebuild fills them from the events either way.
 */
export class MessageCategoryTemplate1764000900000 implements MigrationInterface {
  name = 'MessageCategoryTemplate1764000900000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE message_status_view ADD COLUMN category text COLLATE "C", ADD COLUMN template text COLLATE "C"`);
    await db.query(
      `CREATE INDEX message_status_view_app_category ON message_status_view (app_id, category, queued_at DESC, message_id DESC) WHERE category IS NOT NULL`,
    );
    await db.query(
      `CREATE INDEX message_status_view_app_template ON message_status_view (app_id, template, queued_at DESC, message_id DESC) WHERE template IS NOT NULL`,
    );

    // '' for none: both are part of the key, which cannot hold nulls.
    await db.query(`ALTER TABLE whatsapp_daily_stats ADD COLUMN category text COLLATE "C" NOT NULL DEFAULT '', ADD COLUMN template text COLLATE "C" NOT NULL DEFAULT ''`);
    await db.query(`ALTER TABLE whatsapp_daily_stats DROP CONSTRAINT whatsapp_daily_stats_pkey`);
    await db.query(`ALTER TABLE whatsapp_daily_stats ADD PRIMARY KEY (app_id, day, category, template)`);

    // What a request asked for, for GET /v3/notifications/{requestId}.
    await db.query(`ALTER TABLE notification_summary_view ADD COLUMN category text, ADD COLUMN notification json`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE notification_summary_view DROP COLUMN notification, DROP COLUMN category`);

    // Each day's counts summed over categories and templates, as the table held them before.
    await db.query(`CREATE TEMPORARY TABLE whatsapp_daily_totals ON COMMIT DROP AS
      SELECT app_id, day, sum(sent)::integer AS sent, sum(delivered)::integer AS delivered, sum(seen)::integer AS seen, sum(discarded)::integer AS discarded
        FROM whatsapp_daily_stats GROUP BY app_id, day`);
    await db.query(`TRUNCATE whatsapp_daily_stats`);
    await db.query(`ALTER TABLE whatsapp_daily_stats DROP CONSTRAINT whatsapp_daily_stats_pkey`);
    await db.query(`ALTER TABLE whatsapp_daily_stats DROP COLUMN template, DROP COLUMN category`);
    await db.query(`ALTER TABLE whatsapp_daily_stats ADD PRIMARY KEY (app_id, day)`);
    await db.query(`INSERT INTO whatsapp_daily_stats (app_id, day, sent, delivered, seen, discarded) SELECT * FROM whatsapp_daily_totals`);
    await db.query(`DROP TABLE whatsapp_daily_totals`);

    await db.query(`DROP INDEX message_status_view_app_template`);
    await db.query(`DROP INDEX message_status_view_app_category`);
    await db.query(`ALTER TABLE message_status_view DROP COLUMN template, DROP COLUMN category`);
  }
}
