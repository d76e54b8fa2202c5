import { z } from 'zod';
import { MESSAGE_STATUSES, PROVIDER_STATUSES, WHATSAPP_PROVIDER, type MessageStatus, type MessageView, type ProviderStatus } from '../domain';

// API.md's message. The schemas document the answers; the types below are what the queries return.

const messageStatus = z.enum(MESSAGE_STATUSES as [MessageStatus, ...MessageStatus[]]);
const isoTime = z.iso.datetime();

export const timelineEntrySchema = z
  .object({
    status: messageStatus.meta({ description: "This service's status for the event" }),
    providerStatus: z
      .enum(PROVIDER_STATUSES as [ProviderStatus, ...ProviderStatus[]])
      .optional()
      .meta({ description: "Gupshup's own word; absent for this service's own events such as queued" }),
    at: isoTime.meta({ description: "When it happened: the provider's own timestamp for callbacks" }),
    receivedAt: isoTime.meta({ description: 'When this service received it' }),
    code: z.string().optional().meta({ example: '1002', description: 'Failure code, for failures' }),
    reason: z.string().optional().meta({ example: 'Number does not exist on WhatsApp', description: 'Failure reason, for failures' }),
  })
  .meta({ id: 'TimelineEntry' });

export const discardReasonSchema = z
  .object({ code: z.string().meta({ example: '1002' }), reason: z.string().meta({ example: 'Number does not exist on WhatsApp' }) })
  .meta({ id: 'DiscardReason' });

export const pricingSchema = z
  .object({
    category: z.string().nullable().meta({ example: 'utility', description: 'marketing, utility, authentication, service, ...' }),
    billable: z.boolean().nullable().meta({ description: 'Whether Gupshup charges for the message' }),
    model: z.string().nullable().meta({ example: 'PMP', description: 'The pricing model: CBP, NBP or PMP' }),
  })
  .meta({ id: 'MessagePricing' });

export const messageSchema = z
  .object({
    messageId: z.string().meta({ format: 'uuid' }),
    requestId: z.string().nullable(),
    recipient: z.string().nullable().meta({ description: 'The user identifier' }),
    phoneNumber: z.string().nullable().meta({ example: '+919988776655' }),
    provider: z.literal(WHATSAPP_PROVIDER),
    providerMessageId: z.string().nullable().meta({ description: "Gupshup's messageId, once Gupshup accepted the message" }),
    status: messageStatus,
    queuedAt: isoTime.nullable(),
    sentAt: isoTime.nullable(),
    deliveredAt: isoTime.nullable(),
    seenAt: isoTime.nullable(),
    discardedAt: isoTime.nullable(),
    discardReason: discardReasonSchema.nullable(),
    category: z.string().nullable().meta({ example: 'order-updates', description: "The request's category (category or notification.category)" }),
    template: z.string().nullable().meta({ description: 'The WhatsApp template the request named, if any' }),
    pricing: pricingSchema.nullable().meta({ description: "What Gupshup's callbacks said the message costs (v3 pricing objects); null until one says" }),
    timeline: z.array(timelineEntrySchema).meta({ description: 'One entry per distinct event, ordered by `at`' }),
  })
  .meta({ id: 'Message' });

export type TimelineEntryResponse = z.output<typeof timelineEntrySchema>;
export type DiscardReasonResponse = z.output<typeof discardReasonSchema>;
export type MessageResponse = z.output<typeof messageSchema>;

/** The view's fields that the API shows. */
export type MessageResponseFields = Pick<
  MessageView,
  | 'messageId'
  | 'requestId'
  | 'recipient'
  | 'phoneNumber'
  | 'provider'
  | 'providerMessageId'
  | 'status'
  | 'queuedAt'
  | 'sentAt'
  | 'deliveredAt'
  | 'seenAt'
  | 'discardedAt'
  | 'discardReason'
  | 'category'
  | 'template'
  | 'pricing'
  | 'timeline'
>;

/** The public part of the domain's view: no app id, attempts or dispatch errors. */
export function messageResponse(view: MessageResponseFields): MessageResponse {
  return {
    messageId: view.messageId,
    requestId: view.requestId,
    recipient: view.recipient,
    phoneNumber: view.phoneNumber,
    provider: view.provider,
    providerMessageId: view.providerMessageId,
    status: view.status,
    queuedAt: view.queuedAt,
    sentAt: view.sentAt,
    deliveredAt: view.deliveredAt,
    seenAt: view.seenAt,
    discardedAt: view.discardedAt,
    discardReason: view.discardReason ? { code: view.discardReason.code, reason: view.discardReason.reason } : null,
    category: view.category,
    template: view.template,
    pricing: view.pricing ? { category: view.pricing.category ?? null, billable: view.pricing.billable ?? null, model: view.pricing.model ?? null } : null,
    timeline: view.timeline.map((entry) => ({ ...entry })),
  };
}
