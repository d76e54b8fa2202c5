/**
 * Reads a Gupshup v2 `template-event` callback (GUPSHUP.md §2.4, docs.gupshup.io /docs/system-events):
 * `{"app", "timestamp", "version": 2, "type": "template-event", "payload": {"id", "status",
 * "elementName", "languageCode", "reason"?}}`. Pure and total: never throws.
 */

import { isStorableText } from '../../common/input-schemas';
import { eventTimeOr } from './callback-parser';

export interface TemplateStatusReport {
  /** Gupshup's template id (the `id` of a template send). */
  gupshupTemplateId: string;
  /** Lower case: approved, rejected, paused, disabled, deleted, pending, ... */
  status: string;
  reason?: string;
  elementName?: string;
  languageCode?: string;
  /** The envelope's timestamp; the receipt time when it has none. */
  occurredAt: Date;
}

export type TemplateEventParse = { kind: 'template-status'; report: TemplateStatusReport } | { kind: 'not-a-template-event' } | { kind: 'invalid'; problem: string };

/** Longest status word and Gupshup template id kept: anything longer is not Gupshup's. */
const MAX_STATUS_LENGTH = 64;
const MAX_ID_LENGTH = 256;
const MAX_TEXT_LENGTH = 1024;

export function parseTemplateEvent(body: unknown, receivedAt: Date): TemplateEventParse {
  if (!isRecord(body) || field(body, 'type') !== 'template-event') return { kind: 'not-a-template-event' };
  const payload = field(body, 'payload');
  if (!isRecord(payload)) return { kind: 'invalid', problem: 'template-event without a payload object' };
  const id = shortText(field(payload, 'id'), MAX_ID_LENGTH);
  if (!id) return { kind: 'invalid', problem: 'template-event without payload.id (the Gupshup template id)' };
  // A category-update names a new category, not a status: it changes nothing this service decides on.
  const status = shortText(field(payload, 'status'), MAX_STATUS_LENGTH)?.toLowerCase();
  if (!status) return { kind: 'invalid', problem: `template-event for ${id} without payload.status` };
  const report: TemplateStatusReport = { gupshupTemplateId: id, status, occurredAt: eventTimeOr(field(body, 'timestamp'), receivedAt) };
  const reason = shortText(field(payload, 'reason') ?? field(payload, 'rejectedReason'), MAX_TEXT_LENGTH);
  const elementName = shortText(field(payload, 'elementName'), MAX_TEXT_LENGTH);
  const languageCode = shortText(field(payload, 'languageCode'), MAX_STATUS_LENGTH);
  if (reason) report.reason = reason;
  if (elementName) report.elementName = elementName;
  if (languageCode) report.languageCode = languageCode;
  return { kind: 'template-status', report };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Text PostgreSQL can store (no NUL, no lone surrogate), trimmed, at most `max` characters. */
function shortText(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '' || text.length > max || !isStorableText(text)) return undefined;
  return text;
}

