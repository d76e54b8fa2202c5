import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Consent (suppressed numbers, when each number last wrote, the session-window switch) and
 * pricing (per message, and billable messages per day and pricing category). The consent tables
 * are written with the events that change them, in one transaction; the pricing ones are views
 * of the message projection, rebuilt with it.
 */
export class Consent1764001200000 implements MigrationInterface {
  name = 'Consent1764001200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE whatsapp_suppressions (
        app_id       text COLLATE "C" NOT NULL,
        phone_number text COLLATE "C" NOT NULL,
        reason       text COLLATE "C" NOT NULL,
        since        timestamptz NOT NULL,
        until        timestamptz,
        note         text,
        PRIMARY KEY (app_id, phone_number, reason)
      )`);
    await db.query(`
      CREATE TABLE whatsapp_customer_sessions (
        app_id          text COLLATE "C" NOT NULL,
        phone_number    text COLLATE "C" NOT NULL,
        last_inbound_at timestamptz NOT NULL,
        PRIMARY KEY (app_id, phone_number)
      )`);
    await db.query(`ALTER TABLE app_provider_configs ADD COLUMN enforce_session_window boolean NOT NULL DEFAULT false`);

    await db.query(`ALTER TABLE message_status_view ADD COLUMN pricing json`);
    await db.query(`
      CREATE TABLE whatsapp_daily_billable (
        app_id           text COLLATE "C" NOT NULL,
        day              date NOT NULL,
        -- The request's category and template ('' for none), as in whatsapp_daily_stats, for the same filters.
        category         text COLLATE "C" NOT NULL,
        template         text COLLATE "C" NOT NULL,
        -- Gupshup's pricing category ('' when no report named one).
        pricing_category text COLLATE "C" NOT NULL,
        billable         integer NOT NULL DEFAULT 0,
        PRIMARY KEY (app_id, day, category, template, pricing_category)
      )`);
    // Billing-events whose message the translator does not know yet (its send is read later).
    await db.query(`
      CREATE TABLE tracking_waiting_billing (
        callback_event_id  uuid NOT NULL,
        part_index         integer NOT NULL,
        app_id             text COLLATE "C" NOT NULL,
        gupshup_message_id text COLLATE "C" NOT NULL,
        pricing            json NOT NULL,
        occurred_at        timestamptz NOT NULL,
        received_at        timestamptz NOT NULL,
        PRIMARY KEY (callback_event_id, part_index)
      )`);
    await db.query(`CREATE INDEX tracking_waiting_billing_by_id ON tracking_waiting_billing (app_id, gupshup_message_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE tracking_waiting_billing`);
    await db.query(`DROP TABLE whatsapp_daily_billable`);
    await db.query(`ALTER TABLE message_status_view DROP COLUMN pricing`);
    await db.query(`ALTER TABLE app_provider_configs DROP COLUMN enforce_session_window`);
    await db.query(`DROP TABLE whatsapp_customer_sessions`);
    await db.query(`DROP TABLE whatsapp_suppressions`);
  }
}
