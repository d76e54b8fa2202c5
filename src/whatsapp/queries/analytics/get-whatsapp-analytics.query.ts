import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { z } from 'zod';
import { ReadDatabase } from '../../../database/read-database';
import { EARLIEST_TIME, parseIsoInstant } from '../../../common/input-schemas';
import { InvalidQueryError } from '../../../common/validation';
import { appIdSchema, checkedQueryInput } from '../query-input';
import {
  DEFAULT_ANALYTICS_DAYS,
  MAX_ANALYTICS_DAYS,
  whatsAppAnalyticsQuerySchema,
  type WhatsAppAnalyticsParams,
  type WhatsAppAnalyticsResponse,
  type WhatsAppDailyStatsResponse,
  type WhatsAppStatsResponse,
} from './whatsapp-analytics.dto';

const DAY_MS = 86_400_000;

/** The query's `now`: a Date that is a time (not an Invalid Date). */
const NOW_SCHEMA = z.date();

/**
 * The filters of GetWhatsAppAnalyticsQuery: the query parameters of GET /v3/analytics/whatsapp,
 * checked by the same schema (whatsAppAnalyticsQuerySchema): the days (ISO dates or times; see
 * the DTO for defaults), which messages count, and how the totals are broken down.
 */
export type AnalyticsFilters = WhatsAppAnalyticsParams;

/** The app's WhatsApp statistics per UTC day over [from, to]. */
export class GetWhatsAppAnalyticsQuery extends Query<WhatsAppAnalyticsResponse> {
  constructor(
    readonly appId: string,
    readonly filters: AnalyticsFilters = {},
    /** Today, for the defaults; a parameter so that the range is computed once per request. */
    readonly now: Date = new Date(),
  ) {
    super();
  }
}

interface DailyRow {
  day: string;
  /** The category or template grouped by ('' for none); '' when not grouped. */
  value: string;
  sent: number;
  delivered: number;
  seen: number;
  discarded: number;
}

@QueryHandler(GetWhatsAppAnalyticsQuery)
export class GetWhatsAppAnalyticsHandler implements IQueryHandler<GetWhatsAppAnalyticsQuery, WhatsAppAnalyticsResponse> {
  constructor(private readonly db: ReadDatabase) {}

  async execute(query: GetWhatsAppAnalyticsQuery): Promise<WhatsAppAnalyticsResponse> {
    // Filters from another module come as they are: checked here as GET /v3/analytics/whatsapp checks its query.
    const appId = checkedQueryInput(appIdSchema, query.appId, 'appId');
    const filters = checkedQueryInput(whatsAppAnalyticsQuerySchema, query.filters, 'filters');
    const now = checkedQueryInput(NOW_SCHEMA, query.now, 'now');
    const { fromDay, toDay } = dayRange({ ...filters, now });
    const { category, template, groupBy } = filters;
    const values: unknown[] = [appId, dayText(fromDay), dayText(toDay)];
    const where = ['app_id = $1', 'day BETWEEN $2::date AND $3::date'];
    // The table keeps '' for none; the filters name a category or template, never ''.
    if (category !== undefined) where.push(`category = $${values.push(category)}`);
    if (template !== undefined) where.push(`template = $${values.push(template)}`);
    const value = groupBy === undefined ? `''` : groupBy;
    const rows = await this.db.query<DailyRow>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, ${value} AS value,
              sum(sent)::integer AS sent, sum(delivered)::integer AS delivered, sum(seen)::integer AS seen, sum(discarded)::integer AS discarded
         FROM whatsapp_daily_stats WHERE ${where.join(' AND ')}
        GROUP BY 1, 2`,
      values,
    );
    const billableRows = await this.db.query<BillableRow>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, ${value} AS value, pricing_category, sum(billable)::integer AS billable
         FROM whatsapp_daily_billable WHERE ${where.join(' AND ')}
        GROUP BY 1, 2, 3`,
      values,
    );
    const byDay = new Map<string, Counts>();
    const byValue = new Map<string, Counts>();
    for (const row of rows) {
      addTo(byDay, row.day, row);
      addTo(byValue, row.value, row);
    }
    for (const row of billableRows) {
      const counts = { ...zeroCounts(), billable: row.billable, billableByCategory: { [row.pricing_category || UNKNOWN_PRICING_CATEGORY]: row.billable } };
      addTo(byDay, row.day, counts);
      addTo(byValue, row.value, counts);
    }
    const days: WhatsAppDailyStatsResponse[] = [];
    const totals = zeroCounts();
    for (let day = fromDay; day <= toDay; day += DAY_MS) {
      const date = dayText(day);
      const counts = byDay.get(date) ?? zeroCounts();
      addCounts(totals, counts);
      days.push({ date, ...withRates(counts) });
    }
    const response: WhatsAppAnalyticsResponse = { from: dayText(fromDay), to: dayText(toDay), days, totals: withRates(totals) };
    if (groupBy !== undefined) {
      response.breakdown = [...byValue]
        .map(([name, counts]) => ({ value: name === '' ? null : name, ...withRates(counts) }))
        .sort((a, b) => b.sent - a.sent || (a.value ?? '').localeCompare(b.value ?? ''));
    }
    return response;
  }
}

interface BillableRow {
  day: string;
  value: string;
  pricing_category: string;
  billable: number;
}

/** How the billable messages whose reports named no pricing category are shown. */
const UNKNOWN_PRICING_CATEGORY = 'unknown';

interface Counts {
  sent: number;
  delivered: number;
  seen: number;
  discarded: number;
  billable: number;
  billableByCategory: Record<string, number>;
}

function zeroCounts(): Counts {
  return { sent: 0, delivered: 0, seen: 0, discarded: 0, billable: 0, billableByCategory: {} };
}

function addCounts(into: Counts, counts: Omit<Counts, 'billable' | 'billableByCategory'> & Partial<Counts>): void {
  into.sent += counts.sent;
  into.delivered += counts.delivered;
  into.seen += counts.seen;
  into.discarded += counts.discarded;
  into.billable += counts.billable ?? 0;
  for (const [category, billable] of Object.entries(counts.billableByCategory ?? {})) {
    into.billableByCategory[category] = (into.billableByCategory[category] ?? 0) + billable;
  }
}

function addTo(map: Map<string, Counts>, key: string, counts: Omit<Counts, 'billable' | 'billableByCategory'> & Partial<Counts>): void {
  let entry = map.get(key);
  if (!entry) map.set(key, (entry = zeroCounts()));
  addCounts(entry, counts);
}

/** Midnight UTC (ms) of the first and last day asked for, checked: in order, at most MAX_ANALYTICS_DAYS. */
export function dayRange({ from, to, now }: { from?: string; to?: string; now: Date }): { fromDay: number; toDay: number } {
  const toDay = to === undefined ? startOfUtcDay(now.getTime()) : parseDay('to', to);
  // The default range never reaches before year 1, which PostgreSQL's dates do not have.
  const fromDay = from === undefined ? Math.max(toDay - (DEFAULT_ANALYTICS_DAYS - 1) * DAY_MS, Date.parse(EARLIEST_TIME)) : parseDay('from', from);
  if (fromDay > toDay) {
    throw new InvalidQueryError([`from (${dayText(fromDay)}) is after to (${dayText(toDay)}): from must be the earlier day`]);
  }
  const days = (toDay - fromDay) / DAY_MS + 1;
  if (days > MAX_ANALYTICS_DAYS) {
    throw new InvalidQueryError([`from and to span ${days} days; ask for at most ${MAX_ANALYTICS_DAYS} days at a time`]);
  }
  return { fromDay, toDay };
}

function parseDay(name: string, text: string): number {
  const ms = parseIsoInstant(text);
  if (Number.isNaN(ms)) throw new InvalidQueryError([`${name} must be a date (YYYY-MM-DD) or an ISO 8601 time between years 1 and 9999, e.g. 2026-03-01`]);
  return startOfUtcDay(ms);
}

function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function dayText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function withRates(counts: Counts): WhatsAppStatsResponse {
  const rate = (part: number) => (counts.sent === 0 ? null : Math.round((part / counts.sent) * 10_000) / 10_000);
  return {
    sent: counts.sent,
    delivered: counts.delivered,
    seen: counts.seen,
    discarded: counts.discarded,
    deliveryRate: rate(counts.delivered),
    seenRate: rate(counts.seen),
    billable: counts.billable,
    billableByCategory: { ...counts.billableByCategory },
  };
}
