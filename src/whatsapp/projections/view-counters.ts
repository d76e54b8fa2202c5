import type { SqlExecutor } from '../../database/database';
import { MESSAGE_STATUSES } from '../domain';
import { storableTime } from './message-status-row';
import {
  billableDeltas,
  DAILY_METRICS,
  dailyStatsDeltas,
  statusCountDeltas,
  SUMMARY_COUNTERS,
  summaryDeltas,
  type MessageChange,
} from './view-deltas';

/** What NotificationRequested events say about their request. */
export interface RequestFacts {
  appId: string;
  requestedAt: string | null;
  category: string | null;
  /** The `notification` object as requested. */
  notification: Record<string, unknown> | null;
}

/** Orders rows by their key, so that concurrent writers of the same rows lock them in one order (no deadlock). */
function byKey(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/**
 * The changes to the counter tables (per-request summaries, daily statistics, status counts),
 * summed over any number of message changes and requests, then written with one upsert per table.
 * The live projection makes one per batch; a rebuild from zero one for the whole log.
 */
export class ViewCounters {
  private readonly summaries = summaryDeltas([]);
  private readonly dailyStats = dailyStatsDeltas([]);
  private readonly statusCounts = statusCountDeltas([]);
  private readonly billable = billableDeltas([]);
  private readonly firstQueuedAt = new Map<string, string>();
  private readonly requests = new Map<string, RequestFacts>();

  addChanges(changes: readonly MessageChange[]): void {
    summaryDeltas(changes, this.summaries);
    dailyStatsDeltas(changes, this.dailyStats);
    statusCountDeltas(changes, this.statusCounts);
    billableDeltas(changes, this.billable);
    for (const { after } of changes) {
      const queuedAt = storableTime(after.queuedAt);
      if (!after.requestId || !queuedAt) continue;
      const current = this.firstQueuedAt.get(after.requestId);
      if (current === undefined || queuedAt < current) this.firstQueuedAt.set(after.requestId, queuedAt);
    }
  }

  /** A request's own facts; of two for one request, the earliest time counts, as in the table. */
  addRequest(requestId: string, facts: RequestFacts): void {
    const current = this.requests.get(requestId);
    if (!current || (facts.requestedAt !== null && (current.requestedAt === null || facts.requestedAt < current.requestedAt))) {
      this.requests.set(requestId, { ...facts, appId: current?.appId ?? facts.appId });
    }
  }

  async write(tx: SqlExecutor): Promise<void> {
    await this.writeSummaries(tx);
    await this.writeDailyStats(tx);
    await this.writeStatusCounts(tx);
    await this.writeBillable(tx);
  }

  private async writeSummaries(tx: SqlExecutor): Promise<void> {
    const records = new Map<string, Record<string, unknown>>();
    for (const { key, counts } of this.summaries.changes(SUMMARY_COUNTERS)) {
      records.set(key.requestId, {
        request_id: key.requestId,
        app_id: key.appId,
        requested_at: null,
        category: null,
        notification: null,
        first_queued_at: this.firstQueuedAt.get(key.requestId) ?? null,
        ...Object.fromEntries(MESSAGE_STATUSES.map((status) => [status, counts[status]])),
        message_count: counts.messages,
      });
    }
    for (const [requestId, facts] of this.requests) {
      const record = records.get(requestId);
      if (record) Object.assign(record, { requested_at: facts.requestedAt, category: facts.category, notification: facts.notification });
      else {
        records.set(requestId, {
          request_id: requestId,
          app_id: facts.appId,
          requested_at: facts.requestedAt,
          category: facts.category,
          notification: facts.notification,
          first_queued_at: null,
          ...Object.fromEntries(MESSAGE_STATUSES.map((status) => [status, 0])),
          message_count: 0,
        });
      }
    }
    if (records.size === 0) return;
    // least() skips nulls: each time is the earliest ever seen, whatever the batches were.
    await tx.query(
      `INSERT INTO notification_summary_view AS s (
         request_id, app_id, requested_at, first_queued_at, queued, sent, delivered, seen, discarded, message_count, category,
         notification, updated_at)
       SELECT r.request_id, r.app_id, r.requested_at, r.first_queued_at, r.queued, r.sent, r.delivered, r.seen, r.discarded,
              r.message_count, r.category, r.notification, now()
         FROM json_to_recordset($1::json) AS r(
           request_id text, app_id text, requested_at timestamptz, first_queued_at timestamptz,
           queued integer, sent integer, delivered integer, seen integer, discarded integer, message_count integer,
           category text, notification json)
       ON CONFLICT (request_id) DO UPDATE SET
         requested_at = least(s.requested_at, EXCLUDED.requested_at),
         -- Only the request's own event carries these: a message's batch leaves them as they are.
         category = coalesce(EXCLUDED.category, s.category),
         notification = coalesce(EXCLUDED.notification, s.notification),
         first_queued_at = least(s.first_queued_at, EXCLUDED.first_queued_at),
         queued = s.queued + EXCLUDED.queued, sent = s.sent + EXCLUDED.sent,
         delivered = s.delivered + EXCLUDED.delivered, seen = s.seen + EXCLUDED.seen,
         discarded = s.discarded + EXCLUDED.discarded, message_count = s.message_count + EXCLUDED.message_count,
         updated_at = now()
       -- A NotificationRequested read again changes nothing, and then writes nothing.
       WHERE EXCLUDED.message_count <> 0 OR EXCLUDED.queued <> 0 OR EXCLUDED.sent <> 0 OR EXCLUDED.delivered <> 0
          OR EXCLUDED.seen <> 0 OR EXCLUDED.discarded <> 0
          OR s.requested_at IS DISTINCT FROM least(s.requested_at, EXCLUDED.requested_at)
          OR s.first_queued_at IS DISTINCT FROM least(s.first_queued_at, EXCLUDED.first_queued_at)
          OR (s.notification IS NULL AND EXCLUDED.notification IS NOT NULL)`,
      // In key order: partitions of the projection running at once then lock shared rows in the same order.
      [JSON.stringify([...records.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, record]) => record))],
    );
  }

  private async writeDailyStats(tx: SqlExecutor): Promise<void> {
    const deltas = this.dailyStats.changes(DAILY_METRICS);
    if (deltas.length === 0) return;
    const records = JSON.stringify(
      deltas
        .map(({ key, counts }) => ({ app_id: key.appId, day: key.day, category: key.category, template: key.template, ...counts }))
        .sort((a, b) => byKey([a.app_id, a.day, a.category, a.template], [b.app_id, b.day, b.category, b.template])),
    );
    await tx.query(
      `INSERT INTO whatsapp_daily_stats AS d (app_id, day, category, template, sent, delivered, seen, discarded)
       SELECT r.app_id, r.day, r.category, r.template, r.sent, r.delivered, r.seen, r.discarded
         FROM json_to_recordset($1::json) AS r(
           app_id text, day date, category text, template text, sent integer, delivered integer, seen integer, discarded integer)
       ON CONFLICT (app_id, day, category, template) DO UPDATE SET
         sent = d.sent + EXCLUDED.sent, delivered = d.delivered + EXCLUDED.delivered,
         seen = d.seen + EXCLUDED.seen, discarded = d.discarded + EXCLUDED.discarded`,
      [records],
    );
    // A day whose every count went back to zero is dropped, as if it had never been counted:
    // the table then depends on the events only, not on how they were batched.
    if (deltas.some((delta) => delta.decreased)) {
      await tx.query(
        `DELETE FROM whatsapp_daily_stats d
          USING json_to_recordset($1::json) AS r(app_id text, day date, category text, template text)
          WHERE d.app_id = r.app_id AND d.day = r.day AND d.category = r.category AND d.template = r.template
            AND d.sent = 0 AND d.delivered = 0 AND d.seen = 0 AND d.discarded = 0`,
        [records],
      );
    }
  }

  private async writeStatusCounts(tx: SqlExecutor): Promise<void> {
    const deltas = this.statusCounts.changes(['messages']);
    if (deltas.length === 0) return;
    const records = JSON.stringify(
      deltas
        .map(({ key, counts }) => ({ app_id: key.appId, status: key.status, messages: counts.messages }))
        .sort((a, b) => byKey([a.app_id, a.status], [b.app_id, b.status])),
    );
    await tx.query(
      `INSERT INTO whatsapp_message_status_counts AS c (app_id, status, messages)
       SELECT r.app_id, r.status, r.messages FROM json_to_recordset($1::json) AS r(app_id text, status text, messages bigint)
       ON CONFLICT (app_id, status) DO UPDATE SET messages = c.messages + EXCLUDED.messages`,
      [records],
    );
    if (deltas.some((delta) => delta.decreased)) {
      await tx.query(
        `DELETE FROM whatsapp_message_status_counts c
          USING json_to_recordset($1::json) AS r(app_id text, status text)
          WHERE c.app_id = r.app_id AND c.status = r.status AND c.messages = 0`,
        [records],
      );
    }
  }

  private async writeBillable(tx: SqlExecutor): Promise<void> {
    const deltas = this.billable.changes(['billable']);
    if (deltas.length === 0) return;
    const records = JSON.stringify(
      deltas.map(({ key, counts }) => ({
        app_id: key.appId,
        day: key.day,
        category: key.category,
        template: key.template,
        pricing_category: key.pricingCategory,
        billable: counts.billable,
      })),
    );
    await tx.query(
      `INSERT INTO whatsapp_daily_billable AS b (app_id, day, category, template, pricing_category, billable)
       SELECT r.app_id, r.day, r.category, r.template, r.pricing_category, r.billable
         FROM json_to_recordset($1::json) AS r(app_id text, day date, category text, template text, pricing_category text, billable integer)
       ON CONFLICT (app_id, day, category, template, pricing_category) DO UPDATE SET billable = b.billable + EXCLUDED.billable`,
      [records],
    );
    if (deltas.some((delta) => delta.decreased)) {
      await tx.query(
        `DELETE FROM whatsapp_daily_billable b
          USING json_to_recordset($1::json) AS r(app_id text, day date, category text, template text, pricing_category text)
          WHERE b.app_id = r.app_id AND b.day = r.day AND b.category = r.category AND b.template = r.template
            AND b.pricing_category = r.pricing_category AND b.billable = 0`,
        [records],
      );
    }
  }
}
