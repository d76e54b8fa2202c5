import { z } from 'zod';
import { text } from '../../common/input-schemas';
import { kindOf } from '../../common/validation';
import { GUPSHUP_CHANNEL, GUPSHUP_PROVIDER } from './gupshup-config-rules';

/** Each key is checked further by resolveGupshupConfig, which knows what is stored already. */
const configValue = (description: string, example?: string) =>
  text({ min: 0, what: 'a string' }).meta({ description, ...(example ? { example } : {}) });

/** `PUT /v3/channels/whatsapp/providers/gupshup_whatsapp` (and its admin twin). */
export const putGupshupProviderBodySchema = z.strictObject(
  {
    enabled: z
      .boolean({ error: (issue) => (issue.input === undefined ? 'is required: true to send through Gupshup, false to stop (the stored config is kept)' : 'must be true or false') })
      .meta({ description: 'true to send through Gupshup (needs all three config keys, sent now or stored before); false to stop' }),
    config: z
      .strictObject(
        {
          API_KEY: configValue('The Gupshup account API key; never shown again whole. Its masked form, as GET shows it, keeps the stored key').optional(),
          SOURCE: configValue('The WhatsApp business number, digits (8 to 15, a leading + allowed)', '917834811114').optional(),
          SRC_NAME: configValue('The Gupshup app name', 'DemoAPI').optional(),
        },
        { error: (issue) => (issue.code === 'invalid_type' ? 'must be an object with API_KEY, SOURCE and SRC_NAME' : undefined) },
      )
      .optional()
      .meta({ description: 'Keys not sent keep their stored values' }),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? `must be a JSON object {"enabled": true, "config": {...}} (got ${issue.input === undefined ? 'no body' : kindOf(issue.input)})` : undefined) },
).meta({ example: { enabled: true, config: { API_KEY: 'your-gupshup-api-key', SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } } });

export type PutGupshupProviderBody = z.output<typeof putGupshupProviderBodySchema>;

export const gupshupProviderViewSchema = z
  .object({
    provider: z.literal(GUPSHUP_PROVIDER),
    channel: z.literal(GUPSHUP_CHANNEL),
    enabled: z.boolean(),
    config: z.object({
      API_KEY: z.string().meta({ description: 'Masked: its last 4 characters only', example: '****1a2b' }).optional(),
      SOURCE: z.string().meta({ example: '917834811114' }).optional(),
      SRC_NAME: z.string().meta({ example: 'DemoAPI' }).optional(),
    }),
    callbackUrl: z.url().meta({ description: "The URL to set as the Gupshup app's callback URL" }),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'GupshupProvider' });

/** The app of an admin route, by id. */
export const appIdParamSchema = z
  .uuid({ error: 'must be an app id (a UUID), as listed by GET /admin/apps' })
  .meta({ description: 'The app id, as listed by GET /admin/apps' });
