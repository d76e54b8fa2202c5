import { z } from 'zod';

/**
 * What Gupshup posts to the webhook, for the OpenAPI description only: the webhook reads any
 * JSON (callback-parser.ts decides what it is), since refusing a callback would only make
 * Gupshup send it again.
 */
export const gupshupCallbackSchema = z
  .union([
    z
      .looseObject({
        app: z.string().meta({ example: 'DemoAPI' }),
        timestamp: z.number().meta({ example: 1710930470000, description: 'Milliseconds since 1970' }),
        version: z.literal(2),
        type: z.string().meta({ example: 'message-event', description: 'message-event, user-event, billing-event, template-event or message' }),
        payload: z.looseObject({}).meta({ description: 'For a message-event: {id, gsId, type: enqueued | sent | delivered | read | failed, destination, payload}' }),
      })
      .meta({ title: 'v2 (Gupshup format)' }),
    z
      .looseObject({
        object: z.literal('whatsapp_business_account'),
        entry: z.array(z.looseObject({})).meta({ description: '[{changes: [{field: "messages", value: {statuses: [{gs_id, id, status, timestamp, recipient_id, errors}]}}]}]' }),
      })
      .meta({ title: 'v3 (Meta format)' }),
  ])
  .meta({
    description: 'The callback as Gupshup sends it: v2 or v3 format',
    example: {
      app: 'DemoAPI',
      timestamp: 1580546677791,
      version: 2,
      type: 'message-event',
      payload: { id: '59f8db90-c37e-4408-90ab-cc54ef8246ad', type: 'enqueued', destination: '919985010102', payload: { whatsappMessageId: 'gBEGkYaYVSEEAgkD7bRi9syGnBk', type: 'session' } },
    },
  });

/** The webhook's path key: any text; one no app has (or that could not be any app's) is answered 404. */
export const webhookApiKeyParamSchema = z
  .string()
  .meta({ description: "The app's API key: it names the app and is not a credential on its own (the callback token in the query is; Gupshup signs nothing)" });
