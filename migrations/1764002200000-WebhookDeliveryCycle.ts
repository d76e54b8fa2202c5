import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The senders' work as one call per round: webhook_deliveries_cycle records the attempts that
 * ended and claims what is due next, in one transaction and one round trip.
 *
 * Each endpoint keeps the number of its deliveries in flight (webhook_endpoints.in_flight). The
 * claims used to count in-flight rows through the partial index on them; every delivery that has
 * been in flight leaves a dead entry there, which a bitmap scan never marks, so every claim read
 * them all again until a vacuum (15 ms a claim once 40,000 deliveries had been made). The counter
 * is changed only under the claims' advisory lock, by the same statements that move deliveries in
 * and out of flight, and the expired-claims sweep checks it against the rows.
 *
 * A delivery queued behind an earlier one of the same message to the same endpoint, in the same
 * transaction, starts `waiting` (shown as pending by the API): it stays out of the due index, and
 * the round that closes a delivery (delivered or failed) makes the message's next waiting one
 * pending. The claim still checks that nothing earlier of the message is open, so a delivery
 * queued pending while an older one is open waits as before; `waiting` only keeps the claims from
 * reading, for every delivery in flight, the deliveries queued behind it (a lifecycle loaded at
 * once has three). The earliest open delivery of a message is never waiting: it is pending or in
 * flight, so it closes in time and the next is made pending.
 *
 * The attempt that closes a delivery (delivered, or failed for good) is kept in the delivery's
 * row (final_attempt_at, final_attempt_duration_ms, last_status_code, last_error), the attempts
 * before it in webhook_delivery_attempts as before: most deliveries succeed at once, and need no
 * attempt row (an insert and its foreign key check each).
 *
 * Both functions find rows by key and through one index each: a bitmap scan would AND in a
 * partial index (deliveries in flight, open ones), reading every dead entry left in it since the
 * last vacuum.
 */
export class WebhookDeliveryCycle1764002200000 implements MigrationInterface {
  name = 'WebhookDeliveryCycle1764002200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_state_check,
        ADD CONSTRAINT webhook_deliveries_state_check CHECK (state IN ('waiting', 'pending', 'in_flight', 'delivered', 'failed'))`);
    await db.query(`DROP INDEX webhook_deliveries_open_by_message`);
    await db.query(
      `CREATE INDEX webhook_deliveries_open_by_message ON webhook_deliveries (endpoint_id, message_id, seq) WHERE state IN ('waiting', 'pending', 'in_flight')`,
    );
    await db.query(`ALTER TABLE webhook_deliveries ADD COLUMN final_attempt_at timestamptz, ADD COLUMN final_attempt_duration_ms integer`);
    await db.query(`ALTER TABLE webhook_endpoints ADD COLUMN in_flight integer NOT NULL DEFAULT 0`);
    await db.query(`
      UPDATE webhook_endpoints e SET in_flight = n.count
        FROM (SELECT endpoint_id, count(*)::integer AS count FROM webhook_deliveries WHERE state = 'in_flight' GROUP BY endpoint_id) n
       WHERE n.endpoint_id = e.id`);

    // p_ids ... p_due_at: one entry per attempt that ended (times in epoch milliseconds); an
    // outcome counts only while the claim is still the caller's (its lease token and attempt).
    // Then up to p_limit due deliveries are claimed, at most p_endpoint_concurrency in flight per
    // endpoint across all senders. Rounds run one at a time (the advisory lock), so the counters
    // they read are exact. A message's delivery waits while an earlier one to the same endpoint
    // is open, so each message's deliveries arrive in order.
    // The commit waits for the disk: with an asynchronous commit the rows a round leaves behind
    // could not be marked dead until the WAL was flushed, and every claim of the next half second
    // read them again (three times the buffers per claim).
    await db.query(`
      CREATE FUNCTION webhook_deliveries_cycle(
        p_lease_token uuid, p_lease_ms double precision, p_limit integer, p_endpoint_concurrency integer,
        p_ids uuid[], p_attempts integer[], p_at double precision[], p_status_codes integer[], p_durations integer[],
        p_errors text[], p_states text[], p_due_at double precision[]
      ) RETURNS TABLE (
        id uuid, endpoint_id uuid, app_id text, message_id text, event_type text, body text, attempts integer,
        give_up_at double precision, change_recorded_at double precision, url text, secret_encrypted text
      )
      LANGUAGE plpgsql SET enable_bitmapscan = off AS $$
      #variable_conflict use_column
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('webhook_deliveries'), 0);
        IF cardinality(p_ids) > 0 THEN
          -- Rows are found through "= ANY (array)", which the planner serves from the primary key
          -- whatever the plan PL/pgSQL keeps for the session (one made while the table was small
          -- would otherwise join by scanning it whole, for as long as the session lasts).
          WITH r AS MATERIALIZED (
            SELECT * FROM unnest(p_ids, p_attempts, p_at, p_status_codes, p_durations, p_errors, p_states, p_due_at)
                     AS r (id, attempt, at, status_code, duration_ms, error, state, due_at)),
          recorded AS (
            UPDATE webhook_deliveries d
               SET state = r.state, due_at = coalesce(to_timestamp(r.due_at / 1000), d.due_at), lease_token = NULL, locked_until = NULL,
                   last_status_code = r.status_code, last_error = r.error,
                   final_attempt_at = CASE WHEN r.state <> 'pending' THEN to_timestamp(r.at / 1000) END,
                   final_attempt_duration_ms = CASE WHEN r.state <> 'pending' THEN r.duration_ms END,
                   delivered_at = CASE WHEN r.state = 'delivered' THEN now() ELSE d.delivered_at END, updated_at = now()
              FROM r
             WHERE d.id = ANY (p_ids) AND d.id = r.id AND d.state = 'in_flight' AND d.lease_token = p_lease_token AND d.attempts = r.attempt
            RETURNING d.id, d.endpoint_id, d.message_id, r.attempt, r.at, r.status_code, r.duration_ms, r.error, r.state),
          -- A closed delivery's message: its next waiting delivery to the endpoint is due now.
          promoted AS (
            UPDATE webhook_deliveries w SET state = 'pending', due_at = now(), updated_at = now()
             WHERE w.id = ANY (ARRAY(
                     SELECT (SELECT n.id FROM webhook_deliveries n
                              WHERE n.endpoint_id = x.endpoint_id AND n.message_id = x.message_id AND n.state = 'waiting'
                              ORDER BY n.seq LIMIT 1)
                       FROM recorded x WHERE x.state IN ('delivered', 'failed') AND x.message_id IS NOT NULL))
               AND w.state = 'waiting'),
          logged AS (
            INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, duration_ms, error)
            SELECT x.id, x.attempt, to_timestamp(x.at / 1000), x.status_code, x.duration_ms, x.error FROM recorded x WHERE x.state = 'pending'
            ON CONFLICT DO NOTHING)
          -- Each endpoint's slots, and its health: a success clears its failing_since, a failure sets it if unset.
          UPDATE webhook_endpoints e
             SET in_flight = e.in_flight - h.n,
                 last_success_at = CASE WHEN h.succeeded THEN now() ELSE e.last_success_at END,
                 failing_since = CASE WHEN h.succeeded THEN NULL ELSE coalesce(e.failing_since, now()) END
            FROM (SELECT x.endpoint_id, count(*)::integer AS n, bool_or(x.state = 'delivered') AS succeeded FROM recorded x GROUP BY x.endpoint_id) h
           WHERE e.id = h.endpoint_id;
        END IF;

        IF p_limit <= 0 THEN
          RETURN;
        END IF;
        RETURN QUERY
        WITH ready AS (
          SELECT e.id, e.url, e.secret_encrypted, p_endpoint_concurrency - e.in_flight AS free
            FROM webhook_endpoints e
           WHERE e.enabled AND e.in_flight < p_endpoint_concurrency),
        chosen AS (
          SELECT c.id FROM ready r
           CROSS JOIN LATERAL (
             SELECT d.id, d.due_at, d.seq FROM webhook_deliveries d
              WHERE d.endpoint_id = r.id AND d.state = 'pending' AND d.due_at <= now()
                AND (d.message_id IS NULL OR NOT EXISTS (
                      SELECT 1 FROM webhook_deliveries p
                       WHERE p.endpoint_id = d.endpoint_id AND p.message_id = d.message_id AND p.seq < d.seq
                         AND p.state IN ('waiting', 'pending', 'in_flight')))
              ORDER BY d.due_at, d.seq
              LIMIT r.free
              FOR UPDATE SKIP LOCKED) c
           ORDER BY c.due_at, c.seq
           LIMIT p_limit),
        claimed AS (
          UPDATE webhook_deliveries d
             SET state = 'in_flight', attempts = d.attempts + 1, lease_token = p_lease_token,
                 locked_until = now() + make_interval(secs => p_lease_ms / 1000), updated_at = now()
           WHERE d.id = ANY (ARRAY(SELECT c.id FROM chosen c))
          RETURNING d.id, d.endpoint_id, d.app_id, d.message_id, d.event_type, d.body, d.attempts, d.give_up_at, d.change_recorded_at),
        counted AS (
          UPDATE webhook_endpoints e SET in_flight = e.in_flight + k.n
            FROM (SELECT x.endpoint_id, count(*)::integer AS n FROM claimed x GROUP BY x.endpoint_id) k
           WHERE e.id = k.endpoint_id)
        SELECT c.id, c.endpoint_id, c.app_id, c.message_id, c.event_type, c.body, c.attempts,
               extract(epoch FROM c.give_up_at)::float8 * 1000, extract(epoch FROM c.change_recorded_at)::float8 * 1000,
               r.url, r.secret_encrypted
          FROM claimed c JOIN ready r ON r.id = c.endpoint_id;
      END $$`);

    // Claims whose lease ran out belong to a process that stopped mid-attempt: their attempt is
    // logged without an outcome and they are due again at once (at least once: the endpoint may
    // have received it). Then each endpoint's counter is checked against its rows; returns the
    // claims taken back and the counters that had to be corrected (none, unless a bug).
    await db.query(`
      CREATE FUNCTION webhook_deliveries_take_back_expired() RETURNS TABLE (taken_back integer, corrected integer)
      LANGUAGE plpgsql SET enable_bitmapscan = off AS $$
      DECLARE
        v_taken_back integer;
        v_corrected integer;
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('webhook_deliveries'), 0);
        WITH expired AS (
          UPDATE webhook_deliveries SET state = 'pending', due_at = now(), lease_token = NULL, locked_until = NULL, updated_at = now()
           WHERE state = 'in_flight' AND locked_until <= now()
          RETURNING id, endpoint_id, attempts),
        logged AS (
          INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, duration_ms, error)
          SELECT x.id, x.attempts, now(), NULL, 0, 'no outcome recorded: the sending process stopped during the attempt' FROM expired x
          ON CONFLICT DO NOTHING),
        released AS (
          UPDATE webhook_endpoints e SET in_flight = e.in_flight - k.n
            FROM (SELECT x.endpoint_id, count(*)::integer AS n FROM expired x GROUP BY x.endpoint_id) k
           WHERE e.id = k.endpoint_id
          RETURNING k.n)
        SELECT coalesce(sum(n), 0) INTO v_taken_back FROM released;

        WITH actual AS (
          SELECT e.id, coalesce(c.n, 0) AS n
            FROM webhook_endpoints e
            LEFT JOIN (SELECT d.endpoint_id, count(*)::integer AS n FROM webhook_deliveries d WHERE d.state = 'in_flight' GROUP BY d.endpoint_id) c
                   ON c.endpoint_id = e.id),
        fixed AS (
          UPDATE webhook_endpoints e SET in_flight = a.n FROM actual a WHERE e.id = a.id AND e.in_flight <> a.n RETURNING 1)
        SELECT count(*) INTO v_corrected FROM fixed;
        RETURN QUERY SELECT v_taken_back, v_corrected;
      END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION webhook_deliveries_take_back_expired`);
    await db.query(`DROP FUNCTION webhook_deliveries_cycle`);
    await db.query(`ALTER TABLE webhook_endpoints DROP COLUMN in_flight`);
    await db.query(`
      INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, duration_ms, error)
      SELECT id, attempts, final_attempt_at, last_status_code, coalesce(final_attempt_duration_ms, 0), last_error FROM webhook_deliveries
       WHERE final_attempt_at IS NOT NULL
      ON CONFLICT DO NOTHING`);
    await db.query(`ALTER TABLE webhook_deliveries DROP COLUMN final_attempt_at, DROP COLUMN final_attempt_duration_ms`);
    await db.query(`UPDATE webhook_deliveries SET state = 'pending' WHERE state = 'waiting'`);
    await db.query(`DROP INDEX webhook_deliveries_open_by_message`);
    await db.query(
      `CREATE INDEX webhook_deliveries_open_by_message ON webhook_deliveries (endpoint_id, message_id, seq) WHERE state IN ('pending', 'in_flight')`,
    );
    await db.query(`
      ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_state_check,
        ADD CONSTRAINT webhook_deliveries_state_check CHECK (state IN ('pending', 'in_flight', 'delivered', 'failed'))`);
  }
}
