import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The `failed` delivery events by stream, in every partition of the log. Each batch of receipts
 * the callback translator appends asks whether their messages had a failure the receipt overtakes
 * (src/whatsapp/tracking/translating/translate-batch.ts); through the streams' index that read
 * every event of every such stream, a heap row each, and doubled the drain of the ingestion
 * benchmark (bench/RESULTS.md, "2026-12-04"). Failures are few: this index is small, and the
 * question costs a probe per message, mostly finding nothing.
 */
export class FailedDeliveryIndex1764003100000 implements MigrationInterface {
  name = 'FailedDeliveryIndex1764003100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `CREATE INDEX es_events_failed_deliveries ON es_events (stream_id) WHERE event_type = 'DeliveryStatusChanged' AND (data->>'providerStatus') = 'failed'`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX es_events_failed_deliveries`);
  }
}
