/**
 * What Gupshup callbacks say about the people an app writes to (GUPSHUP.md §2.4, §2.6): v2
 * `user-event`s `opted-out` / `opted-in`, and inbound messages (v2 `message`, v3 `messages`),
 * which open the 24-hour customer service window. Pure and total, like parseGupshupCallback.
 */
import { arrayField, asRecord, eventTimeOr, field, isRecord, nonEmptyString, phoneString } from './callback-parser';

export type ContactEventKind = 'opted_out' | 'opted_in' | 'inbound_message';

export interface ContactEvent {
  kind: ContactEventKind;
  /** As Gupshup gives it: digits with the country code, no `+` (not checked here). */
  phone: string;
  /** The provider's time of the event. */
  occurredAt: Date;
}

const USER_EVENT_KINDS: Readonly<Record<string, ContactEventKind>> = { 'opted-out': 'opted_out', 'opted-in': 'opted_in' };

/** The contact events of a callback body; none for any other kind of callback, or anything unreadable. */
export function parseContactEvents(body: unknown, receivedAt: Date = new Date()): ContactEvent[] {
  try {
    if (!isRecord(body)) return [];
    if (field(body, 'object') === 'whatsapp_business_account') return v3InboundMessages(body, receivedAt);
    return v2ContactEvent(body, receivedAt);
  } catch {
    return [];
  }
}

function v2ContactEvent(envelope: Record<string, unknown>, receivedAt: Date): ContactEvent[] {
  const type = field(envelope, 'type');
  const payload = asRecord(field(envelope, 'payload'));
  const occurredAt = eventTimeOr(field(envelope, 'timestamp'), receivedAt);
  if (type === 'user-event') {
    const kind = USER_EVENT_KINDS[nonEmptyString(field(payload, 'type')) ?? ''];
    const phone = phoneString(field(payload, 'phone'));
    return kind && phone ? [{ kind, phone, occurredAt }] : [];
  }
  if (type === 'message') {
    // `source` is the sender's number; older samples only have `sender.phone`.
    const phone = phoneString(field(payload, 'source')) ?? phoneString(field(asRecord(field(payload, 'sender')), 'phone'));
    return phone ? [{ kind: 'inbound_message', phone, occurredAt }] : [];
  }
  return [];
}

function v3InboundMessages(body: Record<string, unknown>, receivedAt: Date): ContactEvent[] {
  const events: ContactEvent[] = [];
  for (const entry of arrayField(body, 'entry')) {
    for (const change of arrayField(asRecord(entry), 'changes')) {
      for (const message of arrayField(asRecord(field(asRecord(change), 'value')), 'messages')) {
        const phone = phoneString(field(asRecord(message), 'from'));
        if (phone) events.push({ kind: 'inbound_message', phone, occurredAt: eventTimeOr(field(asRecord(message), 'timestamp'), receivedAt) });
      }
    }
  }
  return events;
}
