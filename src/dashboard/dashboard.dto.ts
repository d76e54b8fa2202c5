import { z } from 'zod';
import { text } from '../common/input-schemas';

const SECRET_MAX = 512;

/** POST /dashboard/api/session: an app's key and secret, or the admin token. */
export const signInBodySchema = z
  .strictObject({
    apiKey: text({ max: SECRET_MAX, trim: true, what: "the app's API key" }).optional().meta({ description: "The app's API key (X-ENGAGESPOT-API-KEY)" }),
    apiSecret: text({ max: SECRET_MAX, trim: true, what: "the app's API secret" })
      .optional()
      .meta({ description: "The app's API secret (X-ENGAGESPOT-API-SECRET)" }),
    adminToken: text({ max: SECRET_MAX, trim: true, what: 'the ADMIN_TOKEN' }).optional().meta({ description: 'The ADMIN_TOKEN, instead of an app key and secret' }),
  })
  // Messages about the whole body follow "the body", as the validation pipe puts them.
  .superRefine((body, ctx) => {
    const asApp = body.apiKey !== undefined || body.apiSecret !== undefined;
    if (asApp && body.adminToken !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'must hold either apiKey and apiSecret, or adminToken, not both' });
    } else if (asApp && (body.apiKey === undefined || body.apiSecret === undefined)) {
      const missing = body.apiKey === undefined ? 'apiKey' : 'apiSecret';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'is missing: an app signs in with both its API key and its API secret' });
    } else if (!asApp && body.adminToken === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must hold apiKey and apiSecret (to sign in as an app), or adminToken (as the admin)' });
    }
  })
  .meta({ id: 'DashboardSignIn', example: { apiKey: 'ak_...', apiSecret: 'as_...' } });

export type SignInBody = z.output<typeof signInBodySchema>;

export const chooseAppBodySchema = z
  .strictObject({ appId: z.uuid({ error: 'must be an app id (a UUID), as GET /dashboard/api/admin/apps lists them' }) })
  .meta({ id: 'DashboardChooseApp' });

export type ChooseAppBody = z.output<typeof chooseAppBodySchema>;

export const dashboardSessionSchema = z
  .object({
    kind: z.enum(['app', 'admin']).meta({ description: "app: an app's people; admin: the admin, who sees every app" }),
    app: z
      .object({ id: z.string(), name: z.string(), apiKey: z.string() })
      .nullable()
      .meta({ description: 'The app the session shows; for the admin the one chosen last (null before a choice)' }),
    expiresAt: z.iso.datetime().meta({ description: 'When the session ends: sign in again then' }),
  })
  .meta({ id: 'DashboardSession' });

export type DashboardSessionView = z.output<typeof dashboardSessionSchema>;

/** What the forwarded routes answer: whatever the /v3 route of the same path answers. */
export const forwardedAnswerSchema = z
  .looseObject({})
  .meta({ id: 'DashboardForwardedAnswer', description: 'The answer of the app API route of the same path under /v3, unchanged', additionalProperties: {} });
