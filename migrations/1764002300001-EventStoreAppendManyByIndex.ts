import type { MigrationInterface, QueryRunner } from 'typeorm';
import { PARTITION_AWARE_APPEND_MANY } from './1764001800000-PartitionedEventLog';

/**
 * es_append_many for appends to many streams at once (the callback translator appends one event
 * to each of up to a thousand message streams a batch), with the rules of 1764001800000:
 * - the streams' rows are looked up by their index only (the function runs with seq scans off):
 *   with a thousand stream ids the planner preferred reading all of es_streams, four times a call,
 *   and es_streams holds a row per stream ever written, raw callbacks included;
 * - one statement locks the streams and reads their versions and times, and streams that exist
 *   are not inserted again (a conflicting insert is a probe and a speculative insertion each);
 * - the arrays are joined by ordinality rather than subscripted: an element of a text array is
 *   found by walking the array from its start, so subscripting each of n elements is n^2/2 steps;
 * - the NOTIFY names the event types appended, so that a listener wakes only the readers of those.
 */
export class EventStoreAppendManyByIndex1764002300001 implements MigrationInterface {
  name = 'EventStoreAppendManyByIndex1764002300001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE OR REPLACE FUNCTION es_append_many(
        p_stream_ids text[], p_stream_types text[], p_expected bigint[],
        p_event_stream integer[], p_event_ids uuid[], p_types text[], p_schema_versions integer[], p_data jsonb, p_metadata jsonb
      ) RETURNS TABLE (existing uuid[], conflicts jsonb)
      LANGUAGE plpgsql SET enable_seqscan = off AS $$
      DECLARE
        v_versions bigint[];
        v_kinds text[];
        v_first_created timestamptz;
        v_first_updated timestamptz;
        v_existing uuid[] := '{}';
        v_new_counts integer[];
        v_conflicts jsonb;
        v_appended text;
      BEGIN
        INSERT INTO es_streams (stream_id, stream_type)
        SELECT s.id, s.type FROM unnest(p_stream_ids, p_stream_types, p_expected) AS s(id, type, expected)
         WHERE s.expected <= 0 AND NOT EXISTS (SELECT 1 FROM es_streams x WHERE x.stream_id = s.id)
         ORDER BY s.id
        ON CONFLICT (stream_id) DO NOTHING;
        -- Locked in stream id order (every writer's), read in the same statement, aligned with p_stream_ids.
        SELECT array_agg(coalesce(l.version, 0) ORDER BY i.n),
               array_agg(DISTINCT split_part(l.stream_id, '-', 1)) FILTER (WHERE l.version > 0),
               min(l.created_at) FILTER (WHERE l.version > 0), min(l.updated_at) FILTER (WHERE l.version > 0)
          INTO v_versions, v_kinds, v_first_created, v_first_updated
          FROM unnest(p_stream_ids) WITH ORDINALITY AS i(id, n)
          LEFT JOIN (SELECT x.stream_id, x.version, x.created_at, x.updated_at FROM es_streams x
                      WHERE x.stream_id = ANY (p_stream_ids) ORDER BY x.stream_id FOR UPDATE) l ON l.stream_id = i.id;

        IF v_first_created IS NOT NULL THEN
          SELECT coalesce(array_agg(e.event_id), '{}') INTO v_existing FROM es_events e
           WHERE split_part(e.stream_id, '-', 1) = ANY (v_kinds) AND e.stream_id = ANY (p_stream_ids)
             AND e.created_at >= v_first_created AND e.event_id = ANY (p_event_ids);
        END IF;
        SELECT array_agg(coalesce(c.n, 0) ORDER BY i.n) INTO v_new_counts
          FROM generate_subscripts(p_stream_ids, 1) AS i(n)
          LEFT JOIN (SELECT ev.stream, count(*)::integer AS n FROM unnest(p_event_stream, p_event_ids) AS ev(stream, id)
                      WHERE ev.id <> ALL (v_existing) GROUP BY 1) c ON c.stream = i.n;

        SELECT jsonb_agg(jsonb_build_object('stream_id', s.id, 'version', s.version, 'expected', s.expected))
          INTO v_conflicts
          FROM unnest(p_stream_ids, v_versions, p_expected, v_new_counts) AS s(id, version, expected, new_count)
         WHERE s.expected >= 0 AND s.version <> s.expected AND (s.new_count > 0 OR (s.expected > 0 AND s.version = 0));
        IF v_conflicts IS NOT NULL THEN
          RETURN QUERY SELECT v_existing, v_conflicts;
          RETURN;
        END IF;

        -- Readers order the log by transaction id: see 1764000000000.
        IF v_first_updated IS NOT NULL AND EXISTS (
             SELECT 1 FROM es_events e
               JOIN unnest(p_stream_ids, v_versions, v_new_counts) AS s(id, version, new_count) ON s.id = e.stream_id
              WHERE split_part(e.stream_id, '-', 1) = ANY (v_kinds) AND e.stream_id = ANY (p_stream_ids)
                AND e.created_at >= v_first_updated AND e.transaction_id > pg_current_xact_id()
                AND e.stream_position = s.version AND s.version > 0 AND s.new_count > 0) THEN
          RAISE EXCEPTION 'a stream of this append was appended to by a later transaction; retry'
            USING ERRCODE = 'serialization_failure';
        END IF;

        IF (SELECT sum(n) FROM unnest(v_new_counts) AS n) > 0 THEN
          WITH appended AS (
            INSERT INTO es_events (stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
            SELECT s.id, s.version + row_number() OVER (PARTITION BY ev.stream ORDER BY ev.k),
                   ev.id, ev.type, ev.schema_version, d.value, m.value
              FROM unnest(p_event_stream, p_event_ids, p_types, p_schema_versions) WITH ORDINALITY AS ev(stream, id, type, schema_version, k)
              JOIN unnest(p_stream_ids, v_versions) WITH ORDINALITY AS s(id, version, n) ON s.n = ev.stream
              JOIN jsonb_array_elements(p_data) WITH ORDINALITY AS d(value, k) ON d.k = ev.k
              JOIN jsonb_array_elements(p_metadata) WITH ORDINALITY AS m(value, k) ON m.k = ev.k
             WHERE ev.id <> ALL (v_existing)
             ORDER BY ev.stream, ev.k
            RETURNING event_type
          )
          SELECT string_agg(DISTINCT event_type, ',') INTO v_appended FROM appended;
          UPDATE es_streams x SET version = s.version + s.new_count, updated_at = now()
            FROM unnest(p_stream_ids, v_versions, v_new_counts) AS s(id, version, new_count)
           WHERE x.stream_id = ANY (p_stream_ids) AND x.stream_id = s.id AND s.new_count > 0;
          PERFORM pg_notify('es_events_appended', v_appended);
        END IF;
        RETURN QUERY SELECT v_existing, NULL::jsonb;
      END $$`);
  }

  /** Back to es_append_many as 1764001800000 defined it. */
  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION es_append_many`);
    await db.query(PARTITION_AWARE_APPEND_MANY);
  }
}
