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
 * NOTIFY goes out with the commit. A delivery behind an earlier one of the same message to the
 * same endpoint in this statement starts `waiting`: the round that closes the earlier one claims it
 * in the freed slot, or makes it pending.
 */
export async function insertDeliveries(tx: SqlExecutor, deliveries: readonly NewDelivery[], retryHours: number): Promise<void> {
  if (deliveries.length === 0) return;
  await tx.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, app_id, message_id, event_type, body, change_recorded_at, give_up_at, state)
     SELECT d.id, d.endpoint_id, d.app_id, d.message_id, d.event_type, d.body, d.change_recorded_at,
            now() + make_interval(secs => $8::float8 * 3600),
            CASE WHEN d.message_id IS NOT NULL AND row_number() OVER (PARTITION BY d.endpoint_id, d.message_id ORDER BY d.n) > 1 THEN 'waiting' ELSE 'pending' END
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

/**
 * Queues to one endpoint a delivery of every status change of its app recorded at or after
 * `from`, of the event types it takes (null: every type), by the rules of insertDeliveries. In one
 * statement: the bodies go from the changes' rows to the deliveries' without a round trip through
 * the service (a day's replay is tens of megabytes of text otherwise). Returns how many were queued.
 */
export async function queueReplay(
  tx: SqlExecutor,
  replay: { appId: string; endpointId: string; events: readonly string[] | null; from: Date },
  retryHours: number,
): Promise<number> {
  const [row] = await tx.query<{ queued: number }>(
    `WITH queued AS (
       INSERT INTO webhook_deliveries (id, endpoint_id, app_id, message_id, event_type, body, change_recorded_at, give_up_at, state)
       SELECT gen_random_uuid(), $3::uuid, c.app_id, c.message_id, c.event_type, c.body, c.recorded_at,
              now() + make_interval(secs => $5::float8 * 3600),
              CASE WHEN c.message_id IS NOT NULL AND row_number() OVER (PARTITION BY c.message_id ORDER BY c.seq) > 1 THEN 'waiting' ELSE 'pending' END
         FROM webhook_status_changes c
        WHERE c.app_id = $1 AND c.at >= $2 AND ($4::text[] IS NULL OR c.event_type = ANY ($4::text[]))
        ORDER BY c.seq
       RETURNING 1)
     SELECT count(*)::integer AS queued FROM queued`,
    [replay.appId, replay.from, replay.endpointId, replay.events, retryHours],
  );
  if (row.queued > 0) await tx.query('SELECT pg_notify($1, $2)', [DELIVERIES_CHANNEL, '']);
  return row.queued;
}

export interface StatusChange {
  appId: string;
  messageId: string;
  /** The event type (message.sent, ...). */
  type: string;
  /** The change's own time (ISO 8601). */
  at: string;
  body: string;
  recordedAt: Date;
}

/*
 * Each change is kept (for replay) and becomes a delivery to every enabled endpoint of its app
 * that wants its type, in one statement: the deliveries take their body from the changes' rows,
 * in the changes' order and then the endpoints' (their `seq`), those behind an earlier one of
 * the same message and endpoint `waiting`, and the NOTIFY goes out with the commit when there is any.
 */
const INSERT_STATUS_CHANGES_SQL = `
  WITH changes AS (
    INSERT INTO webhook_status_changes (app_id, message_id, event_type, at, body, recorded_at)
    SELECT c.app_id, c.message_id, c.event_type, c.at, c.body, c.recorded_at
      FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::timestamptz[])
           WITH ORDINALITY AS c (app_id, message_id, event_type, at, body, recorded_at, n)
     ORDER BY c.n
    RETURNING seq, app_id, message_id, event_type, body, recorded_at),
  deliveries AS (
    INSERT INTO webhook_deliveries (id, endpoint_id, app_id, message_id, event_type, body, change_recorded_at, give_up_at, state)
    SELECT gen_random_uuid(), e.id, c.app_id, c.message_id, c.event_type, c.body, c.recorded_at, now() + make_interval(secs => $7::float8 * 3600),
           CASE WHEN row_number() OVER (PARTITION BY e.id, c.message_id ORDER BY c.seq) > 1 THEN 'waiting' ELSE 'pending' END
      FROM changes c
      JOIN webhook_endpoints e ON e.app_id = c.app_id AND e.enabled AND (e.events IS NULL OR c.event_type = ANY (e.events))
     ORDER BY c.seq, e.created_at, e.id
    RETURNING 1)
  SELECT pg_notify($8, '') FROM (SELECT 1 FROM deliveries LIMIT 1) AS any_delivery`;

/** Keeps status changes and queues their deliveries (see INSERT_STATUS_CHANGES_SQL), each to be given up `retryHours` after it is created. */
export async function insertStatusChanges(tx: SqlExecutor, changes: readonly StatusChange[], retryHours: number): Promise<void> {
  if (changes.length === 0) return;
  await tx.query(INSERT_STATUS_CHANGES_SQL, [
    changes.map((c) => c.appId),
    changes.map((c) => c.messageId),
    changes.map((c) => c.type),
    changes.map((c) => c.at),
    changes.map((c) => c.body),
    changes.map((c) => c.recordedAt),
    retryHours,
    DELIVERIES_CHANNEL,
  ]);
}
