import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/database/database';
import type { EventStore, StoreEvent } from '../../src/event-store';
import { appendRequest, appendToMessage, at, build, newMessageIds, type MessageIds } from './whatsapp-test-data';

/** A small seeded generator (mulberry32), so that a failing workload can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const FAILURES = [
  { code: '1002', reason: 'Number does not exist on WhatsApp' },
  { code: '131026', reason: 'Message undeliverable' },
  { code: '471', reason: 'Message rate limit exceeded' },
];

/**
 * One message's life as a list of appends (the first holds WhatsAppMessageQueued): dispatch
 * failures, lost answers, a send, callbacks of every kind in any order with repeats, discards,
 * and failures followed by delivery evidence.
 */
export function randomMessageAppends(random: () => number, ids: MessageIds, queuedAt: string): StoreEvent<object>[][] {
  const chance = (p: number) => random() < p;
  const later = (from: string, maxMs: number) => at(from, 1 + Math.floor(random() * maxMs));
  const rest: StoreEvent<object>[] = [];
  if (chance(0.1)) {
    return [[build.queued({ ...ids, phoneNumber: null }, queuedAt), build.discarded(ids, queuedAt)]];
  }
  let attempt = 0;
  let time = queuedAt;
  const failures = Math.floor(random() * 3);
  for (let i = 0; i < failures; i++) {
    attempt++;
    time = later(time, 5000);
    rest.push(build.dispatchFailed(ids, time, attempt, at(time, 1000)));
  }
  if (chance(0.1)) rest.push(build.outcomeUnknown(ids, later(time, 1000), ++attempt));
  if (chance(0.08)) {
    rest.push(build.discarded(ids, later(time, 5000), 'dispatch_failed', 'Gupshup kept failing'));
  } else {
    attempt++;
    const sentAt = later(time, 5000);
    if (chance(0.9)) rest.push(build.sent(ids, sentAt, attempt));
    // Callbacks span up to two days, so that a message's statuses fall on different days.
    const callbackTime = () => later(sentAt, 2 * 86_400_000);
    if (chance(0.8)) rest.push(build.callback(ids, 'enqueued', later(sentAt, 2000)));
    if (chance(0.5)) rest.push(build.callback(ids, 'sent', callbackTime()));
    if (chance(0.55)) rest.push(build.callback(ids, 'delivered', callbackTime()));
    if (chance(0.3)) rest.push(build.callback(ids, 'read', callbackTime()));
    if (chance(0.25)) rest.push(build.callback(ids, 'failed', callbackTime(), FAILURES[Math.floor(random() * FAILURES.length)]));
  }
  // A repeat of an event, as a Gupshup retry would be: appended on its own, the store keeps one copy by event id.
  const repeat = rest.length > 0 && chance(0.2) ? rest[Math.floor(random() * rest.length)] : undefined;
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rest[i], rest[j]] = [rest[j], rest[i]];
  }
  const appends: StoreEvent<object>[][] = [[build.queued(ids, queuedAt)]];
  while (rest.length > 0) appends.push(rest.splice(0, 1 + Math.floor(random() * 3)));
  if (repeat) appends.push([repeat]);
  return appends;
}

export interface WorkloadOptions {
  appIds: string[];
  messages: number;
  writers: number;
  seed: number;
  /** The first day messages are queued on; they spread over the five days from it. */
  startDay: string;
}

/**
 * Appends messages of several apps and requests from concurrent writers; one append in four holds
 * its transaction open a little, so that events commit out of their global order. Returns the
 * message ids.
 */
export async function appendRandomWorkload(db: Database, store: EventStore, options: WorkloadOptions): Promise<MessageIds[]> {
  const random = seededRandom(options.seed);
  const plans: Array<{ ids: MessageIds; appends: StoreEvent<object>[][] }> = [];
  const requests: Array<{ appId: string; requestId: string; messages: MessageIds[]; requestedAt: string }> = [];
  while (plans.length < options.messages) {
    const appId = options.appIds[Math.floor(random() * options.appIds.length)];
    const requestId = randomUUID();
    const requestedAt = at(options.startDay, Math.floor(random() * 5 * 86_400_000));
    const size = 1 + Math.floor(random() * 4);
    const messages: MessageIds[] = [];
    for (let i = 0; i < size && plans.length < options.messages; i++) {
      const ids = newMessageIds(appId, requestId, `user-${Math.floor(random() * 20)}`);
      // Categories and templates by request, without drawing from the seeded sequence: some requests
      // name them, some name none, some were recorded before there were any.
      const kind = requests.length % 4;
      if (kind > 0) Object.assign(ids, { category: kind === 1 ? null : `category-${kind}`, template: kind === 3 ? 'order_update' : null });
      messages.push(ids);
      plans.push({ ids, appends: randomMessageAppends(random, ids, at(requestedAt, i)) });
    }
    requests.push({ appId, requestId, messages, requestedAt });
  }
  const queue = [
    ...requests.map((r) => () => appendRequest(store, build.requested(r.appId, r.requestId, r.messages, r.requestedAt))),
    ...plans.map((plan) => async () => {
      for (const [index, events] of plan.appends.entries()) {
        if ((index + plan.ids.messageId.charCodeAt(0)) % 4 === 0) {
          await db.transaction(async (tx) => {
            await appendToMessage(store, plan.ids, events, tx);
            await new Promise((resolve) => setTimeout(resolve, 2));
          });
        } else {
          await appendToMessage(store, plan.ids, events);
        }
      }
    }),
  ];
  await Promise.all(
    Array.from({ length: options.writers }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await job();
    }),
  );
  return plans.map((plan) => plan.ids);
}
