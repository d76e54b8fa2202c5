import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The send requests of each workflow run's cancellation key (`notification.workflow.cancellationKey`
 * with its `workflow.identifier`), so that POST /v4/workflows/{identifier}/cancel-run finds them.
 */
export class CancellationKeys1764001300002 implements MigrationInterface {
  name = 'CancellationKeys1764001300002';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE whatsapp_cancellation_keys (
        app_id           text NOT NULL,
        workflow         text COLLATE "C" NOT NULL,
        cancellation_key text COLLATE "C" NOT NULL,
        request_id       uuid NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (app_id, workflow, cancellation_key, request_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE whatsapp_cancellation_keys');
  }
}
