import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each app's callback tokens: the secret in the query of the Gupshup callback URL. A token is
 * kept twice: as its SHA-256, which the webhook compares against, and encrypted under
 * SECRET_KEY, so that the URL can be shown again. At most one token per app is current
 * (retired_at null); a rotated one keeps working for CALLBACK_TOKEN_GRACE_HOURS after retired_at.
 * Apps that exist already get their first token when the service starts (the key that encrypts
 * it is not known to SQL).
 *
 * apps.accept_legacy_callback_url: the app also accepts callbacks on the URL without a token.
 */
export class CallbackTokens1764000800000 implements MigrationInterface {
  name = 'CallbackTokens1764000800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE app_callback_tokens (
        id              bigserial PRIMARY KEY,
        app_id          uuid NOT NULL REFERENCES apps (id),
        token_hash      bytea NOT NULL,
        token_encrypted text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        retired_at      timestamptz,
        CONSTRAINT app_callback_tokens_hash_key UNIQUE (token_hash),
        CONSTRAINT app_callback_tokens_hash_length CHECK (octet_length(token_hash) = 32)
      )`);
    await db.query(`CREATE UNIQUE INDEX app_callback_tokens_current ON app_callback_tokens (app_id) WHERE retired_at IS NULL`);
    await db.query(`CREATE INDEX app_callback_tokens_by_app ON app_callback_tokens (app_id, retired_at)`);
    await db.query(`ALTER TABLE apps ADD COLUMN accept_legacy_callback_url boolean NOT NULL DEFAULT false`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE apps DROP COLUMN accept_legacy_callback_url`);
    await db.query(`DROP TABLE app_callback_tokens`);
  }
}
