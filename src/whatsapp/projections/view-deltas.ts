import { MESSAGE_STATUSES, utcDayOf, type MessageStatus, type MessageView } from '../domain';

/** One message's view before a batch (null: not projected yet) and after it. */
export interface MessageChange {
  before: MessageView | null;
  after: MessageView;
}

export const DAILY_METRICS = ['sent', 'delivered', 'seen', 'discarded'] as const;
export type DailyMetric = (typeof DAILY_METRICS)[number];

/**
 * The UTC day on which a message counts for each status it has reached. A message counts once
 * per status: `sent` when Gupshup accepted it (or, lacking that record, when it was delivered),
 * `delivered` when it reached the phone (a seen message was delivered too, even if that receipt
 * never came), `seen` when it was read, `discarded` only while discarded is its status: a
 * failure followed by delivery evidence stops counting as discarded.
 */
export function dailyContributions(view: MessageView): Partial<Record<DailyMetric, string>> {
  const reachedPhone = view.status === 'delivered' || view.status === 'seen';
  const deliveredAt = reachedPhone ? (view.deliveredAt ?? view.seenAt) : null;
  const times: Record<DailyMetric, string | null> = {
    sent: view.sentAt ?? deliveredAt,
    delivered: deliveredAt,
    seen: view.status === 'seen' ? view.seenAt : null,
    discarded: view.status === 'discarded' ? view.discardedAt : null,
  };
  const days: Partial<Record<DailyMetric, string>> = {};
  for (const metric of DAILY_METRICS) {
    const day = utcDay(times[metric]);
    if (day) days[metric] = day;
  }
  return days;
}

function utcDay(iso: string | null): string | null {
  return iso === null ? null : utcDayOf(iso);
}

/**
 * Signed changes to counters, summed per key. Keys whose changes cancel out are dropped, so
 * that a batch in which nothing countable changed writes nothing.
 */
export class CounterDeltas<Key extends object, Counter extends string> {
  private readonly byKey = new Map<string, { key: Key; counts: Map<Counter, number> }>();

  constructor(private readonly keyOf: (key: Key) => string) {}

  add(key: Key, counter: Counter, by: number): void {
    const id = this.keyOf(key);
    let entry = this.byKey.get(id);
    if (!entry) {
      entry = { key, counts: new Map() };
      this.byKey.set(id, entry);
    }
    entry.counts.set(counter, (entry.counts.get(counter) ?? 0) + by);
  }

  /** Each key with a non-zero change, its counters (zero when unchanged) and whether any went down. */
  changes(counters: readonly Counter[]): Array<{ key: Key; counts: Record<Counter, number>; decreased: boolean }> {
    const result: Array<{ key: Key; counts: Record<Counter, number>; decreased: boolean }> = [];
    for (const { key, counts } of this.byKey.values()) {
      if ([...counts.values()].every((value) => value === 0)) continue;
      const full = Object.fromEntries(counters.map((counter) => [counter, counts.get(counter) ?? 0])) as Record<Counter, number>;
      result.push({ key, counts: full, decreased: counters.some((counter) => full[counter] < 0) });
    }
    return result;
  }
}

export interface SummaryKey {
  requestId: string;
  appId: string;
}
export type SummaryCounter = MessageStatus | 'messages';
export const SUMMARY_COUNTERS: readonly SummaryCounter[] = [...MESSAGE_STATUSES, 'messages'];

/**
 * How each request's counts per status change: a message leaves its old status and joins its new one.
 * Added to `deltas` when given (this and the functions below), so that changes can be summed over batches.
 */
export function summaryDeltas(
  changes: Iterable<MessageChange>,
  deltas = new CounterDeltas<SummaryKey, SummaryCounter>((key) => key.requestId),
): CounterDeltas<SummaryKey, SummaryCounter> {
  for (const { before, after } of changes) {
    if (before?.requestId) {
      deltas.add({ requestId: before.requestId, appId: before.appId }, before.status, -1);
      deltas.add({ requestId: before.requestId, appId: before.appId }, 'messages', -1);
    }
    if (after.requestId) {
      deltas.add({ requestId: after.requestId, appId: after.appId }, after.status, 1);
      deltas.add({ requestId: after.requestId, appId: after.appId }, 'messages', 1);
    }
  }
  return deltas;
}

export interface DailyStatsKey {
  appId: string;
  day: string;
  /** '' for none, as in the table's key. */
  category: string;
  template: string;
}

function dailyStatsKey(view: MessageView, day: string): DailyStatsKey {
  return { appId: view.appId, day, category: view.category ?? '', template: view.template ?? '' };
}

/** How each app's daily statistics (per category and template) change: the old view's contributions out, the new one's in. */
export function dailyStatsDeltas(
  changes: Iterable<MessageChange>,
  deltas = new CounterDeltas<DailyStatsKey, DailyMetric>((key) => JSON.stringify([key.appId, key.day, key.category, key.template])),
): CounterDeltas<DailyStatsKey, DailyMetric> {
  for (const { before, after } of changes) {
    if (before) {
      for (const [metric, day] of Object.entries(dailyContributions(before)) as [DailyMetric, string][]) {
        deltas.add(dailyStatsKey(before, day), metric, -1);
      }
    }
    for (const [metric, day] of Object.entries(dailyContributions(after)) as [DailyMetric, string][]) {
      deltas.add(dailyStatsKey(after, day), metric, 1);
    }
  }
  return deltas;
}

export interface StatusCountKey {
  appId: string;
  status: MessageStatus;
}

/** How many messages each app has in each status. */
export function statusCountDeltas(
  changes: Iterable<MessageChange>,
  deltas = new CounterDeltas<StatusCountKey, 'messages'>((key) => `${key.appId}\u0000${key.status}`),
): CounterDeltas<StatusCountKey, 'messages'> {
  for (const { before, after } of changes) {
    if (before) deltas.add({ appId: before.appId, status: before.status }, 'messages', -1);
    deltas.add({ appId: after.appId, status: after.status }, 'messages', 1);
  }
  return deltas;
}

export interface BillableKey extends DailyStatsKey {
  /** Gupshup's pricing category ('' when no report named one). */
  pricingCategory: string;
}

/**
 * The day and pricing category a message counts under as billable, or null when no report said
 * it is: the day it was sent (or, lacking that record, delivered, seen or queued).
 */
export function billableContribution(view: MessageView): BillableKey | null {
  if (view.pricing?.billable !== true) return null;
  const day = utcDay(view.sentAt ?? view.deliveredAt ?? view.seenAt ?? view.queuedAt);
  return day ? { ...dailyStatsKey(view, day), pricingCategory: view.pricing.category ?? '' } : null;
}

/** How each app's billable messages per day and pricing category change. */
export function billableDeltas(
  changes: Iterable<MessageChange>,
  deltas = new CounterDeltas<BillableKey, 'billable'>((key) => JSON.stringify([key.appId, key.day, key.category, key.template, key.pricingCategory])),
): CounterDeltas<BillableKey, 'billable'> {
  for (const { before, after } of changes) {
    const out = before ? billableContribution(before) : null;
    if (out) deltas.add(out, 'billable', -1);
    const into = billableContribution(after);
    if (into) deltas.add(into, 'billable', 1);
  }
  return deltas;
}
