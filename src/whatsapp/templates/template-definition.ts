import { z } from 'zod';
import { text } from '../../common/input-schemas';
import { placeholdersOf } from './template-placeholders';

/** Media a template header can carry; Gupshup's `message` field names it (GUPSHUP.md §1.5). */
export const HEADER_TYPES = ['image', 'video', 'document'] as const;
export type HeaderType = (typeof HEADER_TYPES)[number];

export interface TemplateHeader {
  type: HeaderType;
  /** The media's URL; may hold placeholders. */
  url: string;
  /** Documents only: the file name shown; may hold placeholders. */
  filename?: string;
}

/**
 * Statuses under which Gupshup refuses to send a template (API.md "WhatsApp templates"): its
 * template-event statuses rejected, paused, disabled and deleted (GUPSHUP.md §2.4; a deleted one
 * fails 4003 "No Template Match"), and Meta's states of a template not (or no longer) approved:
 * pending, in_appeal, pending_deletion. `flagged` is only a quality warning and `unknown` means no
 * event yet: both are still sent, as is any status not listed here.
 */
export const BLOCKING_TEMPLATE_STATUSES: ReadonlySet<string> = new Set(['rejected', 'paused', 'disabled', 'deleted', 'pending', 'in_appeal', 'pending_deletion']);
/** A template's status before Gupshup said anything about it. */
export const UNKNOWN_TEMPLATE_STATUS = 'unknown';

export const TEMPLATE_IDENTIFIER_MAX_LENGTH = 256;
/** WhatsApp templates have far fewer variables; this bounds what is stored and sent. */
export const MAX_TEMPLATE_PARAMS = 100;
export const MAX_PARAM_LENGTH = 1024;
const MAX_URL_LENGTH = 2048;

// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_IDENTIFIER = /[\u0000-\u001f\u007f-\u009f/]/;

/** `{identifier}` of /v3/channels/whatsapp/templates/{identifier}, URL-decoded. */
export const templateIdentifierParamSchema = text({ max: TEMPLATE_IDENTIFIER_MAX_LENGTH, what: 'a template identifier' })
  .refine((value) => !FORBIDDEN_IN_IDENTIFIER.test(value), 'must not contain "/" or control characters')
  .meta({
    description: `The identifier sends name (notification.templateIdentifier, templateId or workflow.identifier): 1 to ${TEMPLATE_IDENTIFIER_MAX_LENGTH} characters, without "/" or control characters`,
    example: 'order_shipped',
  });

/** An http(s) URL Gupshup can fetch media from (a URL without placeholders is checked when saved, one filled from placeholders when sent). */
export function isWebUrl(text: string): boolean {
  return /^https?:\/\//i.test(text) && URL.canParse(text);
}

/** Text with placeholders that must all be `{{data.PATH}}` or `{{recipient.FIELD}}`. */
const withPlaceholders = (max: number, what: string) =>
  text({ max, what }).superRefine((value, ctx) => {
    for (const problem of placeholdersOf(value).problems) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });

const headerSchema = z
  .strictObject(
    {
      type: z.enum(HEADER_TYPES, { error: `must be one of ${HEADER_TYPES.join(', ')}` }),
      url: withPlaceholders(MAX_URL_LENGTH, 'a URL (text)')
        .refine((url) => placeholdersOf(url).placeholders.length > 0 || isWebUrl(url), 'must be an https:// URL (or hold a placeholder that gives one, e.g. {{data.imageUrl}})')
        .meta({ description: 'The media URL (public https); may hold placeholders', example: '{{data.imageUrl}}' }),
      filename: withPlaceholders(MAX_PARAM_LENGTH, 'a file name (text)').optional().meta({ description: 'Documents only: the file name shown' }),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'must be an object {"type": "image" | "video" | "document", "url"}' : undefined) },
  )
  .refine((header) => header.filename === undefined || header.type === 'document', { message: 'is for a document header only: leave it out for an image or a video', path: ['filename'] });

/** The body of PUT /v3/channels/whatsapp/templates/{identifier}. */
export const templateDefinitionSchema = z
  .strictObject(
    {
      gupshupTemplateId: text({ max: TEMPLATE_IDENTIFIER_MAX_LENGTH, trim: true, singleLine: true, what: "Gupshup's template id (text)" }).meta({
        description: "Gupshup's template id (a UUID in Gupshup's console), not the template's name",
        example: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b',
      }),
      params: z
        .array(withPlaceholders(MAX_PARAM_LENGTH, 'text'), { error: 'must be a list of texts, e.g. ["{{data.orderId}}", "{{recipient.firstName}}"]' })
        .max(MAX_TEMPLATE_PARAMS, `must have at most ${MAX_TEMPLATE_PARAMS} entries`)
        .default([])
        .meta({ description: 'The template\'s variables in order; each is text with {{data.PATH}} and {{recipient.FIELD}} placeholders' }),
      header: headerSchema.nullish().meta({ description: 'A media header: image, video or document' }),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object {"gupshupTemplateId", "params", "header"}' : undefined) },
  )
  .meta({
    example: { gupshupTemplateId: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b', params: ['{{data.orderId}}', '{{recipient.firstName}}'], header: { type: 'image', url: '{{data.imageUrl}}' } },
  });

export type TemplateDefinition = z.output<typeof templateDefinitionSchema>;

/** A registered template as the API shows it. */
export interface RegisteredTemplate {
  identifier: string;
  gupshupTemplateId: string;
  params: string[];
  header: TemplateHeader | null;
  /** Gupshup's last word on the template (template-events), `unknown` before any. */
  status: string;
  updatedAt: string;
}

export const registeredTemplateSchema = z
  .object({
    identifier: z.string().meta({ example: 'order_shipped' }),
    gupshupTemplateId: z.string(),
    params: z.array(z.string()),
    header: z.object({ type: z.enum(HEADER_TYPES), url: z.string(), filename: z.string().optional() }).nullable(),
    status: z.string().meta({
      description:
        'approved, rejected, paused, disabled, deleted, ... from Gupshup\'s template-events; unknown until one arrives. Not sent while rejected, paused, disabled, deleted, pending, in_appeal or pending_deletion',
      example: 'approved',
    }),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'WhatsAppTemplate' });

export const templateListSchema = z.object({ data: z.array(registeredTemplateSchema) }).meta({ id: 'WhatsAppTemplateList' });
