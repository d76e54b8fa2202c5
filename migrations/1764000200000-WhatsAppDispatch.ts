import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sending: what each notification request asks Gupshup to send, one dispatch job per queued
 * message (the outbox the dispatcher claims from), the idempotency keys of POST /v3/notifications,
 * and the shared table of the per-app rate limiter (rate-limiter-flexible's RateLimiterPostgres layout).
 */
export class WhatsAppDispatch1764000200000 implements MigrationInterface {
  name = 'WhatsAppDispatch1764000200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE whatsapp_dispatch_requests (
        request_id  uuid PRIMARY KEY,
        app_id      text NOT NULL,
        -- text, Gupshup override without _config, config override; an API_KEY override only encrypted
        content     jsonb NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE whatsapp_dispatch_jobs (
        message_id          uuid PRIMARY KEY,
        app_id              text NOT NULL,
        request_id          uuid NOT NULL REFERENCES whatsapp_dispatch_requests (request_id),
        destination         text NOT NULL,
        state               text NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'in_flight', 'sent', 'discarded', 'outcome_unknown')),
        due_at              timestamptz NOT NULL,
        -- calls to Gupshup whose outcome is recorded; the call in flight is number attempts + 1
        attempts            integer NOT NULL DEFAULT 0,
        lease_token         uuid,
        locked_until        timestamptz,
        attempt_started_at  timestamptz,
        provider_message_id text,
        last_error          text,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX whatsapp_dispatch_jobs_due ON whatsapp_dispatch_jobs (due_at) WHERE state = 'pending'`);
    await db.query(`CREATE INDEX whatsapp_dispatch_jobs_leases ON whatsapp_dispatch_jobs (locked_until) WHERE state = 'in_flight'`);
    await db.query(
      `CREATE INDEX whatsapp_dispatch_jobs_unknown ON whatsapp_dispatch_jobs (app_id, destination, attempt_started_at) WHERE state = 'outcome_unknown'`,
    );
    await db.query(`CREATE INDEX whatsapp_dispatch_jobs_request ON whatsapp_dispatch_jobs (request_id)`);
    await db.query(`
      CREATE TABLE whatsapp_idempotency_keys (
        app_id       text NOT NULL,
        key          text NOT NULL,
        body_hash    text NOT NULL,
        status_code  integer,
        response     jsonb,
        created_at   timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz NOT NULL,
        PRIMARY KEY (app_id, key)
      )`);
    await db.query(`CREATE INDEX whatsapp_idempotency_keys_expiry ON whatsapp_idempotency_keys (expires_at)`);
    await db.query(`
      CREATE TABLE whatsapp_rate_limits (
        key     varchar(255) PRIMARY KEY,
        points  integer NOT NULL DEFAULT 0,
        expire  bigint
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE whatsapp_rate_limits`);
    await db.query(`DROP TABLE whatsapp_idempotency_keys`);
    await db.query(`DROP TABLE whatsapp_dispatch_jobs`);
    await db.query(`DROP TABLE whatsapp_dispatch_requests`);
  }
}
