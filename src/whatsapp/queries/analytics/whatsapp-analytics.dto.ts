import { z } from 'zod';
import { isoDateOrTimeParam, text } from '../../../common/input-schemas';

export const DEFAULT_ANALYTICS_DAYS = 30;
export const MAX_ANALYTICS_DAYS = 366;

const DAY_RULE = 'a date (YYYY-MM-DD) or an ISO 8601 time, e.g. 2026-03-01';

export const whatsAppAnalyticsQuerySchema = z.strictObject({
  from: isoDateOrTimeParam(DAY_RULE)
    .optional()
    .meta({
      example: '2026-03-01',
      description: `First day (UTC), inclusive: a date, or a time whose UTC day is taken. Default: ${DEFAULT_ANALYTICS_DAYS - 1} days before to`,
    }),
  to: isoDateOrTimeParam(DAY_RULE).optional().meta({ example: '2026-03-30', description: 'Last day (UTC), inclusive. Default: today (UTC)' }),
  category: text({ max: 512, what: 'a category identifier (text)' })
    .optional()
    .meta({ example: 'order-updates', description: 'Only messages of requests with this category' }),
  template: text({ max: 512, what: 'a template identifier (text)' }).optional().meta({ description: 'Only messages of requests that named this WhatsApp template' }),
  groupBy: z
    .enum(['category', 'template'], { error: 'must be category or template' })
    .optional()
    .meta({ description: 'Also break the totals down by category or by template (`breakdown`)' }),
});

export type WhatsAppAnalyticsParams = z.output<typeof whatsAppAnalyticsQuerySchema>;

const count = z.number().int().min(0);
const rate = (what: string) => z.number().nullable().meta({ example: 0.9412, description: `${what} / sent, rounded to 4 decimals; null when nothing was sent` });

export const whatsAppStatsSchema = z
  .object({
    sent: count.meta({ description: 'Messages Gupshup accepted' }),
    delivered: count.meta({ description: 'Messages delivered to the phone (seen ones included)' }),
    seen: count.meta({ description: 'Messages read by the user' }),
    discarded: count.meta({ description: 'Messages that will not be delivered' }),
    deliveryRate: rate('delivered'),
    seenRate: rate('seen'),
    billable: count.meta({ description: "Messages Gupshup's callbacks reported as billable, on the day they were sent" }),
    billableByCategory: z.record(z.string(), count).meta({
      example: { utility: 12, marketing: 3 },
      description: 'The billable messages by Gupshup pricing category (marketing, utility, authentication, service, ...; unknown when no report named one)',
    }),
  })
  .meta({ id: 'WhatsAppStats' });

export const whatsAppDailyStatsSchema = whatsAppStatsSchema.extend({ date: z.iso.date().meta({ description: 'The UTC day' }) }).meta({ id: 'WhatsAppDailyStats' });

export const whatsAppAnalyticsSchema = z
  .object({
    from: z.iso.date().meta({ example: '2026-03-01' }),
    to: z.iso.date().meta({ example: '2026-03-30' }),
    days: z.array(whatsAppDailyStatsSchema).meta({
      description:
        'Every day from `from` to `to`, oldest first. A message counts once per status it reached, on the UTC day it reached it, ' +
        "so a day's rates compare that day's deliveries with that day's sends and can exceed 1 when messages sent earlier are delivered that day",
    }),
    totals: whatsAppStatsSchema.meta({ description: 'The sums over the whole range' }),
    breakdown: z
      .array(whatsAppStatsSchema.extend({ value: z.string().nullable().meta({ description: 'The category or template; null for messages without one' }) }))
      .optional()
      .meta({ description: 'With groupBy: the totals of each category or template that had messages in the range, most sent first' }),
  })
  .meta({ id: 'WhatsAppAnalytics' });

export type WhatsAppStatsResponse = z.output<typeof whatsAppStatsSchema>;
export type WhatsAppDailyStatsResponse = z.output<typeof whatsAppDailyStatsSchema>;
export type WhatsAppAnalyticsResponse = z.output<typeof whatsAppAnalyticsSchema>;
