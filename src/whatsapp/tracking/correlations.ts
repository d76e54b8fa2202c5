import type { SqlExecutor } from '../../database/database';
import { fromStoredReport, type StoredReport } from './delivery-report';
import type { ParkedReport } from './parked-callbacks';
import type { ProviderKey } from './tracking-locks';

/** The message a provider id names, with the Gupshup id that message was sent with (when known). */
export interface Correlation {
  messageId: string;
  gupshupMessageId?: string;
}

export function correlationKeyString(key: ProviderKey): string {
  return `${key.appId}\u0000${key.kind}\u0000${key.providerId}`;
}

/** Looks up many provider ids at once; the map is keyed by correlationKeyString. */
export async function findCorrelations(tx: SqlExecutor, keys: readonly ProviderKey[]): Promise<Map<string, Correlation>> {
  const found = new Map<string, Correlation>();
  if (keys.length === 0) return found;
  const rows = await tx.query<{ app_id: string; provider_id_kind: 'gupshup' | 'whatsapp'; provider_id: string; message_id: string; gupshup_id: string | null }>(
    `SELECT c.app_id, c.provider_id_kind, c.provider_id, c.message_id,
            CASE WHEN c.provider_id_kind = 'gupshup' THEN c.provider_id
                 ELSE (SELECT g.provider_id FROM tracking_correlations g
                        WHERE g.message_id = c.message_id AND g.app_id = c.app_id AND g.provider_id_kind = 'gupshup'
                        ORDER BY g.provider_id LIMIT 1) END AS gupshup_id
       FROM unnest($1::text[], $2::text[], $3::text[]) AS k(app_id, kind, provider_id)
       JOIN tracking_correlations c ON c.app_id = k.app_id AND c.provider_id_kind = k.kind AND c.provider_id = k.provider_id`,
    [keys.map((k) => k.appId), keys.map((k) => k.kind), keys.map((k) => k.providerId)],
  );
  for (const row of rows) {
    found.set(correlationKeyString({ appId: row.app_id, kind: row.provider_id_kind, providerId: row.provider_id }), {
      messageId: row.message_id,
      ...(row.gupshup_id !== null && { gupshupMessageId: row.gupshup_id }),
    });
  }
  return found;
}

/**
 * Records that these provider ids name these messages. An id already taken keeps its first
 * message (a Gupshup id is unique per send; a second claim is a provider or replay oddity).
 * Returns the keys that are new, as correlationKeyString.
 */
export async function registerCorrelations(tx: SqlExecutor, entries: readonly (ProviderKey & { messageId: string })[]): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const rows = await tx.query<{ app_id: string; provider_id_kind: 'gupshup' | 'whatsapp'; provider_id: string }>(
    `INSERT INTO tracking_correlations (app_id, provider_id_kind, provider_id, message_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
     ON CONFLICT (app_id, provider_id_kind, provider_id) DO NOTHING
     RETURNING app_id, provider_id_kind, provider_id`,
    [entries.map((e) => e.appId), entries.map((e) => e.kind), entries.map((e) => e.providerId), entries.map((e) => e.messageId)],
  );
  return new Set(rows.map((row) => correlationKeyString({ appId: row.app_id, kind: row.provider_id_kind, providerId: row.provider_id })));
}

/**
 * Records WhatsApp ids of known messages and, in the same statement, removes and returns the
 * waiting reports that carried only one of the ids that are new (late receipts without gsId that
 * arrived before any callback taught the id). Call with the ids' locks held.
 */
export async function registerWhatsappIds(
  tx: SqlExecutor,
  entries: readonly (Omit<ProviderKey, 'kind'> & { messageId: string })[],
): Promise<{ registered: Set<string>; unparked: ParkedReport[] }> {
  if (entries.length === 0) return { registered: new Set(), unparked: [] };
  const rows = await tx.query<{ app_id: string; provider_id: string | null; parked_id: string | null; report: StoredReport | null; received_at: Date | null }>(
    `WITH registered AS (
       INSERT INTO tracking_correlations (app_id, provider_id_kind, provider_id, message_id)
       SELECT app_id, 'whatsapp', provider_id, message_id FROM unnest($1::text[], $2::text[], $3::text[]) AS e(app_id, provider_id, message_id)
       ON CONFLICT (app_id, provider_id_kind, provider_id) DO NOTHING
       RETURNING app_id, provider_id
     ),
     unparked AS (
       DELETE FROM parked_callbacks p USING registered r
        WHERE p.state = 'waiting' AND p.gupshup_message_id IS NULL AND p.app_id = r.app_id AND p.whatsapp_message_id = r.provider_id
       RETURNING p.id, p.app_id, p.report, p.received_at
     )
     SELECT app_id, provider_id, NULL::bigint AS parked_id, NULL::jsonb AS report, NULL::timestamptz AS received_at FROM registered
     UNION ALL
     SELECT app_id, NULL, id, report, received_at FROM unparked`,
    [entries.map((e) => e.appId), entries.map((e) => e.providerId), entries.map((e) => e.messageId)],
  );
  const registered = new Set<string>();
  const unparked: ParkedReport[] = [];
  for (const row of rows) {
    if (row.parked_id === null) registered.add(correlationKeyString({ appId: row.app_id, kind: 'whatsapp', providerId: row.provider_id! }));
    else unparked.push({ id: row.parked_id, appId: row.app_id, report: fromStoredReport(row.report!), receivedAt: row.received_at! });
  }
  return { registered, unparked };
}
