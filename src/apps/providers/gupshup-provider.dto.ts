import { z } from 'zod';
import { text } from '../../common/input-schemas';
import { kindOf } from '../../common/validation';
import { GUPSHUP_CHANNEL, GUPSHUP_PROVIDER } from './gupshup-config-rules';

/** Each key is checked further by resolveGupshupConfig, which knows what is stored already. */
const configValue = (description: string, example?: string) =>
  text({ min: 0, what: 'a string' }).meta({ description, ...(example ? { example } : {}) });

const ENABLED_REQUIRED =
  'is required: true to send through Gupshup, false to stop (the stored config is kept); it may be left out only in a body that sets acceptLegacyCallbackUrl or enforceSessionWindow alone';

/** `PUT /v3/channels/whatsapp/providers/gupshup_whatsapp` (and its admin twin). */
export const putGupshupProviderBodySchema = z.strictObject(
  {
    enabled: z
      .boolean({ error: (issue) => (issue.input === undefined ? ENABLED_REQUIRED : 'must be true or false') })
      .optional()
      .meta({ description: 'true to send through Gupshup (needs all three config keys, sent now or stored before); false to stop. Required unless the body sets acceptLegacyCallbackUrl alone' }),
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
    acceptLegacyCallbackUrl: z
      .boolean({ error: 'must be true or false' })
      .optional()
      .meta({
        description:
          'true: callbacks on the old callback URL, without its token, are accepted too (for an app whose Gupshup callback URL predates tokens); false (the default): only the URL with the token',
      }),
    enforceSessionWindow: z
      .boolean({ error: 'must be true or false' })
      .optional()
      .meta({
        description:
          'true: a message other than a template, to a number that has not written to the app in the last 24 hours, is discarded as outside_session_window without calling Gupshup; false (the default): every message is sent',
      }),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? `must be a JSON object {"enabled": true, "config": {...}} (got ${issue.input === undefined ? 'no body' : kindOf(issue.input)})` : undefined) },
)
  .superRefine((body, ctx) => {
    if (body.enabled === undefined && (body.config !== undefined || (body.acceptLegacyCallbackUrl === undefined && body.enforceSessionWindow === undefined))) {
      ctx.addIssue({ code: 'custom', message: ENABLED_REQUIRED, path: ['enabled'], input: undefined });
    }
  })
  .meta({ example: { enabled: true, config: { API_KEY: 'your-gupshup-api-key', SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } } });

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
    callbackUrl: z.url().meta({
      description: "The URL to set as the Gupshup app's callback URL; its `token` is a secret (rotate it with POST .../rotate-callback-token)",
    }),
    acceptLegacyCallbackUrl: z.boolean().meta({ description: 'Whether callbacks on the old URL, without the token, are accepted too' }),
    enforceSessionWindow: z.boolean().meta({ description: 'Whether messages other than templates go only to numbers that wrote in the last 24 hours' }),
    updatedAt: z.iso.datetime().meta({
      description: 'When a setting a PUT sets last changed (enabled, config, acceptLegacyCallbackUrl, enforceSessionWindow); a PUT that changes nothing leaves it as it was',
    }),
    paused: z
      .object({
        since: z.iso.datetime().meta({ description: 'When the account-level failure paused the dispatch' }),
        code: z.string().meta({ description: "Gupshup's or Meta's failure code", example: '1003' }),
        reason: z.string().meta({ example: 'Unable To Send Message / Check your wallet balance.' }),
      })
      .nullable()
      .meta({
        description:
          "Set while the app's WhatsApp dispatch is paused by an account-level failure (Gupshup 1003 wallet balance low, 4001 rate limited, Meta 471 spam rate limit, ...): its messages stay queued, and nothing is sent until POST .../gupshup_whatsapp/resume; null otherwise",
      }),
  })
  .meta({ id: 'GupshupProvider' });

/** `POST .../gupshup_whatsapp/rotate-callback-token`. */
export const rotatedCallbackTokenSchema = z
  .object({
    callbackUrl: z.url().meta({
      description: "The new callback URL, to set as the Gupshup app's callback URL; the previous one keeps working for CALLBACK_TOKEN_GRACE_HOURS",
    }),
  })
  .meta({ id: 'RotatedCallbackToken' });

/** The app of an admin route, by id. */
export const appIdParamSchema = z
  .uuid({ error: 'must be an app id (a UUID), as listed by GET /admin/apps' })
  .meta({ description: 'The app id, as listed by GET /admin/apps' });
