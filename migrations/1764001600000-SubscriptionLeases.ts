import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Leases on the partitions of subscriptions cut by stream (SUBSCRIPTION_PARTITIONS): which
 * instance runs which part, until when, and the instances that run subscriptions, each with the
 * last time it was heard from, so that the parts are shared out again as instances come and go.
 */
export class SubscriptionLeases1764001600000 implements MigrationInterface {
  name = 'SubscriptionLeases1764001600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE es_subscription_members (
        member_id   uuid PRIMARY KEY,
        description text NOT NULL,
        seen_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE es_subscription_leases (
        subscription text NOT NULL,
        partition    integer NOT NULL,
        member_id    uuid NOT NULL,
        expires_at   timestamptz NOT NULL,
        PRIMARY KEY (subscription, partition)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE es_subscription_leases');
    await db.query('DROP TABLE es_subscription_members');
  }
}
