import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event store: streams with an optimistic version, events ordered globally by
 * (transaction_id, global_position) for commit-safe reading, and durable subscription checkpoints.
 */
export class EventStore1764000000000 implements MigrationInterface {
  name = 'EventStore1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE es_streams (
        stream_id   text PRIMARY KEY,
        stream_type text NOT NULL,
        version     bigint NOT NULL DEFAULT 0,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE SEQUENCE es_events_global_position_seq AS bigint`);
    await db.query(`
      CREATE TABLE es_events (
        global_position bigint NOT NULL DEFAULT nextval('es_events_global_position_seq'),
        transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id       text NOT NULL REFERENCES es_streams (stream_id),
        stream_position bigint NOT NULL,
        event_id        uuid NOT NULL,
        event_type      text NOT NULL,
        schema_version  integer NOT NULL DEFAULT 1,
        data            jsonb NOT NULL,
        metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (stream_id, stream_position),
        CONSTRAINT es_events_event_id_key UNIQUE (event_id)
      )`);
    await db.query(`ALTER SEQUENCE es_events_global_position_seq OWNED BY es_events.global_position`);
    await db.query(`CREATE INDEX es_events_log_order ON es_events (transaction_id, global_position)`);
    await db.query(`
      CREATE TABLE es_subscriptions (
        name                  text PRIMARY KEY,
        last_transaction_id   xid8 NOT NULL DEFAULT '0'::xid8,
        last_global_position  bigint NOT NULL DEFAULT 0,
        events_processed      bigint NOT NULL DEFAULT 0,
        updated_at            timestamptz NOT NULL DEFAULT now()
      )`);

    // One round trip per append: lock (or create) the stream, drop events already stored
    // (idempotency by event id), check the expected version, insert, bump the version.
    // p_expected: -1 any, 0 the stream must not exist, n the exact current version.
    await db.query(`
      CREATE FUNCTION es_append(
        p_stream_id text, p_stream_type text, p_expected bigint,
        p_event_ids uuid[], p_types text[], p_schema_versions integer[], p_data jsonb[], p_metadata jsonb[]
      ) RETURNS TABLE (outcome text, stream_version bigint, appended integer)
      LANGUAGE plpgsql AS $$
      DECLARE
        v_current bigint;
        v_new integer[];
      BEGIN
        SELECT s.version INTO v_current FROM es_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        IF NOT FOUND THEN
          IF p_expected > 0 THEN
            RETURN QUERY SELECT 'conflict'::text, 0::bigint, 0;
            RETURN;
          END IF;
          INSERT INTO es_streams (stream_id, stream_type) VALUES (p_stream_id, p_stream_type)
            ON CONFLICT (stream_id) DO NOTHING;
          SELECT s.version INTO v_current FROM es_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        END IF;

        -- One index probe for the ids already stored, then keep the positions of the others.
        SELECT coalesce(array_agg(i ORDER BY i), '{}') INTO v_new
          FROM generate_subscripts(p_event_ids, 1) AS i
         WHERE p_event_ids[i] <> ALL (coalesce(
                 (SELECT array_agg(e.event_id) FROM es_events e WHERE e.event_id = ANY (p_event_ids)), '{}'));
        IF cardinality(v_new) = 0 THEN
          RETURN QUERY SELECT 'duplicate'::text, v_current, 0;
          RETURN;
        END IF;

        IF p_expected >= 0 AND v_current <> p_expected THEN
          RETURN QUERY SELECT 'conflict'::text, v_current, 0;
          RETURN;
        END IF;

        -- Readers order the log by transaction id. A transaction that got its id before the one
        -- that appended last to this stream, but its lock after it, would put this stream's events
        -- out of order for them: fail it as a serialization failure, to be retried with a new id.
        IF v_current > 0 AND (SELECT e.transaction_id FROM es_events e
                                WHERE e.stream_id = p_stream_id AND e.stream_position = v_current) > pg_current_xact_id() THEN
          RAISE EXCEPTION 'stream % was appended to by a later transaction; retry', p_stream_id
            USING ERRCODE = 'serialization_failure';
        END IF;

        INSERT INTO es_events (stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
        SELECT p_stream_id, v_current + n.ord, p_event_ids[n.i], p_types[n.i], p_schema_versions[n.i], p_data[n.i], p_metadata[n.i]
          FROM unnest(v_new) WITH ORDINALITY AS n(i, ord);

        UPDATE es_streams SET version = v_current + cardinality(v_new), updated_at = now()
         WHERE stream_id = p_stream_id;
        -- Wakes subscribers listening for new events; delivered only if the transaction commits.
        PERFORM pg_notify('es_events_appended', '');
        RETURN QUERY SELECT 'appended'::text, v_current + cardinality(v_new), cardinality(v_new);
      END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION es_append`);
    await db.query(`DROP TABLE es_subscriptions`);
    await db.query(`DROP TABLE es_events`);
    await db.query(`DROP TABLE es_streams`);
  }
}
