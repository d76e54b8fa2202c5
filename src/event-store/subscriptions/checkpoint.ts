import type { SqlExecutor } from '../../database/database';
import { LOG_START, type LogPosition } from '../event-store';

export async function readCheckpoint(db: SqlExecutor, name: string): Promise<LogPosition> {
  const rows = await db.query<{ transaction_id: string; global_position: string }>(
    'SELECT last_transaction_id::text AS transaction_id, last_global_position AS global_position FROM es_subscriptions WHERE name = $1',
    [name],
  );
  return rows.length ? { transactionId: rows[0].transaction_id, globalPosition: rows[0].global_position } : LOG_START;
}

export async function writeCheckpoint(db: SqlExecutor, name: string, position: LogPosition, processed: number): Promise<void> {
  await db.query(
    `INSERT INTO es_subscriptions (name, last_transaction_id, last_global_position, events_processed, updated_at)
     VALUES ($1, $2::xid8, $3, $4, now())
     ON CONFLICT (name) DO UPDATE SET last_transaction_id = EXCLUDED.last_transaction_id,
       last_global_position = EXCLUDED.last_global_position,
       events_processed = es_subscriptions.events_processed + EXCLUDED.events_processed,
       updated_at = now()`,
    [name, position.transactionId, position.globalPosition, processed],
  );
}

/**
 * Advisory locks are server-wide: instances whose tables live in other schemas of the same
 * database must not take each other's turn, so the key names the schema (all but the default).
 */
const LOCK_SPACE = "hashtext(concat('es_subscription', nullif('.' || current_schema(), '.public')))";

/**
 * Takes the subscription's lock for the current transaction, so that one process at a time
 * works on it; released at commit or rollback. False when another process holds it.
 */
export async function tryLockSubscription(tx: SqlExecutor, name: string): Promise<boolean> {
  const [row] = await tx.query<{ locked: boolean }>(
    `SELECT pg_try_advisory_xact_lock(${LOCK_SPACE}, hashtext($1)) AS locked`,
    [name],
  );
  return row.locked;
}

export async function lockSubscription(tx: SqlExecutor, name: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(${LOCK_SPACE}, hashtext($1))`, [name]);
}
