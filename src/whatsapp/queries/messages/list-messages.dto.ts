import { z } from 'zod';
import { isoDateOrTimeParam, lowercaseUuid, text, wholeNumberParam } from '../../../common/input-schemas';
import { e164Problem, E164_EXAMPLE } from '../../../users';
import { contactNumber } from '../../consent/contact-number';
import { MESSAGE_STATUSES, type MessageStatus } from '../../domain';
import { messageSchema } from '../message-response';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** Longer than any id or identifier this service hands out. */
const MAX_FILTER_LENGTH = 512;

/**
 * Read as the suppressions' filter reads it: E.164, or its digits without the `+`, since a `+`
 * left unencoded in a query string arrives as a space. Anything else is refused, not matched
 * against nothing.
 */
const phoneNumberFilter = text({ max: MAX_FILTER_LENGTH, what: 'a phone number in E.164 form, e.g. +919988776655' }).transform((value, ctx) => {
  const number = contactNumber(value);
  if (number === null) {
    ctx.addIssue({ code: 'custom', message: `${e164Problem(value)}; the digits without the + are accepted too (URL-encode a + as %2B)`, input: value });
    return z.NEVER;
  }
  return number;
});

/** The query string of GET /v3/messages; every parameter is optional. */
export const listMessagesQuerySchema = z.strictObject({
  status: z
    .enum(MESSAGE_STATUSES as [MessageStatus, ...MessageStatus[]])
    .optional()
    .meta({ description: 'Only messages now at this status' }),
  recipient: text({ max: MAX_FILTER_LENGTH, what: 'a user identifier (text)' }).optional().meta({ description: 'Only messages to this user identifier' }),
  requestId: text({ max: MAX_FILTER_LENGTH, what: 'the requestId returned by POST /v3/notifications' })
    .transform(lowercaseUuid)
    .optional()
    .meta({ description: 'Only messages of this send request (the requestId of POST /v3/notifications)' }),
  phoneNumber: phoneNumberFilter
    .optional()
    .meta({ type: 'string', example: E164_EXAMPLE, description: 'Only messages to this phone number: E.164 (%2B for the + in a URL) or its digits without the +' }),
  discardCode: text({ max: MAX_FILTER_LENGTH, what: 'a discard code, e.g. 1002 or opted_out' })
    .optional()
    .meta({ example: '1002', description: 'Only discarded messages whose discardReason.code is this' }),
  category: text({ max: MAX_FILTER_LENGTH, what: 'a category identifier (text)' })
    .optional()
    .meta({ description: 'Only messages of requests with this category (category or notification.category)' }),
  template: text({ max: MAX_FILTER_LENGTH, what: 'a template identifier (text)' })
    .optional()
    .meta({ description: 'Only messages of requests that named this WhatsApp template' }),
  from: isoDateOrTimeParam('an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T10:00:00Z')
    .optional()
    .meta({ description: 'Only messages queued at or after this time (ISO 8601; without an offset, UTC)' }),
  to: isoDateOrTimeParam('an ISO 8601 date or time, e.g. 2026-03-31 or 2026-03-31T23:59:59Z')
    .optional()
    .meta({ description: 'Only messages queued at or before this time (ISO 8601; a bare date includes that whole day)' }),
  limit: wholeNumberParam(1, MAX_PAGE_SIZE).optional().meta({ description: `Messages per page; ${DEFAULT_PAGE_SIZE} when left out` }),
  cursor: text({ max: 1000, what: 'the nextCursor of the previous page' })
    .optional()
    .meta({ description: 'The nextCursor of the previous page, unchanged; omit it for the first page' }),
});

export type ListMessagesParams = z.output<typeof listMessagesQuerySchema>;

export const messagePageSchema = z
  .object({
    data: z.array(messageSchema).meta({ description: 'Newest first (by queuedAt, then messageId)' }),
    nextCursor: z.string().nullable().meta({ description: 'Pass it as `cursor` for the next page; null on the last page' }),
  })
  .meta({ id: 'MessagePage' });

export type MessagePage = z.output<typeof messagePageSchema>;

/** An id in a path (a message's or a send request's): text that can be looked up. */
export function idParamSchema(what: string) {
  return text({ max: MAX_FILTER_LENGTH, what: `the ${what}` })
    .transform(lowercaseUuid)
    .meta({ type: 'string', format: 'uuid', maxLength: MAX_FILTER_LENGTH, description: `The ${what}` });
}

/** The messageId of GET /v3/messages/{messageId} and of GetWhatsAppMessageQuery. */
export const MESSAGE_ID_SCHEMA = idParamSchema('messageId returned by POST /v3/notifications');

/** The requestId of GET /v3/notifications/{requestId} and of GetWhatsAppNotificationQuery. */
export const REQUEST_ID_SCHEMA = idParamSchema('requestId returned by POST /v3/notifications');
