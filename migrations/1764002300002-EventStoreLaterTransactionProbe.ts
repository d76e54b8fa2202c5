import type { MigrationInterface, QueryRunner } from 'typeorm';
import { EventStoreAppendManyByIndex1764002300001 } from './1764002300001-EventStoreAppendManyByIndex';

/**
 * es_append_many as 1764002300001 defined it, but for the check that no later transaction
 * appended to a stream first (the log's order, see 1764000000000): that check joined the
 * streams to es_events with the whole array of stream ids as an index condition of every probe,
 * in every partition of the log, so each of a thousand probes scanned the array a thousand times
 * in nine partitions (50–1,200 ms a call while callbacks poured in). Each stream's last event is
 * now probed alone, by (stream id, position), and the probe's partition is chosen from that
 * stream's type and last update, so it reads one index page or so of one partition.
 */
export class EventStoreLaterTransactionProbe1764002300002 implements MigrationInterface {
  name = 'EventStoreLaterTransactionProbe1764002300002';

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
        v_updated timestamptz[];
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
        SELECT array_agg(coalesce(l.version, 0) ORDER BY i.n), array_agg(l.updated_at ORDER BY i.n),
               array_agg(DISTINCT split_part(l.stream_id, '-', 1)) FILTER (WHERE l.version > 0),
               min(l.created_at) FILTER (WHERE l.version > 0), min(l.updated_at) FILTER (WHERE l.version > 0)
          INTO v_versions, v_updated, v_kinds, v_first_created, v_first_updated
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
             SELECT 1 FROM unnest(p_stream_ids, v_versions, v_new_counts, v_updated) AS s(id, version, new_count, updated_at)
              WHERE s.version > 0 AND s.new_count > 0 AND EXISTS (
                    SELECT 1 FROM es_events e
                     WHERE e.stream_id = s.id AND e.stream_position = s.version
                       AND split_part(e.stream_id, '-', 1) = split_part(s.id, '-', 1) AND e.created_at >= s.updated_at
                       AND e.transaction_id > pg_current_xact_id())) THEN
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

  /** Back to 1764002300001's es_append_many. */
  async down(db: QueryRunner): Promise<void> {
    await new EventStoreAppendManyByIndex1764002300001().up(db);
  }
}
