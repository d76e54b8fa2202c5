import { z } from 'zod';
import { text } from '../../common/input-schemas';
import { kindOf } from '../../common/validation';

export const APP_NAME_MAX_LENGTH = 200;

/** The body of POST /admin/apps; `apps:create NAME` checks its name with the same rules. */
export const createAppBodySchema = z.strictObject(
  {
    name: text({ max: APP_NAME_MAX_LENGTH, trim: true, singleLine: true, what: 'a string, the app\'s display name (e.g. "Acme")' }).meta({
      description: "The app's display name; leading and trailing spaces are removed",
      example: 'Acme',
    }),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? `must be a JSON object {"name": "..."} (got ${issue.input === undefined ? 'no body' : kindOf(issue.input)})` : undefined) },
).meta({ example: { name: 'Acme' } });

export type CreateAppBody = z.output<typeof createAppBodySchema>;

const appFields = {
  id: z.uuid().meta({ description: 'The app id, used by the admin API' }),
  name: z.string(),
  apiKey: z.string().meta({ description: 'X-ENGAGESPOT-API-KEY of the app API; not a secret on its own' }),
  createdAt: z.iso.datetime(),
};

export const createdAppSchema = z
  .object({
    ...appFields,
    apiSecret: z.string().meta({ description: 'X-ENGAGESPOT-API-SECRET: shown only in this answer, keep it safe' }),
    callbackUrl: z.url().meta({
      description:
        "The URL to set as the Gupshup app's callback URL. Its `token` is a secret: GET /v3/channels/whatsapp/providers/gupshup_whatsapp shows it again, rotate-callback-token replaces it",
    }),
  })
  .meta({ id: 'CreatedApp' });

export const appSummarySchema = z.object(appFields).meta({ id: 'App' });

export const appListSchema = z.object({ data: z.array(appSummarySchema) }).meta({ id: 'AppList' });
