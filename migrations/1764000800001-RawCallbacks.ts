import type { MigrationInterface, QueryRunner } from 'typeorm';
import { TrackingAppendReports1764000700000 } from './1764000700000-TrackingAppendReports';

/**
 * Callbacks are recorded raw (GupshupCallbackReceived events) and translated by one ordered
 * reader, the only writer of correlations and parked callbacks:
 * - tracking_append_reports, the webhook's second write path, goes;
 * - a parked row references the raw callback it came from (its part of it, unique, so that
 *   translating a callback again parks nothing twice) instead of copying its body, carries
 *   whether that callback was authenticated, and how many parts of it were left unapplied (the
 *   expiry removes a raw callback only when none of it was ever applied);
 * - the old tracking subscription's checkpoint goes: the translator reads from the start.
 */
export class RawCallbacks1764000800001 implements MigrationInterface {
  name = 'RawCallbacks1764000800001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION tracking_append_reports`);
    await db.query(`ALTER TABLE parked_callbacks ALTER COLUMN raw_body DROP NOT NULL`);
    await db.query(`
      ALTER TABLE parked_callbacks
        ADD COLUMN callback_event_id uuid,
        ADD COLUMN part_index        integer,
        ADD COLUMN unapplied_parts   integer,
        ADD COLUMN authenticated     boolean NOT NULL DEFAULT false`);
    // 'ignored': a callback of a kind not tracked, kept only until RAW_CALLBACK_RETENTION_DAYS.
    await db.query(`ALTER TABLE parked_callbacks DROP CONSTRAINT parked_callbacks_state_check`);
    await db.query(`ALTER TABLE parked_callbacks ADD CONSTRAINT parked_callbacks_state_check CHECK (state IN ('waiting', 'invalid', 'ignored'))`);
    await db.query(`CREATE UNIQUE INDEX parked_callbacks_part ON parked_callbacks (callback_event_id, part_index)`);
    await db.query(`CREATE INDEX parked_callbacks_received_at ON parked_callbacks (received_at)`);
    // For a WhatsApp id: the Gupshup id of the report that taught it, so that a report naming only
    // the WhatsApp id gets the same event id however (and however often) it is translated.
    await db.query(`ALTER TABLE tracking_correlations ADD COLUMN gupshup_id text`);
    // Correlations learnt before callbacks were recorded raw cannot be learnt again from the log:
    // translating from the start keeps them (derived_from_log false).
    await db.query(`ALTER TABLE tracking_correlations ADD COLUMN derived_from_log boolean NOT NULL DEFAULT false`);
    await db.query(`ALTER TABLE tracking_correlations ALTER COLUMN derived_from_log SET DEFAULT true`);
    await db.query(`DELETE FROM es_subscriptions WHERE name = 'whatsapp_delivery_tracking'`);
  }

  async down(db: QueryRunner): Promise<void> {
    // Rows keep their body again; a row whose raw callback is gone cannot, and goes with it.
    await db.query(`
      UPDATE parked_callbacks p SET raw_body = coalesce(e.data->>'bodyText', (e.data->'body')::text)
        FROM es_events e WHERE e.event_id = p.callback_event_id AND p.raw_body IS NULL`);
    await db.query(`DELETE FROM parked_callbacks WHERE raw_body IS NULL OR state = 'ignored'`);
    await db.query(`ALTER TABLE parked_callbacks DROP CONSTRAINT parked_callbacks_state_check`);
    await db.query(`ALTER TABLE parked_callbacks ADD CONSTRAINT parked_callbacks_state_check CHECK (state IN ('waiting', 'invalid'))`);
    await db.query(`ALTER TABLE tracking_correlations DROP COLUMN gupshup_id, DROP COLUMN derived_from_log`);
    await db.query(`DROP INDEX parked_callbacks_received_at`);
    await db.query(`DROP INDEX parked_callbacks_part`);
    await db.query(`
      ALTER TABLE parked_callbacks
        DROP COLUMN callback_event_id, DROP COLUMN part_index, DROP COLUMN unapplied_parts, DROP COLUMN authenticated`);
    await db.query(`ALTER TABLE parked_callbacks ALTER COLUMN raw_body SET NOT NULL`);
    await new TrackingAppendReports1764000700000().up(db);
  }
}
