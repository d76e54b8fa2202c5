import { z } from 'zod';
import { isoDateOrTimeParam, parseIsoInstant, text, wholeNumberParam } from '../../common/input-schemas';
import { shown } from '../../common/validation';
import { e164Problem, E164_EXAMPLE } from '../../users';
import { SUPPRESSION_REASONS, type SuppressionReason } from './consent.events';
import { contactNumber } from './contact-number';

export const DEFAULT_SUPPRESSION_PAGE_SIZE = 50;
export const MAX_SUPPRESSION_PAGE_SIZE = 200;
const MAX_NOTE_LENGTH = 500;

/** A phone number in a path or query: E.164, or its digits without the `+` (a `+` in a query string reads as a space). */
export const suppressedNumberSchema = z
  .string()
  .transform((value, ctx) => {
    const number = contactNumber(value);
    if (number === null) {
      ctx.addIssue({ code: 'custom', message: `${e164Problem(value)}; the digits without the + are accepted too (URL-encode a + as %2B)`, input: value });
      return z.NEVER;
    }
    return number;
  })
  .meta({ type: 'string', description: `The phone number, E.164 (${E164_EXAMPLE}; %2B for the + in a URL) or its digits without the +`, example: E164_EXAMPLE });

/**
 * One of the reason codes, or the operator's own words: the contract's `{"reason": "..."}` adds a
 * manual suppression, so text that is no code is kept as its note.
 */
export const suppressionReasonSchema = text({ max: MAX_NOTE_LENGTH, trim: true, what: `${SUPPRESSION_REASONS.join(', ')}, or your own words` }).meta({
  description: 'Why: manual (the default) for an operator’s own decision; opted_out or not_on_whatsapp for what the person or Gupshup said elsewhere. Any other text makes a manual suppression with that text as its note',
  example: 'manual',
});

function isSuppressionReason(value: string): value is SuppressionReason {
  return (SUPPRESSION_REASONS as readonly string[]).includes(value);
}

/** `PUT /v3/channels/whatsapp/suppressions/{phoneNumber}`; the body may be left out (a manual suppression until lifted). */
export const putSuppressionBodySchema = z
  .strictObject(
    {
      reason: suppressionReasonSchema.optional(),
      note: text({ max: MAX_NOTE_LENGTH, what: 'text', trim: true }).optional().meta({ description: 'The operator’s words, shown in the discard reason of the messages it stops' }),
      until: isoDateOrTimeParam('an ISO 8601 time, e.g. 2026-12-31T00:00:00Z')
        .optional()
        .meta({ description: 'When the suppression ends by itself; left out, it lasts until lifted' }),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object {"reason": "manual", "note": "..."} or no body at all' : undefined) },
  )
  .superRefine((body, ctx) => {
    if (body.until !== undefined && parseIsoInstant(body.until) <= Date.now()) {
      ctx.addIssue({ code: 'custom', path: ['until'], message: `must be in the future (got ${body.until}); to lift a suppression, DELETE it`, input: body.until });
    }
    if (body.reason !== undefined && !isSuppressionReason(body.reason) && body.note !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['reason'],
        message: `must be one of ${SUPPRESSION_REASONS.join(', ')} when note is given (got ${shown(body.reason)}); put your own words in one of them`,
        input: body.reason,
      });
    }
  })
  .transform(({ reason, ...rest }) =>
    reason === undefined || isSuppressionReason(reason) ? { ...rest, reason } : { ...rest, reason: 'manual' as const, note: reason },
  )
  .optional()
  .meta({ example: { reason: 'manual', note: 'asked us by email not to write' } });

export type PutSuppressionBody = z.output<typeof putSuppressionBodySchema>;

export const listSuppressionsQuerySchema = z.strictObject({
  phoneNumber: suppressedNumberSchema.optional().meta({ description: 'Only this number’s suppressions' }),
  limit: wholeNumberParam(1, MAX_SUPPRESSION_PAGE_SIZE).optional().meta({ description: `Suppressions per page; ${DEFAULT_SUPPRESSION_PAGE_SIZE} when left out` }),
  cursor: text({ max: 1000, what: 'the nextCursor of the previous page' })
    .optional()
    .meta({ description: 'The nextCursor of the previous page, unchanged; omit it for the first page' }),
});

export type ListSuppressionsParams = z.output<typeof listSuppressionsQuerySchema>;

export const suppressionSchema = z
  .object({
    phoneNumber: z.string().meta({ example: E164_EXAMPLE }),
    reason: z.enum(SUPPRESSION_REASONS).meta({ description: 'Also the discardReason.code of the messages it stops' }),
    since: z.iso.datetime(),
    until: z.iso.datetime().nullable().meta({ description: 'When it ends by itself; null: until lifted' }),
    note: z.string().nullable().meta({ description: 'The operator’s words, or the Gupshup code that caused it' }),
  })
  .meta({ id: 'Suppression' });

export const suppressionPageSchema = z
  .object({
    data: z.array(suppressionSchema).meta({ description: 'Suppressions in force, by phone number then reason' }),
    nextCursor: z.string().nullable().meta({ description: 'Pass it as `cursor` for the next page; null on the last page' }),
  })
  .meta({ id: 'SuppressionPage' });

export type SuppressionPage = z.output<typeof suppressionPageSchema>;
