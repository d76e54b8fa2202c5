import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * es_append_many: the multi-stream append as set-based statements. es_append runs once per
 * stream (a lock, a duplicate probe, an ordering check, an insert and an update each); a webhook
 * batch of a few hundred callbacks touches as many streams, and the per-stream loop was most of
 * its database time. The rules are es_append's, for all streams at once.
 */
export class EventStoreAppendMany1764000600000 implements MigrationInterface {
  name = 'EventStoreAppendMany1764000600000';

  async up(db: QueryRunner): Promise<void> {
    // p_stream_*: one entry per stream, sorted by stream id (the lock order of every writer).
    // p_event_*: one entry per event, p_event_stream the 1-based index of its stream; p_data and
    // p_metadata are JSON arrays (one element per event), cheaper to pass than jsonb[] literals.
    // p_expected: -1 any, 0 the stream must not exist, n the exact current version.
    // Returns the event ids already stored (skipped) and, when an expected version does not
    // hold, the conflicting streams: nothing is written then, and the caller rolls back.
    await db.query(`
      CREATE FUNCTION es_append_many(
        p_stream_ids text[], p_stream_types text[], p_expected bigint[],
        p_event_stream integer[], p_event_ids uuid[], p_types text[], p_schema_versions integer[], p_data jsonb, p_metadata jsonb
      ) RETURNS TABLE (existing uuid[], conflicts jsonb)
      LANGUAGE plpgsql AS $$
      DECLARE
        v_versions bigint[];
        v_existing uuid[];
        v_new_counts integer[];
        v_conflicts jsonb;
      BEGIN
        -- Streams that may be created (an exact version > 0 needs an existing stream).
        INSERT INTO es_streams (stream_id, stream_type)
        SELECT s.id, s.type FROM unnest(p_stream_ids, p_stream_types, p_expected) AS s(id, type, expected)
         WHERE s.expected <= 0
         ORDER BY s.id
        ON CONFLICT (stream_id) DO NOTHING;
        -- Row locks in stream id order, then the versions as of now, aligned with p_stream_ids.
        PERFORM 1 FROM es_streams s WHERE s.stream_id = ANY (p_stream_ids) ORDER BY s.stream_id FOR UPDATE;
        -- Every lookup of a stored row goes through "= ANY (array)", which the planner always
        -- serves from the index: a join with the unnested array may be planned as a hash join
        -- over a whole table, and PL/pgSQL keeps such a generic plan for the session.
        SELECT array_agg(coalesce(s.version, 0) ORDER BY i.n) INTO v_versions
          FROM unnest(p_stream_ids) WITH ORDINALITY AS i(id, n)
          LEFT JOIN (SELECT x.stream_id, x.version FROM es_streams x WHERE x.stream_id = ANY (p_stream_ids)) s ON s.stream_id = i.id;

        -- One index probe for the ids already stored.
        SELECT coalesce(array_agg(e.event_id), '{}') INTO v_existing FROM es_events e WHERE e.event_id = ANY (p_event_ids);
        SELECT array_agg(coalesce(c.n, 0) ORDER BY i.n) INTO v_new_counts
          FROM generate_subscripts(p_stream_ids, 1) AS i(n)
          LEFT JOIN (SELECT p_event_stream[k] AS stream, count(*)::integer AS n
                       FROM generate_subscripts(p_event_ids, 1) AS k
                      WHERE p_event_ids[k] <> ALL (v_existing) GROUP BY 1) c ON c.stream = i.n;

        SELECT jsonb_agg(jsonb_build_object('stream_id', p_stream_ids[i], 'version', v_versions[i], 'expected', p_expected[i]))
          INTO v_conflicts
          FROM generate_subscripts(p_stream_ids, 1) AS i
         WHERE p_expected[i] >= 0 AND v_versions[i] <> p_expected[i]
           AND (v_new_counts[i] > 0 OR (p_expected[i] > 0 AND v_versions[i] = 0));
        IF v_conflicts IS NOT NULL THEN
          RETURN QUERY SELECT v_existing, v_conflicts;
          RETURN;
        END IF;

        -- Readers order the log by transaction id: see es_append.
        IF EXISTS (SELECT 1 FROM es_events e
                     JOIN generate_subscripts(p_stream_ids, 1) AS i ON p_stream_ids[i] = e.stream_id
                    WHERE e.stream_id = ANY (p_stream_ids) AND e.transaction_id > pg_current_xact_id()
                      AND e.stream_position = v_versions[i] AND v_versions[i] > 0 AND v_new_counts[i] > 0) THEN
          RAISE EXCEPTION 'a stream of this append was appended to by a later transaction; retry'
            USING ERRCODE = 'serialization_failure';
        END IF;

        IF (SELECT sum(n) FROM unnest(v_new_counts) AS n) > 0 THEN
          INSERT INTO es_events (stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
          SELECT p_stream_ids[e.stream],
                 v_versions[e.stream] + row_number() OVER (PARTITION BY e.stream ORDER BY e.k),
                 p_event_ids[e.k], p_types[e.k], p_schema_versions[e.k], p_data -> (e.k - 1), p_metadata -> (e.k - 1)
            FROM (SELECT k, p_event_stream[k] AS stream FROM generate_subscripts(p_event_ids, 1) AS k
                   WHERE p_event_ids[k] <> ALL (v_existing)) AS e
           ORDER BY e.stream, e.k;
          UPDATE es_streams s SET version = c.version, updated_at = now()
            FROM (SELECT p_stream_ids[i] AS stream_id, v_versions[i] + v_new_counts[i] AS version
                    FROM generate_subscripts(p_stream_ids, 1) AS i WHERE v_new_counts[i] > 0) AS c
           WHERE s.stream_id = ANY (p_stream_ids) AND s.stream_id = c.stream_id;
          PERFORM pg_notify('es_events_appended', '');
        END IF;
        RETURN QUERY SELECT v_existing, NULL::jsonb;
      END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION es_append_many`);
  }
}
