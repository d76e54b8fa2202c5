/** The OpenAPI security scheme of the Gupshup webhook: the callback token in the URL's query. */
export const CALLBACK_TOKEN_SECURITY = 'callbackToken';

export const callbackTokenSecurityScheme = {
  type: 'apiKey' as const,
  in: 'query' as const,
  name: 'token',
  description: "The app's callback token, part of the callback URL shown by POST /admin/apps and GET /v3/channels/whatsapp/providers/gupshup_whatsapp",
};
