import type { SqlExecutor } from '../../database/database';

/** Senders LISTEN here; a commit that adds deliveries wakes them. */
export const DELIVERIES_CHANNEL = 'webhook_deliveries_added';

export interface NewDelivery {
  id: string;
  endpointId: string;
  appId: string;
  messageId: string | null;
  eventType: string;
  body: string;
  changeRecordedAt: Date;
}

/**
 * Inserts deliveries in one statement, in the given order (their `seq`, which orders a message's
 * deliveries to an endpoint), each to be given up `retryHours` after it is created; the
 * NOTIFY goes out with the commit.
 */
export async function insertDeliveries(tx: SqlExecutor, deliveries: readonly NewDelivery[], retryHours: number): Promise<void> {
  if (deliveries.length === 0) return;
  await tx.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, app_id, message_id, event_type, body, change_recorded_at, give_up_at)
     SELECT d.id, d.endpoint_id, d.app_id, d.message_id, d.event_type, d.body, d.change_recorded_at,
            now() + make_interval(secs => $8::float8 * 3600)
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
            WITH ORDINALITY AS d (id, endpoint_id, app_id, message_id, event_type, body, change_recorded_at, n)
      ORDER BY d.n`,
    [
      deliveries.map((d) => d.id),
      deliveries.map((d) => d.endpointId),
      deliveries.map((d) => d.appId),
      deliveries.map((d) => d.messageId),
      deliveries.map((d) => d.eventType),
      deliveries.map((d) => d.body),
      deliveries.map((d) => d.changeRecordedAt),
      retryHours,
    ],
  );
  await tx.query('SELECT pg_notify($1, $2)', [DELIVERIES_CHANNEL, '']);
}

export interface EndpointSubscription {
  id: string;
  appId: string;
  /** Null: every event type. */
  events: string[] | null;
}

/** The enabled endpoints of these apps, with their filters. */
export async function enabledEndpoints(tx: SqlExecutor, appIds: readonly string[]): Promise<EndpointSubscription[]> {
  if (appIds.length === 0) return [];
  const rows = await tx.query<{ id: string; app_id: string; events: string[] | null }>(
    'SELECT id, app_id, events FROM webhook_endpoints WHERE enabled AND app_id = ANY ($1::text[]) ORDER BY created_at, id',
    [appIds],
  );
  return rows.map((row) => ({ id: row.id, appId: row.app_id, events: row.events }));
}

export function wants(endpoint: Pick<EndpointSubscription, 'events'>, eventType: string): boolean {
  return endpoint.events === null || endpoint.events.includes(eventType);
}
