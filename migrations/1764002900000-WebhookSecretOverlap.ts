import type { MigrationInterface, QueryRunner } from 'typeorm';
import { WebhookRetryWindowFromFirstAttempt1764002500000 } from './1764002500000-WebhookRetryWindowFromFirstAttempt';

const { editCycleFunction } = WebhookRetryWindowFromFirstAttempt1764002500000;

/**
 * A rotated webhook secret keeps signing, beside the new one, until previous_secret_until
 * (WEBHOOK_OUT_SECRET_GRACE_HOURS after the rotation): a receiver still on the old secret, and
 * the retries already queued for it, keep verifying while the customer switches. The previous
 * secret is kept encrypted as the current one is.
 *
 * webhook_deliveries_cycle hands the sender the secrets of each claim in its secret_encrypted
 * column, the previous one after a space while it is in its grace period (a ciphertext has no
 * space): its result keeps its shape, and the database's clock decides when the overlap ends.
 */
const WITH_PREVIOUS = (alias: string) =>
  `${alias}.secret_encrypted || CASE WHEN ${alias}.previous_secret_until > now() THEN ' ' || ${alias}.previous_secret_encrypted ELSE '' END AS secret_encrypted`;

const EDITS: [from: string, to: string][] = [
  [`SELECT e.id, e.url, e.secret_encrypted, p_endpoint_concurrency - e.in_flight AS free`, `SELECT e.id, e.url, ${WITH_PREVIOUS('e')}, p_endpoint_concurrency - e.in_flight AS free`],
  [`RETURNING e.id, e.url, e.secret_encrypted)`, `RETURNING e.id, e.url, ${WITH_PREVIOUS('e')})`],
];

export class WebhookSecretOverlap1764002900000 implements MigrationInterface {
  name = 'WebhookSecretOverlap1764002900000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_encrypted text, ADD COLUMN previous_secret_until timestamptz`);
    for (const [from, to] of EDITS) await editCycleFunction(db, from, to);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const [from, to] of [...EDITS].reverse()) await editCycleFunction(db, to, from);
    await db.query(`ALTER TABLE webhook_endpoints DROP COLUMN previous_secret_encrypted, DROP COLUMN previous_secret_until`);
  }
}
