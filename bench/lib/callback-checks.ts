import type { Pool } from 'pg';
import { getJson, type BenchApp } from './api';
import type { Callback } from './callbacks';
import { withPool } from './postgres';
import { secondsBehind } from './projection-lag';

/**
 * What the ingestion benchmarks check after posting receipts, reading only what a user can read
 * (the views and the API) and the event type DeliveryStatusChanged: every acknowledged receipt
 * applied, none recorded twice.
 */

/** Of the acknowledged (message, status) pairs, how many the message view shows. */
export async function appliedCount(pool: Pool, acknowledged: Map<string, Callback>): Promise<number> {
  const callbacks = [...acknowledged.values()];
  const { rows } = await pool.query<{ applied: number }>(
    `SELECT count(*)::int AS applied FROM unnest($1::text[], $2::text[]) AS a(message_id, status)
       JOIN message_status_view v ON v.message_id = a.message_id
      WHERE (a.status = 'delivered' AND v.delivered_at IS NOT NULL) OR (a.status = 'read' AND v.seen_at IS NOT NULL)`,
    [callbacks.map((c) => c.message.messageId), callbacks.map((c) => c.status)],
  );
  return rows[0].applied;
}

/** From the end of the load: until the view shows every acknowledged callback and every subscription has caught up. */
export async function drain(
  databaseUrl: string,
  acknowledged: Map<string, Callback>,
  names: string[],
  loadEndedAt: number,
  timeoutMs: number,
): Promise<{ seconds: number; notApplied: number; fully: boolean }> {
  return withPool(databaseUrl, async (pool) => {
    const deadline = loadEndedAt + timeoutMs;
    for (;;) {
      const applied = await appliedCount(pool, acknowledged);
      const behind = applied === acknowledged.size ? Math.max(0, ...(await Promise.all(names.map((name) => secondsBehind(pool, name))))) : 1;
      if (applied === acknowledged.size && behind === 0) return { seconds: (performance.now() - loadEndedAt) / 1000, notApplied: 0, fully: true };
      if (performance.now() > deadline) return { seconds: (performance.now() - loadEndedAt) / 1000, notApplied: acknowledged.size - applied, fully: false };
      await new Promise((r) => setTimeout(r, 100));
    }
  });
}

/** Receipts of the app recorded twice: two status changes of one provider status on one message stream. */
export async function recordedTwice(databaseUrl: string, appId: string): Promise<number> {
  return withPool(databaseUrl, async (pool) => {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT 1 FROM es_events WHERE event_type = 'DeliveryStatusChanged' AND data->>'appId' = $1
          GROUP BY stream_id, data->>'providerStatus' HAVING count(*) > 1) AS d`,
      [appId],
    );
    return rows[0].n;
  });
}

const STATUS_RANK = ['queued', 'sent', 'delivered', 'seen'];

/** A sample of `sampleSize` messages, read through GET /v3/messages/{id} as a user would: their status must be what their callbacks said. */
export async function checkThroughApi(
  serviceUrl: string,
  app: BenchApp,
  acknowledged: Map<string, Callback>,
  sampleSize: number,
): Promise<{ checked: number; mismatches: number; shownTwice: number }> {
  const expected = new Map<string, 'delivered' | 'seen'>();
  for (const callback of acknowledged.values()) {
    const id = callback.message.messageId;
    if (callback.status === 'read') expected.set(id, 'seen');
    else if (!expected.has(id)) expected.set(id, 'delivered');
  }
  const ids = [...expected.keys()];
  const step = Math.max(1, Math.floor(ids.length / sampleSize));
  const sample = ids.filter((_, i) => i % step === 0).slice(0, sampleSize);
  let mismatches = 0;
  let shownTwice = 0;
  for (const id of sample) {
    const { status, body } = await getJson<{ status: string; timeline?: { providerStatus?: string }[] }>(`${serviceUrl}/v3/messages/${id}`, app.headers);
    // At least as far as the acknowledged receipts say: a receipt still in flight when the load stopped may have been applied too.
    if (status !== 200 || STATUS_RANK.indexOf(body?.status ?? '') < STATUS_RANK.indexOf(expected.get(id)!)) mismatches += 1;
    // Each receipt was posted once (or, past the prepared sequence, again as Gupshup's retries are): one timeline entry each.
    const receipts = (body?.timeline ?? []).map((entry) => entry.providerStatus).filter((s) => s === 'delivered' || s === 'read');
    if (new Set(receipts).size !== receipts.length) shownTwice += 1;
  }
  return { checked: sample.length, mismatches, shownTwice };
}
