import { z } from 'zod';

/** The 202 body of POST /v3/notifications (SendNotificationResult). */
export const sendNotificationResultSchema = z
  .object({
    requestId: z.uuid().meta({ description: 'The send request: GET /v3/notifications/{requestId}' }),
    messages: z.array(
      z.object({
        messageId: z.uuid().meta({ description: 'GET /v3/messages/{messageId}' }),
        recipient: z.string().meta({ description: 'The user identifier' }),
        status: z.enum(['queued', 'discarded']),
        discardReason: z
          .object({ code: z.string().meta({ example: 'no_phone_number' }), reason: z.string() })
          .optional()
          .meta({ description: 'Only for discarded: why the message will not be sent' }),
      }),
    ).meta({ description: 'One WhatsApp message per distinct recipient' }),
  })
  .meta({ id: 'SendNotificationResult' });
