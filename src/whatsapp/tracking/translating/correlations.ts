import type { SqlExecutor } from '../../../database/database';

export type ProviderIdKind = 'gupshup' | 'whatsapp';

/** One provider id of one app: what a callback names and a correlation maps to a message. */
export interface ProviderKey {
  appId: string;
  kind: ProviderIdKind;
  providerId: string;
}

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
                 ELSE coalesce(c.gupshup_id, (SELECT g.provider_id FROM tracking_correlations g
                        WHERE g.message_id = c.message_id AND g.app_id = c.app_id AND g.provider_id_kind = 'gupshup'
                        ORDER BY g.provider_id LIMIT 1)) END AS gupshup_id
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
 * tracking_correlations is written by the translator alone, which reads the log in order: no
 * lock is needed around "look up, else park" or "register, then apply what is parked".
 *
 * Records that these provider ids name these messages. An id already taken keeps its first
 * message (a Gupshup id is unique per send; a second claim is a provider or replay oddity).
 * Returns the keys that are new, as correlationKeyString.
 */
export async function registerCorrelations(
  tx: SqlExecutor,
  entries: readonly (ProviderKey & { messageId: string; gupshupMessageId?: string })[],
): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const rows = await tx.query<{ app_id: string; provider_id_kind: 'gupshup' | 'whatsapp'; provider_id: string }>(
    `INSERT INTO tracking_correlations (app_id, provider_id_kind, provider_id, message_id, gupshup_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
     ON CONFLICT (app_id, provider_id_kind, provider_id) DO NOTHING
     RETURNING app_id, provider_id_kind, provider_id`,
    [
      entries.map((e) => e.appId),
      entries.map((e) => e.kind),
      entries.map((e) => e.providerId),
      entries.map((e) => e.messageId),
      // Kept for a WhatsApp id only: a Gupshup id's own row is its Gupshup id.
      entries.map((e) => (e.kind === 'whatsapp' ? (e.gupshupMessageId ?? null) : null)),
    ],
  );
  return new Set(rows.map((row) => correlationKeyString({ appId: row.app_id, kind: row.provider_id_kind, providerId: row.provider_id })));
}
