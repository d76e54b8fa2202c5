import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The read side of WhatsApp messages, built by the `whatsapp_message_views` subscription:
 * one row per message, a summary per send request, daily statistics and live status counts per app.
 */
export class WhatsAppProjections1764000400000 implements MigrationInterface {
  name = 'WhatsAppProjections1764000400000';

  async up(db: QueryRunner): Promise<void> {
    // Each column holds one field of the domain's MessageView, so that the row is the view:
    // the projection folds new events onto it without reading the stream again. The timeline and
    // last error are json, not jsonb: always written and read whole, never searched, and json
    // takes half the time to write and keeps the keys in the order the API shows them.
    // Identifiers compare byte by byte (COLLATE "C"): cheaper index upkeep than a locale, and
    // the message id only breaks ties in the keyset order, where any fixed order will do.
    await db.query(`
      CREATE TABLE message_status_view (
        message_id           text COLLATE "C" PRIMARY KEY,
        app_id               text COLLATE "C" NOT NULL,
        request_id           text COLLATE "C",
        recipient            text COLLATE "C",
        phone_number         text,
        provider_message_id  text,
        whatsapp_message_id  text,
        status               text COLLATE "C" NOT NULL,
        queued_at            timestamptz,
        sent_at              timestamptz,
        delivered_at         timestamptz,
        seen_at              timestamptz,
        discarded_at         timestamptz,
        discard_code         text,
        discard_reason       text,
        timeline             json NOT NULL,
        attempts             integer NOT NULL DEFAULT 0,
        last_error           json,
        updated_at           timestamptz NOT NULL DEFAULT now(),
        last_stream_position bigint NOT NULL
      )`);
    // Keyset pagination, newest first, with and without each filter.
    await db.query(`CREATE INDEX message_status_view_app_queued ON message_status_view (app_id, queued_at DESC, message_id DESC)`);
    await db.query(
      `CREATE INDEX message_status_view_app_status ON message_status_view (app_id, status, queued_at DESC, message_id DESC)`,
    );
    await db.query(
      `CREATE INDEX message_status_view_app_recipient ON message_status_view (app_id, recipient, queued_at DESC, message_id DESC)`,
    );
    await db.query(`CREATE INDEX message_status_view_request ON message_status_view (request_id, queued_at DESC, message_id DESC)`);

    await db.query(`
      CREATE TABLE notification_summary_view (
        request_id      text COLLATE "C" PRIMARY KEY,
        app_id          text COLLATE "C" NOT NULL,
        requested_at    timestamptz,
        first_queued_at timestamptz,
        -- The request's own time; the first message's until its NotificationRequested is read.
        created_at      timestamptz GENERATED ALWAYS AS (coalesce(requested_at, first_queued_at)) STORED,
        queued          integer NOT NULL DEFAULT 0,
        sent            integer NOT NULL DEFAULT 0,
        delivered       integer NOT NULL DEFAULT 0,
        seen            integer NOT NULL DEFAULT 0,
        discarded       integer NOT NULL DEFAULT 0,
        message_count   integer NOT NULL DEFAULT 0,
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX notification_summary_view_app_created ON notification_summary_view (app_id, created_at DESC)`);

    await db.query(`
      CREATE TABLE whatsapp_daily_stats (
        app_id    text COLLATE "C" NOT NULL,
        day       date NOT NULL,
        sent      integer NOT NULL DEFAULT 0,
        delivered integer NOT NULL DEFAULT 0,
        seen      integer NOT NULL DEFAULT 0,
        discarded integer NOT NULL DEFAULT 0,
        PRIMARY KEY (app_id, day)
      )`);

    await db.query(`
      CREATE TABLE whatsapp_message_status_counts (
        app_id   text COLLATE "C" NOT NULL,
        status   text COLLATE "C" NOT NULL,
        messages bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (app_id, status)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE whatsapp_message_status_counts`);
    await db.query(`DROP TABLE whatsapp_daily_stats`);
    await db.query(`DROP TABLE notification_summary_view`);
    await db.query(`DROP TABLE message_status_view`);
  }
}
