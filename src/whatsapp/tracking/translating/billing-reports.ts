import type { SqlExecutor } from '../../../database/database';
import { eventTypeOf, readStreamsOfTypes } from '../../../event-store';
import { messageStreamId, WhatsAppMessagePriced, type MessagePricing, type WhatsAppMessagePricedData } from '../../domain';
import { uuidV5 } from '../../domain/name-based-uuid';
import type { BillingReport } from '../../gupshup/callback-parser';
import { correlationKeyString, type ProviderKey } from './correlations';

/** Namespace of the ids of WhatsAppMessagePriced: one per part of a recorded billing callback. */
const PRICED_EVENT_NAMESPACE = '0d6f4c1a-8e2b-4f7a-9c35-6b1e0a7d2f94';

/** A billing report of a recorded callback, with where it came from. */
export interface BillingItem extends BillingReport {
  appId: string;
  callbackEventId: string;
  partIndex: number;
  receivedAt: Date;
}

export function billingKey(item: Pick<BillingItem, 'appId' | 'gupshupMessageId'>): ProviderKey {
  return { appId: item.appId, kind: 'gupshup', providerId: item.gupshupMessageId };
}

export function billingKeyString(item: Pick<BillingItem, 'appId' | 'gupshupMessageId'>): string {
  return correlationKeyString(billingKey(item));
}

/** The event a billing report becomes on its message's stream; its id is the callback part's, so translating again stores nothing twice. */
export function pricedEvent(item: BillingItem, messageId: string): WhatsAppMessagePriced {
  return new WhatsAppMessagePriced(
    {
      appId: item.appId,
      messageId,
      pricing: item.pricing,
      occurredAt: item.occurredAt.toISOString(),
      receivedAt: item.receivedAt.toISOString(),
      source: 'billing_event',
    },
    uuidV5(`${item.callbackEventId}:${item.partIndex}`, PRICED_EVENT_NAMESPACE),
  );
}

function pricingKey(messageId: string, pricing: MessagePricing): string {
  return JSON.stringify([messageId, pricing.category ?? null, pricing.billable ?? null, pricing.model ?? null]);
}

/**
 * The ids of the priced events that repeat what their message's stream (or an earlier event of
 * the list) already says: Gupshup bills a message once, so a second billing-event with the same
 * deductions (a retry, or the v2 and v3 copies, whose times differ) is a duplicate.
 */
export async function repeatedPricings(tx: SqlExecutor, events: readonly WhatsAppMessagePriced[]): Promise<Set<string>> {
  const repeated = new Set<string>();
  if (events.length === 0) return repeated;
  const stored = await readStreamsOfTypes(tx, [...new Set(events.map((event) => messageStreamId(event.data.messageId)))], [eventTypeOf(WhatsAppMessagePriced).type]);
  const said = new Map<string, string>();
  for (const event of stored) {
    const data = event.data as unknown as WhatsAppMessagePricedData;
    said.set(pricingKey(data.messageId, data.pricing), event.eventId);
  }
  for (const event of events) {
    const key = pricingKey(event.data.messageId, event.data.pricing);
    const first = said.get(key);
    if (first === undefined) said.set(key, event.eventId);
    else if (first !== event.eventId) repeated.add(event.eventId);
  }
  return repeated;
}

/** Keeps billing reports whose message is not known yet (its send not read yet), until it is. */
export async function parkBillingReports(tx: SqlExecutor, items: readonly BillingItem[]): Promise<void> {
  if (items.length === 0) return;
  await tx.query(
    `INSERT INTO tracking_waiting_billing (callback_event_id, part_index, app_id, gupshup_message_id, pricing, occurred_at, received_at)
     SELECT r.callback_event_id, r.part_index, r.app_id, r.gupshup_message_id, r.pricing, r.occurred_at, r.received_at
       FROM json_to_recordset($1::json) AS r(callback_event_id uuid, part_index integer, app_id text, gupshup_message_id text, pricing json,
                                            occurred_at timestamptz, received_at timestamptz)
     ON CONFLICT (callback_event_id, part_index) DO NOTHING`,
    [
      JSON.stringify(
        items.map((item) => ({
          callback_event_id: item.callbackEventId,
          part_index: item.partIndex,
          app_id: item.appId,
          gupshup_message_id: item.gupshupMessageId,
          pricing: item.pricing,
          occurred_at: item.occurredAt.toISOString(),
          received_at: item.receivedAt.toISOString(),
        })),
      ),
    ],
  );
}

/** Takes out the billing reports that waited for these Gupshup ids. */
export async function takeBillingReports(tx: SqlExecutor, keys: readonly { appId: string; gupshupMessageId: string }[]): Promise<BillingItem[]> {
  if (keys.length === 0) return [];
  const rows = await tx.query<{
    callback_event_id: string;
    part_index: number;
    app_id: string;
    gupshup_message_id: string;
    pricing: BillingReport['pricing'];
    occurred_at: Date;
    received_at: Date;
  }>(
    `DELETE FROM tracking_waiting_billing w USING unnest($1::text[], $2::text[]) AS k(app_id, gupshup_message_id)
      WHERE w.app_id = k.app_id AND w.gupshup_message_id = k.gupshup_message_id
      RETURNING w.callback_event_id, w.part_index, w.app_id, w.gupshup_message_id, w.pricing, w.occurred_at, w.received_at`,
    [keys.map((key) => key.appId), keys.map((key) => key.gupshupMessageId)],
  );
  return rows.map((row) => ({
    callbackEventId: row.callback_event_id,
    partIndex: row.part_index,
    appId: row.app_id,
    gupshupMessageId: row.gupshup_message_id,
    pricing: row.pricing,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
  }));
}
