import { BadRequestException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { parseIsoInstant } from '../../common/input-schemas';
import { AppConfig } from '../../config/app-config';
import { Database } from '../../database/database';
import { WebhookEndpoints } from '../endpoints/webhook-endpoints.service';
import type { DeliveryPage, DeliveryState, DeliveryView, ListDeliveriesParams } from '../endpoints/webhook-endpoint.dto';
import { TEST_EVENT_TYPE } from '../webhook-events';
import { DELIVERIES_CHANNEL, insertDeliveries, queueReplay } from './delivery-records';

const DEFAULT_PAGE_SIZE = 20;

interface DeliveryRow {
  id: string;
  seq: string;
  event_type: string;
  message_id: string | null;
  /** `waiting`: pending behind an earlier delivery of the same message (see the WebhookDeliveryCycle migration). */
  state: DeliveryState | 'waiting';
  body: string;
  created_at: Date;
  due_at: Date;
  delivered_at: Date | null;
  attempts_list: { at: string; statusCode: number | null; durationMs: number; error: string | null }[];
}

function toView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    type: row.event_type,
    messageId: row.message_id,
    // A waiting delivery is pending for the customer, with no time of its own yet.
    status: row.state === 'waiting' ? 'pending' : row.state,
    payload: JSON.parse(row.body) as Record<string, unknown>,
    createdAt: row.created_at.toISOString(),
    nextAttemptAt: row.state === 'pending' ? row.due_at.toISOString() : null,
    deliveredAt: row.delivered_at?.toISOString() ?? null,
    attempts: row.attempts_list.map((attempt) => ({ ...attempt, at: new Date(attempt.at).toISOString() })),
  };
}

function decodeCursor(cursor: string): string {
  if (!/^\d{1,19}$/.test(cursor) || BigInt(cursor) > 9223372036854775807n) throw new BadRequestException('cursor is not valid: pass the nextCursor of the previous page unchanged, or leave it out');
  return cursor;
}

/** The delivery log of an endpoint, and what a customer can ask of it: retry, replay, a test event. */
@Injectable()
export class WebhookDeliveries {
  private readonly logger = new Logger('WebhookDeliveries');

  constructor(
    private readonly db: Database,
    private readonly endpoints: WebhookEndpoints,
    private readonly config: AppConfig,
  ) {}

  async list(appId: string, endpointId: string, params: ListDeliveriesParams): Promise<DeliveryPage> {
    await this.endpoints.row(this.db, appId, endpointId);
    const limit = params.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.db.query<DeliveryRow>(
      `SELECT d.id, d.seq::text, d.event_type, d.message_id, d.state, d.body, d.created_at, d.due_at, d.delivered_at,
              coalesce((SELECT json_agg(json_build_object('at', a.at, 'statusCode', a.status_code, 'durationMs', a.duration_ms, 'error', a.error) ORDER BY a.attempt)
                          FROM (SELECT x.attempt, x.at, x.status_code, x.duration_ms, x.error FROM webhook_delivery_attempts x WHERE x.delivery_id = d.id
                                UNION ALL
                                -- the attempt that closed it, kept in its row
                                SELECT d.attempts, d.final_attempt_at, d.last_status_code, d.final_attempt_duration_ms, d.last_error
                                 WHERE d.final_attempt_at IS NOT NULL) a), '[]') AS attempts_list
         FROM webhook_deliveries d
        WHERE d.endpoint_id = $1 AND ($2::text IS NULL OR d.state = $2 OR ($2 = 'pending' AND d.state = 'waiting')) AND ($3::text IS NULL OR d.message_id = $3)
          AND ($4::bigint IS NULL OR d.seq < $4)
        ORDER BY d.seq DESC
        LIMIT $5`,
      [endpointId, params.status ?? null, params.messageId ?? null, params.cursor ? decodeCursor(params.cursor) : null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return { data: page.map(toView), nextCursor: rows.length > limit ? page[page.length - 1].seq : null };
  }

  /** Sends a delivery again now, with a fresh retry window; one being sent right now is left alone. */
  async retry(appId: string, endpointId: string, deliveryId: string): Promise<{ deliveryId: string; status: DeliveryState }> {
    await this.endpoints.row(this.db, appId, endpointId);
    const retryHours = this.config.get('WEBHOOK_OUT_RETRY_HOURS');
    const rows = await this.db.transaction(async (tx) => {
      const [found] = await tx.query<{ state: DeliveryState | 'waiting' }>('SELECT state FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2 FOR UPDATE', [deliveryId, endpointId]);
      if (!found) throw new NotFoundException('No such delivery for this webhook: list them with GET /v3/webhooks/{id}/deliveries');
      if (found.state === 'in_flight') return [{ state: found.state }];
      // The attempt that closed it joins the earlier ones, as the next attempt will close it.
      await tx.query(
        `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, at, status_code, duration_ms, error)
         SELECT id, attempts, final_attempt_at, last_status_code, final_attempt_duration_ms, last_error FROM webhook_deliveries
          WHERE id = $1 AND final_attempt_at IS NOT NULL
         ON CONFLICT DO NOTHING`,
        [deliveryId],
      );
      // A waiting delivery keeps its place behind the earlier one, with a fresh retry window.
      const updated = await tx.query<{ state: DeliveryState | 'waiting' }>(
        `UPDATE webhook_deliveries SET state = CASE WHEN state = 'waiting' THEN 'waiting' ELSE 'pending' END, due_at = now(),
                final_attempt_at = NULL, final_attempt_duration_ms = NULL,
                give_up_at = now() + make_interval(secs => $2::float8 * 3600), updated_at = now()
          WHERE id = $1 RETURNING state`,
        [deliveryId, retryHours],
      );
      await tx.query('SELECT pg_notify($1, $2)', [DELIVERIES_CHANNEL, '']);
      return updated;
    });
    this.logger.log({ message: 'webhook delivery retry requested', appId, endpointId, deliveryId });
    return { deliveryId, status: rows[0].state === 'waiting' ? 'pending' : rows[0].state };
  }

  /** Queues every status change of the app at or after `from` again, as new deliveries in their original order. */
  async replay(appId: string, endpointId: string, from: string): Promise<{ queued: number }> {
    const fromMs = parseIsoInstant(from);
    const queued = await this.db.transaction(async (tx) => {
      const endpoint = await this.endpoints.row(tx, appId, endpointId);
      return queueReplay(tx, { appId, endpointId, events: endpoint.events, from: new Date(fromMs) }, this.config.get('WEBHOOK_OUT_RETRY_HOURS'));
    });
    this.logger.log({ message: 'webhook replay queued', appId, endpointId, from: new Date(fromMs).toISOString(), deliveries: queued });
    return { queued };
  }

  /** A `webhook.test` delivery, whatever the endpoint's filter. */
  async test(appId: string, endpointId: string): Promise<{ deliveryId: string; status: DeliveryState }> {
    const id = randomUUID();
    const now = new Date();
    await this.db.transaction(async (tx) => {
      await this.endpoints.row(tx, appId, endpointId);
      const body = JSON.stringify({ type: TEST_EVENT_TYPE, timestamp: now.toISOString(), data: { webhookId: endpointId, message: 'A test event from whatsapp-notify' } });
      await insertDeliveries(tx, [{ id, endpointId, appId, messageId: null, eventType: TEST_EVENT_TYPE, body, changeRecordedAt: now }], this.config.get('WEBHOOK_OUT_RETRY_HOURS'));
    });
    this.logger.log({ message: 'webhook test event queued', appId, endpointId, deliveryId: id });
    return { deliveryId: id, status: 'pending' };
  }
}
