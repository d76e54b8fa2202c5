import { Injectable } from '@nestjs/common';
import { Database } from '../../database/database';

export interface ClaimedDelivery {
  id: string;
  endpointId: string;
  appId: string;
  messageId: string | null;
  eventType: string;
  body: string;
  url: string;
  secretEncrypted: string;
  /** The number of this attempt (1 for the first). */
  attempt: number;
  giveUpAt: Date;
  changeRecordedAt: Date;
  leaseToken: string;
}

export interface AttemptResult {
  delivery: ClaimedDelivery;
  at: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** Where the delivery goes: `delivered`, `pending` again (due at dueAt), or `failed`. */
  state: 'delivered' | 'pending' | 'failed';
  dueAt: Date | null;
}

export interface DisabledEndpoint {
  id: string;
  appId: string;
  failingSince: Date;
}

/*
 * A delivery can be claimed when it is due, its endpoint is enabled and below its concurrency
 * limit, and no earlier delivery of the same message to the same endpoint is still open: a
 * message's deliveries arrive in order, and a retried one holds back only those behind it. Each
 * endpoint is read on its own (its due deliveries in order, as many as it has free slots), so a
 * busy or failing endpoint's backlog is never scanned for another's turn. Claims are taken one
 * at a time (the advisory lock), so the in-flight counts they read are exact across instances.
 */
const CLAIM_SQL = `
  WITH busy AS (
    SELECT endpoint_id, count(*)::int AS n FROM webhook_deliveries
     WHERE state = 'in_flight' GROUP BY endpoint_id),
  ready AS (
    SELECT e.id, $2 - coalesce(b.n, 0) AS free
      FROM webhook_endpoints e LEFT JOIN busy b ON b.endpoint_id = e.id
     WHERE e.enabled AND coalesce(b.n, 0) < $2
       AND EXISTS (SELECT 1 FROM webhook_deliveries q WHERE q.endpoint_id = e.id AND q.state = 'pending' AND q.due_at <= now())),
  chosen AS (
    SELECT c.id FROM ready r
     CROSS JOIN LATERAL (
       SELECT d.id, d.due_at, d.seq FROM webhook_deliveries d
        WHERE d.endpoint_id = r.id AND d.state = 'pending' AND d.due_at <= now()
          AND (d.message_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM webhook_deliveries p
                 WHERE p.endpoint_id = d.endpoint_id AND p.message_id = d.message_id AND p.seq < d.seq
                   AND p.state IN ('pending', 'in_flight')))
        ORDER BY d.due_at, d.seq
        LIMIT r.free
        FOR UPDATE SKIP LOCKED) c
     ORDER BY c.due_at, c.seq
     LIMIT $1)
  UPDATE webhook_deliveries d
     SET state = 'in_flight', attempts = d.attempts + 1, lease_token = $3,
         locked_until = now() + make_interval(secs => $4::float8 / 1000), updated_at = now()
    FROM chosen, webhook_endpoints e
   WHERE d.id = chosen.id AND e.id = d.endpoint_id
  RETURNING d.id, d.endpoint_id, d.app_id, d.message_id, d.event_type, d.body, d.attempts, d.give_up_at,
            d.change_recorded_at, e.url, e.secret_encrypted`;

/*
 * Claims whose lease ran out belong to a process that stopped mid-attempt: their attempt is
 * logged without an outcome and they are due again at once (at least once: the endpoint may
 * have received it).
 */
const TAKE_BACK_EXPIRED_SQL = `
  WITH expired AS (
    UPDATE webhook_deliveries SET state = 'pending', due_at = now(), lease_token = NULL, locked_until = NULL, updated_at = now()
     WHERE state = 'in_flight' AND locked_until <= now()
    RETURNING id, attempts, locked_until)
  INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, duration_ms, error)
  SELECT id, attempts, now(), NULL, 0, 'no outcome recorded: the sending process stopped during the attempt' FROM expired
  ON CONFLICT DO NOTHING`;

/** The deliveries' work queue: claims under a lease, and the outcome of each attempt. */
@Injectable()
export class DeliveryQueue {
  constructor(private readonly db: Database) {}

  async claim(options: { limit: number; endpointConcurrency: number; leaseMs: number; leaseToken: string }): Promise<ClaimedDelivery[]> {
    const rows = await this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('webhook_deliveries'), 0)");
      return tx.query<{
        id: string;
        endpoint_id: string;
        app_id: string;
        message_id: string | null;
        event_type: string;
        body: string;
        attempts: number;
        give_up_at: Date;
        change_recorded_at: Date;
        url: string;
        secret_encrypted: string;
      }>(CLAIM_SQL, [options.limit, options.endpointConcurrency, options.leaseToken, options.leaseMs]);
    });
    return rows.map((row) => ({
      id: row.id,
      endpointId: row.endpoint_id,
      appId: row.app_id,
      messageId: row.message_id,
      eventType: row.event_type,
      body: row.body,
      url: row.url,
      secretEncrypted: row.secret_encrypted,
      attempt: row.attempts,
      giveUpAt: row.give_up_at,
      changeRecordedAt: row.change_recorded_at,
      leaseToken: options.leaseToken,
    }));
  }

  /** Makes the deliveries whose claim ran out due again (see TAKE_BACK_EXPIRED_SQL). */
  async takeBackExpired(): Promise<void> {
    await this.db.query(TAKE_BACK_EXPIRED_SQL);
  }

  /**
   * Records attempts: each attempt's row, its delivery's new state (while the
   * claim is still its own), and each endpoint's health. An endpoint that has not succeeded since
   * its first failure `disableAfterHours` ago is disabled; those are returned.
   */
  async record(results: readonly AttemptResult[], disableAfterHours: number): Promise<DisabledEndpoint[]> {
    if (results.length === 0) return [];
    const succeeded = [...new Set(results.filter((r) => r.state === 'delivered').map((r) => r.delivery.endpointId))].sort();
    const failed = [...new Set(results.filter((r) => r.state !== 'delivered').map((r) => r.delivery.endpointId))].filter((id) => !succeeded.includes(id)).sort();
    // One statement, so one round trip, for what every batch records; atomic as a statement is.
    await this.db.query(
      `WITH r AS (
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::timestamptz[], $5::int[], $6::int[], $7::text[], $8::text[], $9::timestamptz[])
                AS r (id, lease_token, attempt, at, status_code, duration_ms, error, state, due_at)),
       attempts AS (
         INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, duration_ms, error)
         SELECT id, attempt, at, status_code, duration_ms, error FROM r
         ON CONFLICT DO NOTHING),
       deliveries AS (
         UPDATE webhook_deliveries d
            SET state = r.state, due_at = coalesce(r.due_at, d.due_at), lease_token = NULL, locked_until = NULL,
                last_status_code = r.status_code, last_error = r.error,
                delivered_at = CASE WHEN r.state = 'delivered' THEN now() ELSE d.delivered_at END, updated_at = now()
           FROM r
          WHERE d.id = r.id AND d.lease_token = r.lease_token AND d.state = 'in_flight')
       UPDATE webhook_endpoints SET last_success_at = now(), failing_since = NULL WHERE id = ANY ($10::uuid[])`,
      [
        results.map((r) => r.delivery.id),
        results.map((r) => r.delivery.leaseToken),
        results.map((r) => r.delivery.attempt),
        results.map((r) => r.at),
        results.map((r) => r.statusCode),
        results.map((r) => Math.round(r.durationMs)),
        results.map((r) => r.error),
        results.map((r) => r.state),
        results.map((r) => r.dueAt),
        succeeded,
      ],
    );
    if (failed.length === 0) return [];
    return this.db.transaction(async (tx) => {
      await tx.query('UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now()) WHERE id = ANY ($1::uuid[])', [failed]);
      const disabled = await tx.query<{ id: string; app_id: string; failing_since: Date }>(
        `UPDATE webhook_endpoints
            SET enabled = false, disabled_reason = 'no successful delivery for ' || $2::text || ' hours', updated_at = now()
          WHERE id = ANY ($1::uuid[]) AND enabled AND failing_since <= now() - make_interval(secs => $2::float8 * 3600)
          RETURNING id, app_id, failing_since`,
        [failed, disableAfterHours],
      );
      return disabled.map((row) => ({ id: row.id, appId: row.app_id, failingSince: row.failing_since }));
    });
  }
}
