import type { MigrationInterface, QueryRunner } from 'typeorm';

/** User profiles, per app: the phone number in a column of its own, every other field as JSON. */
export class Users1764000100002 implements MigrationInterface {
  name = 'Users1764000100002';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE users (
        app_id       uuid NOT NULL REFERENCES apps (id),
        identifier   text NOT NULL,
        phone_number text,
        profile      jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (app_id, identifier)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE users`);
  }
}
