import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each app's provider configuration. The provider's API key is stored only encrypted
 * (AES-256-GCM under SECRET_KEY); its last 4 characters are kept apart for display.
 * A disabled configuration may be incomplete, hence the nullable columns.
 */
export class AppProviderConfigs1764000100001 implements MigrationInterface {
  name = 'AppProviderConfigs1764000100001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE app_provider_configs (
        app_id            uuid NOT NULL REFERENCES apps (id),
        provider          text NOT NULL,
        enabled           boolean NOT NULL,
        api_key_encrypted text,
        api_key_last4     text,
        source            text,
        src_name          text,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (app_id, provider),
        CONSTRAINT app_provider_configs_enabled_complete
          CHECK (NOT enabled OR (api_key_encrypted IS NOT NULL AND source IS NOT NULL AND src_name IS NOT NULL))
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE app_provider_configs`);
  }
}
