import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When each number's suppressions of each reason were last lifted (an opt-in, an operator's
 * DELETE), on the time of the lifting: a suppression older than that, arriving late (Gupshup
 * does not keep its callbacks in order), is not applied. Filled from the liftings already in the
 * contacts' streams.
 */
export class ConsentLiftings1764002800000 implements MigrationInterface {
  name = 'ConsentLiftings1764002800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE whatsapp_consent_liftings (
        app_id       text COLLATE "C" NOT NULL,
        phone_number text COLLATE "C" NOT NULL,
        reason       text COLLATE "C" NOT NULL,
        lifted_at    timestamptz NOT NULL,
        PRIMARY KEY (app_id, phone_number, reason)
      )`);
    // The stream type's partition of the log only.
    await db.query(`
      INSERT INTO whatsapp_consent_liftings (app_id, phone_number, reason, lifted_at)
      SELECT e.data->>'appId', e.data->>'phoneNumber', r.reason, max((e.data->>'at')::timestamptz)
        FROM es_events e CROSS JOIN LATERAL jsonb_array_elements_text(e.data->'reasons') AS r (reason)
       WHERE split_part(e.stream_id, '-', 1) = 'whatsapp_contact' AND e.event_type = 'WhatsAppSuppressionLifted'
       GROUP BY 1, 2, 3`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE whatsapp_consent_liftings`);
  }
}
