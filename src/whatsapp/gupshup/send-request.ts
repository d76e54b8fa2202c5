/**
 * Builds the HTTP request Gupshup's send API expects (GUPSHUP.md §1.3–1.5). Pure: no I/O, no clock.
 */

export interface GupshupCredentials {
  apiKey: string;
  /** The registered WhatsApp number, digits only. */
  source: string;
  /** The Gupshup app name registered to that number. */
  srcName: string;
}

export interface GupshupSendInput {
  credentials: GupshupCredentials;
  /** The user's number (or the override's, which replaces it), digits, no "+". */
  destination: string;
  text: string;
  /** `override.gupshup_whatsapp` without its `_config`: every key but `destination` (given as `destination`) goes into the form as is. */
  override?: Record<string, unknown>;
  /** A registered template, its parameters filled: sent to the template endpoint instead of `text`. */
  template?: GupshupTemplateMessage;
}

/** The media of a template's header; documents may name the file shown. */
export interface GupshupTemplateHeader {
  type: 'image' | 'video' | 'document';
  link: string;
  filename?: string;
}

export interface GupshupTemplateMessage {
  /** Gupshup's template id. */
  id: string;
  params: string[];
  header?: GupshupTemplateHeader;
}

export type GupshupSendPath = '/wa/api/v1/msg' | '/wa/api/v1/template/msg';

export interface GupshupSendRequest {
  path: GupshupSendPath;
  headers: Record<string, string>;
  form: Record<string, string>;
}

export const GUPSHUP_MESSAGE_PATH = '/wa/api/v1/msg';
export const GUPSHUP_TEMPLATE_PATH = '/wa/api/v1/template/msg';

/** The override key whose content replaces the stored credentials instead of going to Gupshup. */
const CONFIG_OVERRIDE_KEY = '_config';

export function buildGupshupSendRequest(input: GupshupSendInput): GupshupSendRequest {
  const { credentials, override = {} } = input;
  const isTemplate = input.template !== undefined || hasValue(override, 'template');

  const form: Record<string, string> = {
    channel: 'whatsapp',
    source: withoutLeadingPlus(credentials.source),
    'src.name': credentials.srcName,
    destination: withoutLeadingPlus(input.destination),
  };
  // A template send carries `template`; a `message` there describes a media header (GUPSHUP.md §1.5).
  if (input.template) Object.assign(form, templateFields(input.template));
  else if (!isTemplate) form.message = JSON.stringify({ type: 'text', text: input.text });

  for (const [key, value] of Object.entries(override)) {
    if (key === CONFIG_OVERRIDE_KEY || value === undefined || value === null) continue;
    // An override's destination is also input.destination now (checked by the send gates); a job
    // queued before that was so still holds the user's number there, and the override here.
    form[key] = key === 'destination' ? withoutLeadingPlus(formValue(value)) : formValue(value);
  }

  return {
    path: isTemplate ? GUPSHUP_TEMPLATE_PATH : GUPSHUP_MESSAGE_PATH,
    headers: {
      apikey: credentials.apiKey,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    },
    form,
  };
}

/** `template` and, for a media header, `message` = `{"type": "image", "image": {"link": ...}}` (likewise video, document). */
export function templateFields(template: GupshupTemplateMessage): Record<string, string> {
  const fields: Record<string, string> = { template: JSON.stringify({ id: template.id, params: template.params }) };
  const header = template.header;
  if (header) {
    const media = header.type === 'document' && header.filename !== undefined ? { link: header.link, filename: header.filename } : { link: header.link };
    fields.message = JSON.stringify({ type: header.type, [header.type]: media });
  }
  return fields;
}

/**
 * Applies `override.gupshup_whatsapp._config` (API_KEY, SOURCE, SRC_NAME) over the stored credentials.
 * Empty or non-text values are ignored, so a stray blank never replaces a working credential.
 */
export function mergeGupshupConfig(stored: GupshupCredentials, configOverride?: Record<string, unknown>): GupshupCredentials {
  const apiKey = textValue(configOverride?.API_KEY);
  const source = textValue(configOverride?.SOURCE);
  const srcName = textValue(configOverride?.SRC_NAME);
  return {
    apiKey: apiKey ?? stored.apiKey,
    source: withoutLeadingPlus(source ?? stored.source),
    srcName: srcName ?? stored.srcName,
  };
}

function formValue(value: unknown): string {
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function hasValue(record: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(record, key) && record[key] !== undefined && record[key] !== null;
}

function textValue(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function withoutLeadingPlus(value: string): string {
  return value.trim().replace(/^\+/, '');
}
