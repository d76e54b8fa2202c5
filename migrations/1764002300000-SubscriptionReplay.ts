import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where a subscription had got to when it was rewound: the batches up to there are processed a
 * second time, and their handler is told so (a handler may then replace what it derived the
 * first time instead of adding to it). Cleared by the checkpoint write that passes it.
 */
export class SubscriptionReplay1764002300000 implements MigrationInterface {
  name = 'SubscriptionReplay1764002300000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE es_subscriptions ADD COLUMN replay_until_transaction_id xid8, ADD COLUMN replay_until_global_position bigint`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE es_subscriptions DROP COLUMN replay_until_transaction_id, DROP COLUMN replay_until_global_position`);
  }
}
