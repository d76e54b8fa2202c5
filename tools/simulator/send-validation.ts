/**
 * The checks Gupshup's send API applies, in its order, with its error bodies (GUPSHUP.md §1.3, §1.5, §1.6).
 */

export type SendEndpoint = 'msg' | 'template';

export interface RegisteredAppDetails {
  source: string;
  srcName: string;
}

export type SendVerdict =
  | { ok: true; apiKey: string; source: string; srcName: string; destination: string; message?: unknown; template?: unknown }
  | { ok: false; status: number; body: Record<string, string> };

export interface SendValidationContext {
  findApp(apiKey: string): RegisteredAppDetails | undefined;
  /** Any non-empty apikey, source and src.name pass: lets people try the service without registering an app. */
  acceptAnyKey: boolean;
}

export const AUTHENTICATION_FAILED = { message: 'Authentication Failed', status: 'error' };
export const INVALID_APP_DETAILS = { message: 'Invalid App Details', status: 'error' };
export const INVALID_DESTINATION = { message: 'Invalid Destination', status: 'error' };
// Gupshup's exact wording for a malformed message or template is not documented; these follow its style.
export const INVALID_MESSAGE = { message: 'Invalid Message', status: 'error' };
export const INVALID_TEMPLATE = { message: 'Invalid Template', status: 'error' };
export const INVALID_CHANNEL = { message: 'Invalid Channel', status: 'error' };

export function validateSendRequest(
  endpoint: SendEndpoint,
  apiKeyHeader: string | string[] | undefined,
  form: Record<string, string>,
  context: SendValidationContext,
): SendVerdict {
  const apiKey = typeof apiKeyHeader === 'string' ? apiKeyHeader.trim() : '';
  const app = apiKey === '' ? undefined : context.findApp(apiKey);
  if (!app && !(context.acceptAnyKey && apiKey !== '')) return { ok: false, status: 401, body: AUTHENTICATION_FAILED };

  const source = form.source ?? '';
  const srcName = form['src.name'] ?? '';
  const appDetailsMatch = app
    ? source === app.source && srcName === app.srcName
    : /^\d{6,15}$/.test(source) && srcName.trim() !== '';
  if (!appDetailsMatch) return { ok: false, status: 400, body: INVALID_APP_DETAILS };

  if (form.channel !== undefined && form.channel !== 'whatsapp') return { ok: false, status: 400, body: INVALID_CHANNEL };

  const destination = form.destination ?? '';
  if (!/^\d{8,15}$/.test(destination)) return { ok: false, status: 400, body: INVALID_DESTINATION };

  const message = form.message === undefined ? undefined : parseJsonObject(form.message);
  if (endpoint === 'msg') {
    if (!message || !nonEmptyString(message.type)) return { ok: false, status: 400, body: INVALID_MESSAGE };
    return { ok: true, apiKey, source, srcName, destination, message };
  }

  const template = form.template === undefined ? undefined : parseJsonObject(form.template);
  if (!template || !nonEmptyString(template.id)) return { ok: false, status: 400, body: INVALID_TEMPLATE };
  if (template.params !== undefined && !Array.isArray(template.params)) return { ok: false, status: 400, body: INVALID_TEMPLATE };
  // A template's optional message describes its media header, and must then name its type.
  if (form.message !== undefined && (!message || !nonEmptyString(message.type))) return { ok: false, status: 400, body: INVALID_MESSAGE };
  return { ok: true, apiKey, source, srcName, destination, template, ...(message ? { message } : {}) };
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function nonEmptyString(value: unknown): boolean {
  return typeof value === 'string' && value.trim() !== '';
}
