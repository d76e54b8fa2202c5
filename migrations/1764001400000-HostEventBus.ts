import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the subscription that publishes on a host application's EventBus knows of each message:
 * its status as far as the log has been published, to tell a rise from a repeat.
 */
export class HostEventBus1764001400000 implements MigrationInterface {
  name = 'HostEventBus1764001400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE event_bus_message_states (
        message_id     text PRIMARY KEY,
        app_id         text NOT NULL,
        request_id     text,
        recipient      text,
        status         text NOT NULL,
        discard_reason jsonb
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE event_bus_message_states`);
  }
}
