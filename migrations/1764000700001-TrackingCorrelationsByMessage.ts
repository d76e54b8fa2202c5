import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A message's correlations by kind and id. Looking up a WhatsApp id also reads the Gupshup id its
 * message was sent with (the smallest, when there are several). With an index on message_id
 * alone, statistics taken while the table was small led the planner to walk the primary key
 * through every Gupshup id of the app instead (auto_explain: over 500 ms a lookup after 100,000
 * sends); this index answers that read exactly, whatever the statistics say.
 */
export class TrackingCorrelationsByMessage1764000700001 implements MigrationInterface {
  name = 'TrackingCorrelationsByMessage1764000700001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX tracking_correlations_by_message ON tracking_correlations (message_id, provider_id_kind, provider_id)`);
    await db.query(`DROP INDEX tracking_correlations_message`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX tracking_correlations_message ON tracking_correlations (message_id)`);
    await db.query(`DROP INDEX tracking_correlations_by_message`);
  }
}
