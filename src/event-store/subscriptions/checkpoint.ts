import type { SqlExecutor } from '../../database/database';
import { LOG_START, type LogPosition } from '../event-store';

export async function readCheckpoint(db: SqlExecutor, name: string): Promise<LogPosition> {
  return (await readCheckpointRow(db, name)) ?? LOG_START;
}

/** The checkpoint, or null when the subscription (or this partition of it) has none yet. */
export async function readCheckpointRow(db: SqlExecutor, name: string): Promise<LogPosition | null> {
  const rows = await db.query<{ transaction_id: string; global_position: string }>(
    'SELECT last_transaction_id::text AS transaction_id, last_global_position AS global_position FROM es_subscriptions WHERE name = $1',
    [name],
  );
  return rows.length ? { transactionId: rows[0].transaction_id, globalPosition: rows[0].global_position } : null;
}

/**
 * The checkpoint's name of one partition of a subscription cut in `count`: the subscription's own
 * name when it is not cut, so that a subscription keeps its checkpoint when partitioning is off.
 */
export function partitionCheckpointName(subscription: string, partition: { index: number; count: number }): string {
  return partition.count <= 1 ? subscription : `${subscription}#${partition.index + 1}/${partition.count}`;
}

/** The checkpoints a subscription has, in any partitioning, with the partition count each belongs to. */
export async function subscriptionCheckpoints(db: SqlExecutor, subscription: string): Promise<{ name: string; count: number; position: LogPosition }[]> {
  const rows = await db.query<{ name: string; transaction_id: string; global_position: string }>(
    `SELECT name, last_transaction_id::text AS transaction_id, last_global_position AS global_position
       FROM es_subscriptions WHERE name = $1 OR starts_with(name, $1 || '#') ORDER BY name`,
    [subscription],
  );
  return rows.map((row) => ({
    name: row.name,
    count: row.name === subscription ? 1 : Number(row.name.slice(row.name.lastIndexOf('/') + 1)),
    position: { transactionId: row.transaction_id, globalPosition: row.global_position },
  }));
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

/** lockSubscription for several checkpoints, always in the same order (no two callers deadlock). */
export async function lockSubscriptions(tx: SqlExecutor, names: readonly string[]): Promise<void> {
  for (const name of [...new Set(names)].sort()) await lockSubscription(tx, name);
}
