import { z } from 'zod';
import { messageSchema } from '../message-response';
import { NOTIFICATION_MESSAGES_LIMIT } from './notification-limits';

const count = z.number().int().min(0);

export const statusCountsSchema = z
  .object({ queued: count, sent: count, delivered: count, seen: count, discarded: count })
  .meta({ id: 'StatusCounts', description: 'Messages per current status; they add up to messageCount' });

export const notificationSchema = z
  .object({
    requestId: z.string().meta({ format: 'uuid' }),
    createdAt: z.iso.datetime().nullable().meta({ description: 'When the send request was accepted' }),
    category: z.string().nullable().meta({ example: 'order-updates', description: 'category or notification.category, as requested' }),
    notification: z
      .record(z.string(), z.unknown())
      .nullable()
      .meta({ description: 'The notification object as requested (title, message, url, icon, content, ...); null until the request itself is read' }),
    messageCount: count.meta({ description: 'How many WhatsApp messages the request has (one per recipient)' }),
    counts: statusCountsSchema,
    messages: z.array(messageSchema).meta({
      description: `The messages, oldest first; at most ${NOTIFICATION_MESSAGES_LIMIT} (for more, page through GET /v3/messages?requestId=...)`,
    }),
  })
  .meta({ id: 'Notification' });

export type StatusCountsResponse = z.output<typeof statusCountsSchema>;

export type NotificationResponse = z.output<typeof notificationSchema>;
