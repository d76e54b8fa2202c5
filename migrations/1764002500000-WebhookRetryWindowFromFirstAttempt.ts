import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A delivery's WEBHOOK_OUT_RETRY_HOURS start at its first attempt, not when it was queued. A
 * message's deliveries to an endpoint go one after the other, so a delivery queued behind one
 * that was being retried used up its own window waiting, and got a try or two before it was
 * marked failed. The claim that makes a delivery's first attempt moves its give_up_at on by the
 * time it waited (give_up_at - created_at is the window it was queued with).
 *
 * webhook_deliveries_cycle (1764002200000) is changed in that one place: its definition is read
 * back from the database and the claim's SET list edited, rather than the whole function repeated.
 */
const CLAIM_SET = 'attempts = d.attempts + 1, lease_token = p_lease_token,';
const CLAIM_SET_FROM_FIRST_ATTEMPT = `${CLAIM_SET}
                 give_up_at = CASE WHEN d.attempts = 0 THEN now() + (d.give_up_at - d.created_at) ELSE d.give_up_at END,`;

async function editCycleFunction(db: QueryRunner, from: string, to: string): Promise<void> {
  await db.query(
    `DO $edit$
     DECLARE
       v_definition text := pg_get_functiondef('webhook_deliveries_cycle'::regproc);
     BEGIN
       IF position($1 IN v_definition) = 0 THEN
         RAISE EXCEPTION 'webhook_deliveries_cycle does not read as 1764002200000 left it: its claim was not found';
       END IF;
       EXECUTE replace(v_definition, $1, $2);
     END $edit$`.replace(/\$1/g, () => quote(from)).replace(/\$2/g, () => quote(to)),
  );
}

/** A SQL string literal (DO blocks take no parameters). */
function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export class WebhookRetryWindowFromFirstAttempt1764002500000 implements MigrationInterface {
  name = 'WebhookRetryWindowFromFirstAttempt1764002500000';

  /** Replaces `from` with `to` in webhook_deliveries_cycle's definition; fails if `from` is not in it. Later edits use it too. */
  static readonly editCycleFunction = editCycleFunction;

  async up(db: QueryRunner): Promise<void> {
    await editCycleFunction(db, CLAIM_SET, CLAIM_SET_FROM_FIRST_ATTEMPT);
  }

  async down(db: QueryRunner): Promise<void> {
    await editCycleFunction(db, CLAIM_SET_FROM_FIRST_ATTEMPT, CLAIM_SET);
  }
}
