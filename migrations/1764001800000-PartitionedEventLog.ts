import type { MigrationInterface, QueryRunner } from 'typeorm';
import { EventStore1764000000000 } from './1764000000000-EventStore';
import { EventStoreAppendMany1764000600000 } from './1764000600000-EventStoreAppendMany';

/** The first partitions' span; the service then adds partitions of EVENT_LOG_PARTITION_DAYS. */
const FIRST_SPAN = '7 days';
/** Stream types whose events are retired after a while, by partition; all others are kept. */
const RETIRED_KINDS: ReadonlyArray<{ parent: string; streamTypes: string[] }> = [
  { parent: 'es_events_raw_callbacks', streamTypes: ['gupshup_callback'] },
  { parent: 'es_events_messages', streamTypes: ['whatsapp_message', 'whatsapp_notification'] },
];
const COLUMNS = 'global_position, transaction_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata, created_at';

/**
 * es_events becomes a partitioned table, so that old events can be retired a partition at a time
 * (exported, detached, dropped) instead of deleted row by row:
 * - by LIST of the stream type (the stream id before its first "-"): raw callbacks, messages (a
 *   message's and its request's streams) and the rest (kept whole, in es_events_kept);
 * - the first two again by RANGE of created_at, in partitions registered in es_log_partitions.
 * A unique constraint on a partitioned table must contain the partition key, and this key is an
 * expression: the uniqueness of (stream_id, stream_position) rests on the append functions, which
 * lock the stream's row, and an event id is de-duplicated within its stream (found through the
 * stream's events, from the stream's creation on, so that only the partitions since then are read).
 * The foreign key to es_streams goes: the append functions create the stream's row, and retiring a
 * partition removes the rows of streams that ended in it.
 */
export class PartitionedEventLog1764001800000 implements MigrationInterface {
  name = 'PartitionedEventLog1764001800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE es_events RENAME TO es_events_unpartitioned`);
    await db.query(`ALTER TABLE es_events_unpartitioned RENAME CONSTRAINT es_events_pkey TO es_events_unpartitioned_pkey`);
    await db.query(`ALTER TABLE es_events_unpartitioned RENAME CONSTRAINT es_events_event_id_key TO es_events_unpartitioned_event_id_key`);
    await db.query(`ALTER INDEX es_events_log_order RENAME TO es_events_unpartitioned_log_order`);
    await db.query(`
      CREATE TABLE es_events (
        global_position bigint NOT NULL DEFAULT nextval('es_events_global_position_seq'),
        transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id       text NOT NULL,
        stream_position bigint NOT NULL,
        event_id        uuid NOT NULL,
        event_type      text NOT NULL,
        schema_version  integer NOT NULL DEFAULT 1,
        data            jsonb NOT NULL,
        metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at      timestamptz NOT NULL DEFAULT now()
      ) PARTITION BY LIST (split_part(stream_id, '-', 1))`);
    await db.query(`ALTER SEQUENCE es_events_global_position_seq OWNED BY es_events.global_position`);
    await db.query(`CREATE INDEX es_events_stream_order ON es_events (stream_id, stream_position)`);
    await db.query(`CREATE INDEX es_events_log_order ON es_events (transaction_id, global_position)`);
    await db.query(`CREATE TABLE es_events_kept PARTITION OF es_events DEFAULT`);

    // The range partitions of each retired kind; a partition's rows are gone once it is 'dropped'
    // (exported first to exported_file unless it held no event).
    await db.query(`
      CREATE TABLE es_log_partitions (
        id              bigserial PRIMARY KEY,
        parent          text NOT NULL,
        table_name      text NOT NULL,
        from_time       timestamptz,
        to_time         timestamptz NOT NULL,
        state           text NOT NULL DEFAULT 'attached' CHECK (state IN ('attached', 'detached', 'dropped')),
        created_at      timestamptz NOT NULL DEFAULT now(),
        exported_file   text,
        exported_events bigint,
        exported_at     timestamptz,
        dropped_at      timestamptz,
        keep_until      timestamptz
      )`);
    await db.query(`CREATE UNIQUE INDEX es_log_partitions_table ON es_log_partitions (table_name) WHERE state <> 'dropped'`);
    await db.query(`CREATE INDEX es_log_partitions_parent ON es_log_partitions (parent, to_time)`);

    // Covers [p_from, p_until) with partitions of p_parent: every gap between the partitions there
    // are (none dropped) is filled by partitions aligned to multiples of p_span since the epoch.
    // A table created aside and then attached: attaching takes a lock that lets writers and readers
    // of the parent go on (creating it as a partition directly would stop them).
    await db.query(`
      CREATE FUNCTION es_cover_log_partitions(p_parent text, p_span interval, p_from timestamptz, p_until timestamptz)
      RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        v_at timestamptz := p_from;
        v_end timestamptz;
        v_next timestamptz;
        v_name text;
        v_span_s double precision := extract(epoch FROM p_span);
        v_created integer := 0;
      BEGIN
        IF v_span_s <= 0 THEN RAISE EXCEPTION 'a partition span must be positive'; END IF;
        PERFORM pg_advisory_xact_lock(hashtext('es_log_partitions'), hashtext(p_parent));
        WHILE v_at < p_until LOOP
          SELECT p.to_time INTO v_end FROM es_log_partitions p
           WHERE p.parent = p_parent AND p.state <> 'dropped'
             AND coalesce(p.from_time, '-infinity') <= v_at AND p.to_time > v_at;
          IF FOUND THEN
            v_at := v_end;
            CONTINUE;
          END IF;
          SELECT min(p.from_time) INTO v_next FROM es_log_partitions p
           WHERE p.parent = p_parent AND p.state <> 'dropped' AND p.from_time > v_at;
          v_end := to_timestamp((floor(extract(epoch FROM v_at) / v_span_s) + 1) * v_span_s);
          IF v_next IS NOT NULL AND v_next < v_end THEN v_end := v_next; END IF;
          -- Named after its start; to the microsecond when the start is not a whole second (a gap's).
          v_name := p_parent || '_' || to_char(v_at AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24MISS')
                    || CASE WHEN date_trunc('second', v_at) = v_at THEN '' ELSE to_char(v_at, '"_"US') END;
          EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', v_name, p_parent);
          EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', p_parent, v_name, v_at, v_end);
          INSERT INTO es_log_partitions (parent, table_name, from_time, to_time) VALUES (p_parent, v_name, v_at, v_end);
          v_created := v_created + 1;
          v_at := v_end;
        END LOOP;
        RETURN v_created;
      END $$`);

    const [{ now }] = await db.query(`SELECT now() AS now`);
    for (const kind of RETIRED_KINDS) {
      const types = kind.streamTypes.map((t) => `'${t}'`).join(', ');
      await db.query(`CREATE TABLE ${kind.parent} PARTITION OF es_events FOR VALUES IN (${types}) PARTITION BY RANGE (created_at)`);
      // What there is already goes into one partition up to the start of the current span.
      const [{ held }] = await db.query(
        `SELECT EXISTS (SELECT 1 FROM es_events_unpartitioned WHERE split_part(stream_id, '-', 1) IN (${types})) AS held`,
      );
      const [{ start }] = await db.query(
        `SELECT to_timestamp(floor(extract(epoch FROM $1::timestamptz) / extract(epoch FROM $2::interval)) * extract(epoch FROM $2::interval)) AS start`,
        [now, FIRST_SPAN],
      );
      if (held) {
        const name = `${kind.parent}_history`;
        await db.query(`CREATE TABLE ${name} PARTITION OF ${kind.parent} FOR VALUES FROM (MINVALUE) TO ('${(start as Date).toISOString()}')`);
        await db.query(`INSERT INTO es_log_partitions (parent, table_name, from_time, to_time) VALUES ($1, $2, NULL, $3)`, [kind.parent, name, start]);
      }
      await db.query(`SELECT es_cover_log_partitions($1, $2::interval, $3, $4::timestamptz + 3 * $2::interval)`, [kind.parent, FIRST_SPAN, start, now]);
    }

    await db.query(`INSERT INTO es_events (${COLUMNS}) SELECT ${COLUMNS} FROM es_events_unpartitioned`);
    await db.query(`DROP TABLE es_events_unpartitioned`);
    await replaceAppendFunctions(db);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE es_events RENAME TO es_events_partitioned`);
    await db.query(`ALTER INDEX es_events_log_order RENAME TO es_events_partitioned_log_order`);
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
    await db.query(`INSERT INTO es_events (${COLUMNS}) SELECT ${COLUMNS} FROM es_events_partitioned`);
    await db.query(`CREATE INDEX es_events_log_order ON es_events (transaction_id, global_position)`);
    await db.query(`DROP TABLE es_events_partitioned`);
    await db.query(`DROP FUNCTION es_cover_log_partitions`);
    await db.query(`DROP TABLE es_log_partitions`);
    await restoreAppendFunctions(db);
  }
}

/** es_append_many as this migration defines it (later migrations' down() restore it from here). */
export const PARTITION_AWARE_APPEND_MANY = `
    CREATE OR REPLACE FUNCTION es_append_many(
      p_stream_ids text[], p_stream_types text[], p_expected bigint[],
      p_event_stream integer[], p_event_ids uuid[], p_types text[], p_schema_versions integer[], p_data jsonb, p_metadata jsonb
    ) RETURNS TABLE (existing uuid[], conflicts jsonb)
    LANGUAGE plpgsql AS $$
    DECLARE
      v_versions bigint[];
      v_kinds text[];
      v_first_created timestamptz;
      v_first_updated timestamptz;
      v_existing uuid[] := '{}';
      v_new_counts integer[];
      v_conflicts jsonb;
    BEGIN
      INSERT INTO es_streams (stream_id, stream_type)
      SELECT s.id, s.type FROM unnest(p_stream_ids, p_stream_types, p_expected) AS s(id, type, expected)
       WHERE s.expected <= 0
       ORDER BY s.id
      ON CONFLICT (stream_id) DO NOTHING;
      PERFORM 1 FROM es_streams s WHERE s.stream_id = ANY (p_stream_ids) ORDER BY s.stream_id FOR UPDATE;
      -- "= ANY (array)" lookups only: see 1764000600000.
      SELECT array_agg(coalesce(s.version, 0) ORDER BY i.n) INTO v_versions
        FROM unnest(p_stream_ids) WITH ORDINALITY AS i(id, n)
        LEFT JOIN (SELECT x.stream_id, x.version FROM es_streams x WHERE x.stream_id = ANY (p_stream_ids)) s ON s.stream_id = i.id;
      -- The partitions that may hold these streams' events: of their types, since the first of
      -- them with events was created (for ids already stored) or last appended to (for the order check).
      SELECT array_agg(DISTINCT split_part(x.stream_id, '-', 1)), min(x.created_at), min(x.updated_at)
        INTO v_kinds, v_first_created, v_first_updated
        FROM es_streams x WHERE x.stream_id = ANY (p_stream_ids) AND x.version > 0;

      IF v_first_created IS NOT NULL THEN
        SELECT coalesce(array_agg(e.event_id), '{}') INTO v_existing FROM es_events e
         WHERE split_part(e.stream_id, '-', 1) = ANY (v_kinds) AND e.stream_id = ANY (p_stream_ids)
           AND e.created_at >= v_first_created AND e.event_id = ANY (p_event_ids);
      END IF;
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

      IF v_first_updated IS NOT NULL AND EXISTS (
           SELECT 1 FROM es_events e
             JOIN generate_subscripts(p_stream_ids, 1) AS i ON p_stream_ids[i] = e.stream_id
            WHERE split_part(e.stream_id, '-', 1) = ANY (v_kinds) AND e.stream_id = ANY (p_stream_ids)
              AND e.created_at >= v_first_updated AND e.transaction_id > pg_current_xact_id()
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
    END $$`;

/**
 * The append functions of 1764000000000 and 1764000600000, with the lookups of a stream's stored
 * events bounded to its partitions: by its type (the list partition) and by the time it was
 * created or last appended to (the range partitions since then), which es_streams records.
 */
async function replaceAppendFunctions(db: QueryRunner): Promise<void> {
  await db.query(`
    CREATE OR REPLACE FUNCTION es_append(
      p_stream_id text, p_stream_type text, p_expected bigint,
      p_event_ids uuid[], p_types text[], p_schema_versions integer[], p_data jsonb[], p_metadata jsonb[]
    ) RETURNS TABLE (outcome text, stream_version bigint, appended integer)
    LANGUAGE plpgsql AS $$
    DECLARE
      v_current bigint;
      v_created timestamptz;
      v_updated timestamptz;
      v_new integer[];
    BEGIN
      SELECT s.version, s.created_at, s.updated_at INTO v_current, v_created, v_updated
        FROM es_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
      IF NOT FOUND THEN
        IF p_expected > 0 THEN
          RETURN QUERY SELECT 'conflict'::text, 0::bigint, 0;
          RETURN;
        END IF;
        INSERT INTO es_streams (stream_id, stream_type) VALUES (p_stream_id, p_stream_type)
          ON CONFLICT (stream_id) DO NOTHING;
        SELECT s.version, s.created_at, s.updated_at INTO v_current, v_created, v_updated
          FROM es_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
      END IF;

      -- The ids already stored in this stream (none in a stream with no events).
      SELECT coalesce(array_agg(i ORDER BY i), '{}') INTO v_new
        FROM generate_subscripts(p_event_ids, 1) AS i
       WHERE v_current = 0 OR p_event_ids[i] <> ALL (coalesce(
               (SELECT array_agg(e.event_id) FROM es_events e
                 WHERE split_part(e.stream_id, '-', 1) = split_part(p_stream_id, '-', 1)
                   AND e.stream_id = p_stream_id AND e.created_at >= v_created
                   AND e.event_id = ANY (p_event_ids)), '{}'));
      IF cardinality(v_new) = 0 THEN
        RETURN QUERY SELECT 'duplicate'::text, v_current, 0;
        RETURN;
      END IF;

      IF p_expected >= 0 AND v_current <> p_expected THEN
        RETURN QUERY SELECT 'conflict'::text, v_current, 0;
        RETURN;
      END IF;

      -- Readers order the log by transaction id: see 1764000000000. The stream's last event was
      -- written when the stream was last updated.
      IF v_current > 0 AND (SELECT e.transaction_id FROM es_events e
                              WHERE split_part(e.stream_id, '-', 1) = split_part(p_stream_id, '-', 1)
                                AND e.stream_id = p_stream_id AND e.stream_position = v_current
                                AND e.created_at >= v_updated) > pg_current_xact_id() THEN
        RAISE EXCEPTION 'stream % was appended to by a later transaction; retry', p_stream_id
          USING ERRCODE = 'serialization_failure';
      END IF;

      INSERT INTO es_events (stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
      SELECT p_stream_id, v_current + n.ord, p_event_ids[n.i], p_types[n.i], p_schema_versions[n.i], p_data[n.i], p_metadata[n.i]
        FROM unnest(v_new) WITH ORDINALITY AS n(i, ord);

      UPDATE es_streams SET version = v_current + cardinality(v_new), updated_at = now()
       WHERE stream_id = p_stream_id;
      PERFORM pg_notify('es_events_appended', '');
      RETURN QUERY SELECT 'appended'::text, v_current + cardinality(v_new), cardinality(v_new);
    END $$`);

  await db.query(PARTITION_AWARE_APPEND_MANY);
}

/** Back to the definitions of 1764000000000 and 1764000600000. */
async function restoreAppendFunctions(db: QueryRunner): Promise<void> {
  await db.query(`DROP FUNCTION es_append`);
  await db.query(`DROP FUNCTION es_append_many`);
  await createOnly(db, new EventStore1764000000000(), 'CREATE FUNCTION es_append');
  await new EventStoreAppendMany1764000600000().up(db);
}

/** Runs only the statements of a migration's up() that start with `prefix`. */
async function createOnly(db: QueryRunner, migration: MigrationInterface, prefix: string): Promise<void> {
  const only = new Proxy(db, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (sql: string, params?: unknown[]) => (sql.trim().startsWith(prefix) ? target.query(sql, params) : Promise.resolve([]));
    },
  });
  await migration.up(only);
}
