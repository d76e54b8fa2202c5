import { createHash } from 'node:crypto';
import type { SqlExecutor } from '../../database/database';

export type ProviderIdKind = 'gupshup' | 'whatsapp';

/** One provider id of one app: what a callback names and a correlation maps to a message. */
export interface ProviderKey {
  appId: string;
  kind: ProviderIdKind;
  providerId: string;
}

/**
 * The advisory lock of a provider id: the first 8 bytes of a SHA-1 of (app, kind, id), a bigint.
 * The app is part of it, so one app's traffic never waits on another's.
 */
export function providerLockKey(key: ProviderKey): bigint {
  return createHash('sha1').update(`${key.appId}\u0000${key.kind}\u0000${key.providerId}`).digest().readBigInt64BE(0);
}

/**
 * Takes the transaction-scoped advisory locks of these provider ids, released at commit.
 *
 * The webhook takes them around "look the id up, else park the report", and the tracking
 * subscription around "register the id, then apply what is parked under it": whichever comes
 * second sees what the first committed, so a report is never parked after the id it waits for
 * was registered. Keys are taken in ascending order, once each, so two transactions never wait
 * on each other in a cycle.
 */
export async function lockProviderKeys(tx: SqlExecutor, keys: Iterable<ProviderKey>, alreadyHeld?: Set<bigint>): Promise<Set<bigint>> {
  const held = alreadyHeld ?? new Set<bigint>();
  const wanted = [...new Set([...keys].map(providerLockKey))].filter((lock) => !held.has(lock)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (wanted.length > 0) {
    // A function scan yields the array in order, and each row takes its lock before the next.
    await tx.query('SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k', [wanted.map(String)]);
    for (const lock of wanted) held.add(lock);
  }
  return held;
}
