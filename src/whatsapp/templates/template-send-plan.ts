import type { GupshupTemplateMessage } from '../gupshup/send-request';
import { BLOCKING_TEMPLATE_STATUSES, isWebUrl, type RegisteredTemplate } from './template-definition';
import { missingDataPlaceholders, placeholdersOf, renderParameter, type Placeholder, type PlaceholderSource } from './template-placeholders';

/** Why a template message is not sent: the discardReason of its message. */
export interface TemplateDiscard {
  code: 'template_not_approved' | 'template_param_missing' | 'template_param_invalid';
  reason: string;
}

/** The discard codes a template send plan gives, for counting. */
export const TEMPLATE_DISCARD_CODES: ReadonlySet<string> = new Set<TemplateDiscard['code']>(['template_not_approved', 'template_param_missing', 'template_param_invalid']);

const HEADER_URL_RULE = 'must be an https:// URL Gupshup can fetch the media from';

/** A filled header URL for a message, shortened: it may be anything the caller sent. */
function shownUrl(url: string): string {
  return JSON.stringify(url.length > 80 ? `${url.slice(0, 80)}...` : url);
}

export type RecipientTemplate = { ok: true; message: GupshupTemplateMessage } | { ok: false; discard: TemplateDiscard };

/** The status under which Gupshup would refuse the template, or null when it may be sent. */
export function templateNotApproved(template: Pick<RegisteredTemplate, 'identifier' | 'gupshupTemplateId' | 'status'>): TemplateDiscard | null {
  if (!BLOCKING_TEMPLATE_STATUSES.has(template.status)) return null;
  // A deleted template is not coming back: waiting for an approval would be the wrong advice.
  const gone = template.status === 'deleted' || template.status === 'pending_deletion';
  return {
    code: 'template_not_approved',
    reason:
      `The WhatsApp template ${JSON.stringify(template.identifier)} (Gupshup template ${template.gupshupTemplateId}) is ${template.status}, so it was not sent; ` +
      (gone
        ? `register a current Gupshup template under it with PUT /v3/channels/whatsapp/templates/${encodeURIComponent(template.identifier)}`
        : 'send again once Gupshup reports it approved'),
  };
}

/**
 * The problems of the request's `data` for this template: one per `{{data.PATH}}` placeholder that
 * resolves to nothing (absent, null, blank, an object or a list), for a 400 that names each.
 */
export function dataProblems(template: Pick<RegisteredTemplate, 'identifier' | 'params' | 'header'>, data: Record<string, unknown>): string[] {
  const texts = [...template.params, ...(template.header ? [template.header.url, ...(template.header.filename ? [template.header.filename] : [])] : [])];
  const missing = missingDataPlaceholders(texts, data).map(
    (placeholder) =>
      `data.${placeholder.path} is needed by the WhatsApp template ${JSON.stringify(template.identifier)} (${placeholder.text}) and has no value it can show (it is missing, null, blank, an object or a list): ` +
      'give it in data as text, a number or a boolean',
  );
  if (missing.length > 0 || !template.header) return missing;
  return headerUrlProblems(template.identifier, template.header.url, data);
}

/**
 * A header URL filled from `data` alone is known when the request comes: one that is no URL would
 * only fail at Gupshup (1010), so it is a 400 naming the data it came from, as registration refuses
 * a literal one. A URL that also reads the recipient is checked per recipient (templateForRecipient).
 */
function headerUrlProblems(identifier: string, url: string, data: Record<string, unknown>): string[] {
  const { placeholders } = placeholdersOf(url);
  if (placeholders.length === 0 || placeholders.some((placeholder) => placeholder.source !== 'data')) return [];
  const rendered = renderParameter(url, { data, recipient: {} });
  if (!rendered.ok || isWebUrl(rendered.text)) return [];
  const names = [...new Set(placeholders.map((placeholder) => `data.${placeholder.path}`))].join(', ');
  return [
    `${names} gives the media header URL of the WhatsApp template ${JSON.stringify(identifier)} (${url}), which ${HEADER_URL_RULE}, e.g. "https://example.com/box.png"; got ${shownUrl(rendered.text)}`,
  ];
}

/**
 * The template message for one recipient: its parameters and header filled from `data` and the
 * recipient's profile; discarded `template_param_missing` when a profile field it needs is missing.
 */
export function templateForRecipient(template: RegisteredTemplate, data: Record<string, unknown>, recipient: Record<string, unknown>): RecipientTemplate {
  const values: Record<PlaceholderSource, unknown> = { data, recipient };
  const missing: Placeholder[] = [];
  const fill = (text: string): string => {
    const rendered = renderParameter(text, values);
    if (rendered.ok) return rendered.text;
    missing.push(...rendered.missing);
    return '';
  };
  const params = template.params.map(fill);
  const header = template.header
    ? { type: template.header.type, link: fill(template.header.url), ...(template.header.filename !== undefined ? { filename: fill(template.header.filename) } : {}) }
    : undefined;
  if (header && missing.length === 0 && !isWebUrl(header.link)) {
    // The recipient's profile (with or without data) made a URL Gupshup cannot fetch: this message only is not sent.
    const names = [...new Set(placeholdersOf(template.header!.url).placeholders.map((placeholder) => `${placeholder.source}.${placeholder.path}`))];
    return {
      ok: false,
      discard: {
        code: 'template_param_invalid',
        reason:
          `The WhatsApp template ${JSON.stringify(template.identifier)} takes its media header URL from ${names.join(', ')}, which gave ${shownUrl(header.link)} for this recipient; ` +
          `the URL ${HEADER_URL_RULE} (set it with PUT /v3/users/{identifier})`,
      },
    };
  }
  if (missing.length > 0) {
    const names = [...new Set(missing.map((placeholder) => `${placeholder.source}.${placeholder.path}`))];
    return {
      ok: false,
      discard: {
        code: 'template_param_missing',
        reason:
          `The WhatsApp template ${JSON.stringify(template.identifier)} needs ${names.join(', ')}, which this recipient's profile lacks ` +
          `(set it with PUT /v3/users/{identifier})`,
      },
    };
  }
  return { ok: true, message: { id: template.gupshupTemplateId, params, ...(header ? { header } : {}) } };
}
