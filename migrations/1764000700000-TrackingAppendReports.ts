import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * tracking_append_reports: a webhook batch whose every report names a known message, stored in
 * one statement. Run on its own (autocommit), it is the whole transaction: one round trip instead
 * of BEGIN, locks, registration, append and COMMIT one after the other.
 */
export class TrackingAppendReports1764000700000 implements MigrationInterface {
  name = 'TrackingAppendReports1764000700000';

  async up(db: QueryRunner): Promise<void> {
    // p_lock_keys: the advisory locks of the WhatsApp ids to register, distinct and ascending
    // (the order every tracking writer takes them in). p_app_ids, p_whatsapp_ids, p_message_ids:
    // those ids and their messages. The other parameters are es_append_many's, passed through.
    // A report parked waiting for one of the ids registered here must become an event in this
    // same transaction, which only the caller can build: the function then fails with SQLSTATE
    // TRK01, having changed nothing, and the caller stores the batch the long way.
    await db.query(`
      CREATE FUNCTION tracking_append_reports(
        p_lock_keys bigint[], p_app_ids text[], p_whatsapp_ids text[], p_message_ids text[],
        p_stream_ids text[], p_stream_types text[], p_expected bigint[],
        p_event_stream integer[], p_event_ids uuid[], p_types text[], p_schema_versions integer[], p_data jsonb, p_metadata jsonb
      ) RETURNS TABLE (existing uuid[], conflicts jsonb)
      LANGUAGE plpgsql AS $$
      DECLARE
        v_waiting integer;
      BEGIN
        -- A function scan yields the array in order, and each row takes its lock before the next.
        PERFORM pg_advisory_xact_lock(k) FROM unnest(p_lock_keys) AS k;
        -- A statement of its own, after the locks: in READ COMMITTED it sees every report parked
        -- by a transaction that held one of them before.
        WITH registered AS (
          INSERT INTO tracking_correlations (app_id, provider_id_kind, provider_id, message_id)
          SELECT e.app_id, 'whatsapp', e.provider_id, e.message_id
            FROM unnest(p_app_ids, p_whatsapp_ids, p_message_ids) AS e(app_id, provider_id, message_id)
          ON CONFLICT (app_id, provider_id_kind, provider_id) DO NOTHING
          RETURNING app_id, provider_id
        )
        SELECT count(*) INTO v_waiting FROM registered r
         WHERE EXISTS (SELECT 1 FROM parked_callbacks p
                        WHERE p.state = 'waiting' AND p.gupshup_message_id IS NULL
                          AND p.app_id = r.app_id AND p.whatsapp_message_id = r.provider_id);
        IF v_waiting > 0 THEN
          RAISE EXCEPTION '% parked report(s) wait for a WhatsApp id this batch registers', v_waiting
            USING ERRCODE = 'TRK01';
        END IF;
        RETURN QUERY SELECT a.existing, a.conflicts
          FROM es_append_many(p_stream_ids, p_stream_types, p_expected, p_event_stream, p_event_ids, p_types,
                              p_schema_versions, p_data, p_metadata) AS a;
      END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION tracking_append_reports`);
  }
}
