import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Status webhooks to customers' systems: their endpoints, the message statuses the status-change
 * subscription has seen (to tell a rise from a repeat), every rise (for replay), and the
 * deliveries with their attempts, worked like dispatch jobs.
 */
export class Webhooks1764001000000 implements MigrationInterface {
  name = 'Webhooks1764001000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE webhook_endpoints (
        id               uuid PRIMARY KEY,
        app_id           text NOT NULL,
        url              text NOT NULL,
        -- NULL: every event type
        events           text[],
        description      text,
        enabled          boolean NOT NULL DEFAULT true,
        secret_encrypted text NOT NULL,
        disabled_reason  text,
        -- the first failure since the last success; NULL while healthy
        failing_since    timestamptz,
        last_success_at  timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX webhook_endpoints_app ON webhook_endpoints (app_id, created_at)`);

    await db.query(`
      CREATE TABLE webhook_message_states (
        message_id          text PRIMARY KEY,
        app_id              text NOT NULL,
        request_id          text,
        recipient           text,
        phone_number        text,
        status              text NOT NULL,
        provider_message_id text,
        discard_reason      jsonb,
        category            text,
        template            text
      )`);

    await db.query(`
      CREATE TABLE webhook_status_changes (
        seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        app_id      text NOT NULL,
        message_id  text NOT NULL,
        event_type  text NOT NULL,
        -- the change's own time (the provider's, for callbacks)
        at          timestamptz NOT NULL,
        body        text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX webhook_status_changes_app_at ON webhook_status_changes (app_id, at)`);

    await db.query(`
      CREATE TABLE webhook_deliveries (
        id                 uuid PRIMARY KEY,
        seq                bigint GENERATED ALWAYS AS IDENTITY,
        endpoint_id        uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        app_id             text NOT NULL,
        -- NULL for test events, which wait for nothing
        message_id         text,
        event_type         text NOT NULL,
        body               text NOT NULL,
        -- when the change it carries was committed: delivery lag is measured from here
        change_recorded_at timestamptz NOT NULL,
        state              text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'delivered', 'failed')),
        due_at             timestamptz NOT NULL DEFAULT now(),
        give_up_at         timestamptz NOT NULL,
        attempts           integer NOT NULL DEFAULT 0,
        lease_token        uuid,
        locked_until       timestamptz,
        last_status_code   integer,
        last_error         text,
        created_at         timestamptz NOT NULL DEFAULT now(),
        delivered_at       timestamptz,
        updated_at         timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, due_at, seq) WHERE state = 'pending'`);
    await db.query(`CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (locked_until) WHERE state = 'in_flight'`);
    // The order per message per endpoint: what is still ahead of a delivery.
    await db.query(
      `CREATE INDEX webhook_deliveries_open_by_message ON webhook_deliveries (endpoint_id, message_id, seq) WHERE state IN ('pending', 'in_flight')`,
    );
    await db.query(`CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, seq DESC)`);

    await db.query(`
      CREATE TABLE webhook_delivery_attempts (
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        attempt     integer NOT NULL,
        at          timestamptz NOT NULL,
        status_code integer,
        duration_ms integer NOT NULL,
        error       text,
        PRIMARY KEY (delivery_id, attempt)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE webhook_delivery_attempts`);
    await db.query(`DROP TABLE webhook_deliveries`);
    await db.query(`DROP TABLE webhook_status_changes`);
    await db.query(`DROP TABLE webhook_message_states`);
    await db.query(`DROP TABLE webhook_endpoints`);
  }
}
