import type { MigrationInterface, QueryRunner } from 'typeorm';
import { WebhookRetryWindowFromFirstAttempt1764002500000 } from './1764002500000-WebhookRetryWindowFromFirstAttempt';

const { editCycleFunction } = WebhookRetryWindowFromFirstAttempt1764002500000;

/**
 * When a round closes a delivery (delivered, or failed for good), the next delivery of its message
 * to that endpoint, which was waiting for it, is claimed by the same round in the slot the closed
 * one freed, while the sender has slots: it skips the pending row version and the due-index scan
 * of a later claim, and starts one round sooner. With no slot left (a sender stopping) or the
 * endpoint disabled, it is made pending as before. Either way only when nothing earlier of the
 * message is still open: deliveries of one message queued in different transactions can be
 * pending side by side, and the one closing is not always the first.
 *
 * webhook_deliveries_cycle is edited where it changes (its definition read back from the
 * database, as 1764002500000 does), rather than repeated whole.
 */
const EDITS: [from: string, to: string][] = [
  [
    `      #variable_conflict use_column
      BEGIN
`,
    `      #variable_conflict use_column
      DECLARE
        v_next integer := 0;
      BEGIN
`,
  ],
  [
    `          WITH r AS MATERIALIZED (
`,
    `          RETURN QUERY
          WITH r AS MATERIALIZED (
`,
  ],
  [
    `          -- A closed delivery's message: its next waiting delivery to the endpoint is due now.
          promoted AS (
            UPDATE webhook_deliveries w SET state = 'pending', due_at = now(), updated_at = now()
             WHERE w.id = ANY (ARRAY(
                     SELECT (SELECT n.id FROM webhook_deliveries n
                              WHERE n.endpoint_id = x.endpoint_id AND n.message_id = x.message_id AND n.state = 'waiting'
                              ORDER BY n.seq LIMIT 1)
                       FROM recorded x WHERE x.state IN ('delivered', 'failed') AND x.message_id IS NOT NULL))
               AND w.state = 'waiting'),
`,
    `          -- A closed delivery's message: its next waiting delivery to the endpoint is claimed in
          -- the freed slot (up to p_limit, endpoint enabled, nothing earlier of the message open
          -- but what closes now), or else made due now.
          next_waiting AS MATERIALIZED (
            SELECT n.id, n.endpoint_id, n.message_id, n.seq, e.enabled
              FROM recorded x
              JOIN webhook_endpoints e ON e.id = x.endpoint_id
              CROSS JOIN LATERAL (
                SELECT n.id, n.endpoint_id, n.message_id, n.seq FROM webhook_deliveries n
                 WHERE n.endpoint_id = x.endpoint_id AND n.message_id = x.message_id AND n.state = 'waiting'
                 ORDER BY n.seq LIMIT 1) n
             WHERE x.state IN ('delivered', 'failed') AND x.message_id IS NOT NULL),
          claimable AS MATERIALIZED (
            SELECT w.id FROM next_waiting w
             WHERE w.enabled AND NOT EXISTS (
                     SELECT 1 FROM webhook_deliveries p
                      WHERE p.endpoint_id = w.endpoint_id AND p.message_id = w.message_id AND p.seq < w.seq
                        AND p.state IN ('waiting', 'pending', 'in_flight')
                        AND p.id <> ALL (ARRAY(SELECT x.id FROM recorded x WHERE x.state IN ('delivered', 'failed'))))
             ORDER BY w.seq
             LIMIT greatest(p_limit, 0)),
          promoted AS (
            UPDATE webhook_deliveries w SET state = 'pending', due_at = now(), updated_at = now()
             WHERE w.id = ANY (ARRAY(SELECT n.id FROM next_waiting n WHERE n.id <> ALL (ARRAY(SELECT c.id FROM claimable c))))
               AND w.state = 'waiting'),
          claimed_next AS (
            UPDATE webhook_deliveries d
               SET state = 'in_flight', attempts = d.attempts + 1, lease_token = p_lease_token,
                   give_up_at = CASE WHEN d.attempts = 0 THEN now() + (d.give_up_at - d.created_at) ELSE d.give_up_at END,
                   locked_until = now() + make_interval(secs => p_lease_ms / 1000), due_at = now(), updated_at = now()
             WHERE d.id = ANY (ARRAY(SELECT c.id FROM claimable c)) AND d.state = 'waiting'
            RETURNING d.id, d.endpoint_id, d.app_id, d.message_id, d.event_type, d.body, d.attempts, d.give_up_at, d.change_recorded_at),
`,
  ],
  [
    `            ON CONFLICT DO NOTHING)
          -- Each endpoint's slots, and its health: a success clears its failing_since, a failure sets it if unset.
          UPDATE webhook_endpoints e
             SET in_flight = e.in_flight - h.n,
                 last_success_at = CASE WHEN h.succeeded THEN now() ELSE e.last_success_at END,
                 failing_since = CASE WHEN h.succeeded THEN NULL ELSE coalesce(e.failing_since, now()) END
            FROM (SELECT x.endpoint_id, count(*)::integer AS n, bool_or(x.state = 'delivered') AS succeeded FROM recorded x GROUP BY x.endpoint_id) h
           WHERE e.id = h.endpoint_id;
        END IF;

        IF p_limit <= 0 THEN
`,
    `            ON CONFLICT DO NOTHING),
          -- Each endpoint's slots, and its health: a success clears its failing_since, a failure sets it if unset.
          counted_next AS (
            UPDATE webhook_endpoints e
               SET in_flight = e.in_flight - h.n + (SELECT count(*)::integer FROM claimed_next c WHERE c.endpoint_id = e.id),
                   last_success_at = CASE WHEN h.succeeded THEN now() ELSE e.last_success_at END,
                   failing_since = CASE WHEN h.succeeded THEN NULL ELSE coalesce(e.failing_since, now()) END
              FROM (SELECT x.endpoint_id, count(*)::integer AS n, bool_or(x.state = 'delivered') AS succeeded FROM recorded x GROUP BY x.endpoint_id) h
             WHERE e.id = h.endpoint_id
            RETURNING e.id, e.url, e.secret_encrypted)
          SELECT c.id, c.endpoint_id, c.app_id, c.message_id, c.event_type, c.body, c.attempts,
                 extract(epoch FROM c.give_up_at)::float8 * 1000, extract(epoch FROM c.change_recorded_at)::float8 * 1000,
                 e.url, e.secret_encrypted
            FROM claimed_next c JOIN counted_next e ON e.id = c.endpoint_id;
          GET DIAGNOSTICS v_next = ROW_COUNT;
        END IF;

        IF p_limit - v_next <= 0 THEN
`,
  ],
  [
    `           LIMIT p_limit),
        claimed AS (`,
    `           LIMIT p_limit - v_next),
        claimed AS (`,
  ],
];

export class WebhookNextDeliveryInFreedSlot1764002700000 implements MigrationInterface {
  name = 'WebhookNextDeliveryInFreedSlot1764002700000';

  async up(db: QueryRunner): Promise<void> {
    for (const [from, to] of EDITS) await editCycleFunction(db, from, to);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const [from, to] of [...EDITS].reverse()) await editCycleFunction(db, to, from);
  }
}
