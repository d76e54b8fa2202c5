import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Delivery tracking: which of our messages a Gupshup or WhatsApp id names (per app), the
 * callbacks that could not be applied yet (or ever), and the dispatches whose outcome was lost,
 * which a later callback for the same phone number may reconcile.
 */
export class DeliveryTracking1764000300000 implements MigrationInterface {
  name = 'DeliveryTracking1764000300000';

  async up(db: QueryRunner): Promise<void> {
    // Gupshup ids come from WhatsAppMessageSent events (the tracking subscription); WhatsApp ids
    // from callbacks that carry both ids, for late receipts that only carry the WhatsApp one.
    await db.query(`
      CREATE TABLE tracking_correlations (
        app_id           text NOT NULL,
        provider_id_kind text NOT NULL CHECK (provider_id_kind IN ('gupshup', 'whatsapp')),
        provider_id      text NOT NULL,
        message_id       text NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (app_id, provider_id_kind, provider_id)
      )`);
    await db.query(`CREATE INDEX tracking_correlations_message ON tracking_correlations (message_id)`);

    // 'waiting': a delivery report for an id no message of the app has (yet); applied and deleted
    // when the id becomes known. 'invalid': a JSON body that is no Gupshup callback we can read,
    // kept for operators and never applied.
    await db.query(`
      CREATE TABLE parked_callbacks (
        id                  bigserial PRIMARY KEY,
        app_id              text NOT NULL,
        state               text NOT NULL CHECK (state IN ('waiting', 'invalid')),
        format              text,
        provider_status     text,
        gupshup_message_id  text,
        whatsapp_message_id text,
        destination         text,
        report              jsonb,
        problem             text,
        raw_body            text NOT NULL,
        received_at         timestamptz NOT NULL,
        parked_at           timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE INDEX parked_callbacks_by_gupshup_id ON parked_callbacks (app_id, gupshup_message_id)
        WHERE state = 'waiting' AND gupshup_message_id IS NOT NULL`);
    await db.query(`
      CREATE INDEX parked_callbacks_by_whatsapp_id ON parked_callbacks (app_id, whatsapp_message_id)
        WHERE state = 'waiting' AND gupshup_message_id IS NULL`);
    await db.query(`
      CREATE INDEX parked_callbacks_by_destination ON parked_callbacks (app_id, destination, received_at)
        WHERE state = 'waiting' AND gupshup_message_id IS NOT NULL`);
    await db.query(`CREATE INDEX parked_callbacks_listing ON parked_callbacks (app_id, id)`);

    // One row per message whose send attempt ended without an answer, until a callback names it.
    await db.query(`
      CREATE TABLE tracking_unresolved_dispatches (
        message_id  text PRIMARY KEY,
        app_id      text NOT NULL,
        destination text NOT NULL,
        attempt     integer NOT NULL,
        started_at  timestamptz NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX tracking_unresolved_dispatches_destination ON tracking_unresolved_dispatches (app_id, destination)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE tracking_unresolved_dispatches`);
    await db.query(`DROP TABLE parked_callbacks`);
    await db.query(`DROP TABLE tracking_correlations`);
  }
}
