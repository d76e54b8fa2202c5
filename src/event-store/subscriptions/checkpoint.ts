import type { SqlExecutor } from '../../database/database';
import { LOG_START, type LogPosition } from '../event-store';

export async function readCheckpoint(db: SqlExecutor, name: string): Promise<LogPosition> {
  return (await readCheckpointRow(db, name)) ?? LOG_START;
}

/** The checkpoint, or null when the subscription (or this partition of it) has none yet. */
export async function readCheckpointRow(db: SqlExecutor, name: string): Promise<LogPosition | null> {
  return (await readCheckpointState(db, name))?.position ?? null;
}

/** A checkpoint, and how far the log is being processed a second time after a rewind. */
export interface CheckpointState {
  position: LogPosition;
  /** Where the subscription had got to when it was rewound, until the checkpoint passes it again; null otherwise. */
  replayUntil: LogPosition | null;
}

export async function readCheckpointState(db: SqlExecutor, name: string): Promise<CheckpointState | null> {
  const rows = await db.query<{ transaction_id: string; global_position: string; replay_transaction_id: string | null; replay_global_position: string | null }>(
    `SELECT last_transaction_id::text AS transaction_id, last_global_position AS global_position,
            replay_until_transaction_id::text AS replay_transaction_id, replay_until_global_position AS replay_global_position
       FROM es_subscriptions WHERE name = $1`,
    [name],
  );
  if (rows.length === 0) return null;
  const [row] = rows;
  return {
    position: { transactionId: row.transaction_id, globalPosition: row.global_position },
    replayUntil: row.replay_transaction_id === null ? null : { transactionId: row.replay_transaction_id, globalPosition: row.replay_global_position! },
  };
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

const PASSED_REPLAY_MARK =
  '(EXCLUDED.last_transaction_id, EXCLUDED.last_global_position) >= (es_subscriptions.replay_until_transaction_id, es_subscriptions.replay_until_global_position)';

/** Moves the checkpoint; a replay mark it reaches is cleared (a null mark compares as unknown, and stays null). */
export async function writeCheckpoint(db: SqlExecutor, name: string, position: LogPosition, processed: number): Promise<void> {
  await db.query(
    `INSERT INTO es_subscriptions (name, last_transaction_id, last_global_position, events_processed, updated_at)
     VALUES ($1, $2::xid8, $3, $4, now())
     ON CONFLICT (name) DO UPDATE SET last_transaction_id = EXCLUDED.last_transaction_id,
       last_global_position = EXCLUDED.last_global_position,
       events_processed = es_subscriptions.events_processed + EXCLUDED.events_processed,
       updated_at = now(),
       replay_until_transaction_id = CASE WHEN ${PASSED_REPLAY_MARK} THEN NULL ELSE es_subscriptions.replay_until_transaction_id END,
       replay_until_global_position = CASE WHEN ${PASSED_REPLAY_MARK} THEN NULL ELSE es_subscriptions.replay_until_global_position END`,
    [name, position.transactionId, position.globalPosition, processed],
  );
}

/** Marks the log up to `until` as processed already: the batches up to there are replays (see writeCheckpoint). */
export async function markReplay(db: SqlExecutor, name: string, until: LogPosition): Promise<void> {
  await db.query(
    'UPDATE es_subscriptions SET replay_until_transaction_id = $2::xid8, replay_until_global_position = $3 WHERE name = $1',
    [name, until.transactionId, until.globalPosition],
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
