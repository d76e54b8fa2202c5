import type { GupshupTemplateMessage } from '../gupshup/send-request';
import { BLOCKING_TEMPLATE_STATUSES, type RegisteredTemplate } from './template-definition';
import { missingDataPlaceholders, renderParameter, type Placeholder, type PlaceholderSource } from './template-placeholders';

/** Why a template message is not sent: the discardReason of its message. */
export interface TemplateDiscard {
  code: 'template_not_approved' | 'template_param_missing';
  reason: string;
}

export type RecipientTemplate = { ok: true; message: GupshupTemplateMessage } | { ok: false; discard: TemplateDiscard };

/** The status under which Gupshup would refuse the template, or null when it may be sent. */
export function templateNotApproved(template: Pick<RegisteredTemplate, 'identifier' | 'gupshupTemplateId' | 'status'>): TemplateDiscard | null {
  if (!BLOCKING_TEMPLATE_STATUSES.has(template.status)) return null;
  return {
    code: 'template_not_approved',
    reason:
      `The WhatsApp template ${JSON.stringify(template.identifier)} (Gupshup template ${template.gupshupTemplateId}) is ${template.status}, ` +
      'so it was not sent; send again once Gupshup reports it approved',
  };
}

/**
 * The problems of the request's `data` for this template: one per `{{data.PATH}}` placeholder that
 * resolves to nothing (absent, null, blank, an object or a list), for a 400 that names each.
 */
export function dataProblems(template: Pick<RegisteredTemplate, 'identifier' | 'params' | 'header'>, data: Record<string, unknown>): string[] {
  const texts = [...template.params, ...(template.header ? [template.header.url, ...(template.header.filename ? [template.header.filename] : [])] : [])];
  return missingDataPlaceholders(texts, data).map(
    (placeholder) =>
      `data.${placeholder.path} is needed by the WhatsApp template ${JSON.stringify(template.identifier)} (${placeholder.text}) and has no value it can show (it is missing, null, blank, an object or a list): ` +
      'give it in data as text, a number or a boolean',
  );
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
