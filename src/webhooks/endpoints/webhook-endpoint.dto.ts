import { z } from 'zod';
import { isoDateOrTimeParam, text, wholeNumberParam } from '../../common/input-schemas';
import { kindOf } from '../../common/validation';
import { MESSAGE_EVENT_TYPES, type MessageEventType } from '../webhook-events';

const MAX_URL_LENGTH = 2048;
const MAX_DESCRIPTION_LENGTH = 500;

const url = text({ max: MAX_URL_LENGTH, trim: true, singleLine: true, what: 'a URL (text)' })
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
    message: 'must be an absolute https:// URL, such as https://example.com/whatsapp/status (http:// too with WEBHOOK_OUT_ALLOW_PRIVATE=true)',
  })
  .refine((value) => !URL.canParse(value) || (new URL(value).username === '' && new URL(value).password === ''), {
    message: 'must not carry a user name or password: the deliveries are signed instead',
  })
  .meta({ description: 'Where deliveries are POSTed: https on a public address (http and private addresses only with WEBHOOK_OUT_ALLOW_PRIVATE=true)', example: 'https://example.com/whatsapp/status' });

const eventType = z.enum(MESSAGE_EVENT_TYPES, { error: () => `must be one of ${MESSAGE_EVENT_TYPES.join(', ')}` });

const events = z
  .array(eventType, { error: (issue) => (issue.input === undefined ? undefined : `must be a list of event types (${MESSAGE_EVENT_TYPES.join(', ')})`) })
  .max(MESSAGE_EVENT_TYPES.length * 4, 'must not list more than 20 event types')
  .transform((list) => [...new Set(list)] as MessageEventType[])
  .meta({ description: 'The event types to deliver; an empty list, null or none at all means every type' });

const description = text({ min: 0, max: MAX_DESCRIPTION_LENGTH, what: 'text' }).meta({ description: 'Free text for your own reference' });

const objectError = (example: string) => (issue: { code: string; input?: unknown }) =>
  issue.code === 'invalid_type' ? `must be a JSON object such as ${example} (got ${issue.input === undefined ? 'no body' : kindOf(issue.input)})` : undefined;

export const createWebhookBodySchema = z
  .strictObject(
    {
      url,
      // null as on a PATCH: events null means every type, description null none.
      events: events.nullable().optional(),
      description: description.nullable().optional(),
    },
    { error: objectError('{"url": "https://..."}') },
  )
  .meta({ example: { url: 'https://example.com/whatsapp/status', events: ['message.delivered', 'message.seen'], description: 'CRM' } });
export type CreateWebhookBody = z.output<typeof createWebhookBodySchema>;

export const updateWebhookBodySchema = z
  .strictObject(
    {
      url: url.optional(),
      events: events.nullable().optional(),
      description: description.nullable().optional(),
      enabled: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'false stops deliveries (they wait); true resumes them' }),
    },
    { error: objectError('{"enabled": true}') },
  )
  .meta({ example: { enabled: true } });
export type UpdateWebhookBody = z.output<typeof updateWebhookBodySchema>;

export const webhookEndpointSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(z.enum(MESSAGE_EVENT_TYPES)).meta({ description: 'Empty: every event type' }),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable().meta({ description: 'Why the service disabled it, when it did' }),
    lastSuccessAt: z.iso.datetime().nullable(),
    failingSince: z.iso.datetime().nullable().meta({ description: 'The first failure since the last success' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime().meta({
      description: 'When a field of the endpoint or its secret last changed (the service disabling it counts); a PATCH that changes nothing leaves it as it was',
    }),
    previousSecretExpiresAt: z.iso.datetime().nullable().meta({
      description: 'After a rotate-secret: until when the replaced secret still signs beside the new one (WEBHOOK_OUT_SECRET_GRACE_HOURS); null when only one secret signs',
    }),
  })
  .meta({ id: 'WebhookEndpoint' });
export type WebhookEndpointView = z.output<typeof webhookEndpointSchema>;

export const webhookEndpointWithSecretSchema = webhookEndpointSchema
  .extend({ secret: z.string().meta({ description: 'The signing secret (whsec_...): shown only when created or rotated', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }) })
  .meta({ id: 'WebhookEndpointWithSecret' });
export type WebhookEndpointWithSecret = z.output<typeof webhookEndpointWithSecretSchema>;

export const webhookEndpointListSchema = z.object({ data: z.array(webhookEndpointSchema) }).meta({ id: 'WebhookEndpointList' });

export const endpointIdParamSchema = z
  .uuid({ error: 'must be a webhook id (a UUID), as returned by POST /v3/webhooks' })
  .meta({ description: 'The webhook id, as returned by POST /v3/webhooks' });

export const deliveryIdParamSchema = z
  .uuid({ error: 'must be a delivery id (a UUID), as listed by GET /v3/webhooks/{id}/deliveries' })
  .meta({ description: 'The delivery id (also its webhook-id header)' });

export const DELIVERY_STATES = ['pending', 'in_flight', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export const listDeliveriesQuerySchema = z.strictObject({
  status: z
    .enum(DELIVERY_STATES, { error: () => `must be one of ${DELIVERY_STATES.join(', ')}` })
    .optional()
    .meta({ description: 'Only deliveries in this state' }),
  messageId: z
    .uuid({ error: 'must be a messageId (a UUID), as returned by POST /v3/notifications' })
    // Message ids are stored in lowercase; the same UUID in capitals is the same message.
    .transform((id) => id.toLowerCase())
    .optional()
    .meta({ description: 'Only deliveries about this message (its messageId, as returned by POST /v3/notifications)' }),
  limit: wholeNumberParam(1, 100).optional().meta({ description: 'Deliveries per page; 20 when left out' }),
  cursor: text({ max: 100, what: 'the nextCursor of the previous page' }).optional().meta({ description: 'The nextCursor of the previous page, unchanged' }),
});
export type ListDeliveriesParams = z.output<typeof listDeliveriesQuerySchema>;

const attemptSchema = z.object({
  at: z.iso.datetime(),
  statusCode: z.number().int().nullable().meta({ description: "The endpoint's HTTP status; null when it gave none (timeout, connection error)" }),
  durationMs: z.number().int(),
  error: z.string().nullable(),
});

export const deliverySchema = z
  .object({
    id: z.uuid(),
    type: z.string().meta({ example: 'message.delivered' }),
    messageId: z.string().nullable(),
    status: z.enum(DELIVERY_STATES),
    payload: z.record(z.string(), z.unknown()).meta({ description: 'The body as sent' }),
    createdAt: z.iso.datetime(),
    nextAttemptAt: z.iso.datetime().nullable(),
    deliveredAt: z.iso.datetime().nullable(),
    attempts: z.array(attemptSchema),
  })
  .meta({ id: 'WebhookDelivery' });
export type DeliveryView = z.output<typeof deliverySchema>;

export const deliveryPageSchema = z
  .object({ data: z.array(deliverySchema).meta({ description: 'Newest first' }), nextCursor: z.string().nullable() })
  .meta({ id: 'WebhookDeliveryPage' });
export type DeliveryPage = z.output<typeof deliveryPageSchema>;

export const replayBodySchema = z
  .strictObject(
    {
      from: isoDateOrTimeParam('an ISO 8601 date or time, e.g. 2026-03-01T10:00:00Z').meta({
        description: 'Every status change at or after this time is sent again (ISO 8601; without an offset, UTC)',
      }),
    },
    { error: objectError('{"from": "2026-03-01T10:00:00Z"}') },
  )
  .meta({ example: { from: '2026-03-01T10:00:00Z' } });
export type ReplayBody = z.output<typeof replayBodySchema>;

export const replayResultSchema = z.object({ queued: z.number().int().meta({ description: 'Deliveries queued' }) }).meta({ id: 'WebhookReplayResult' });
export const queuedDeliverySchema = z.object({ deliveryId: z.uuid(), status: z.enum(DELIVERY_STATES) }).meta({ id: 'WebhookQueuedDelivery' });
