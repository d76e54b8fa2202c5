import { z } from 'zod';
import { e164ErrorMessage, identifierError, isE164 } from '../../users';
import { InvalidNotificationError } from './errors';

/** More recipients than this in one request is refused: split the list over several requests. */
export const MAX_RECIPIENTS_PER_REQUEST = 1000;
/** WhatsApp's limit for the body of a text message. */
export const MAX_TEXT_LENGTH = 4096;

/** The provider keys of `override`: the documented spelling and the misspelling Engagespot's docs use. */
export const GUPSHUP_OVERRIDE_KEY = 'gupshup_whatsapp';
export const GUPSHUP_OVERRIDE_ALIAS = 'gushup_whatsapp';

export interface GupshupConfigOverride {
  API_KEY?: string;
  SOURCE?: string;
  SRC_NAME?: string;
}

export interface RequestedRecipient {
  identifier: string;
  /** Present for an inline user object: the profile to create or update before sending. */
  profile?: Record<string, unknown>;
}

/** A send request, validated and normalised: what the command handler works with. */
export interface NotificationRequest {
  title: string;
  message: string;
  /** The text of a plain message: the title, a blank line, the message (API.md). */
  text: string;
  /** Unique by identifier, in order of first appearance. */
  recipients: RequestedRecipient[];
  data: Record<string, unknown>;
  sendAt: Date | null;
  /** `override.gupshup_whatsapp` (or its alias) without `_config`: goes into the Gupshup body as is. */
  gupshupOverride: Record<string, unknown> | null;
  configOverride: GupshupConfigOverride | null;
}

const requiredString = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be ${what}`) });

const configValue = z.string({ error: 'must be a non-empty string' }).trim().min(1, 'must be a non-empty string');

const configOverrideSchema = z.strictObject(
  { API_KEY: configValue.optional(), SOURCE: configValue.optional(), SRC_NAME: configValue.optional() },
  { error: 'must be an object with any of API_KEY, SOURCE, SRC_NAME' },
);

const gupshupOverrideSchema = z.looseObject(
  { _config: configOverrideSchema.optional() },
  { error: 'must be an object of Gupshup request fields (and an optional _config)' },
);

const recipientListSchema = z.array(z.unknown(), { error: 'must be an array of user identifiers or user objects {"identifier", "phoneNumber", ...}' });

/** The v3 body. Recipients are checked one by one afterwards, for messages that name the exact entry. */
const bodySchema = z.strictObject(
  {
    notification: z.strictObject(
      {
        title: requiredString('a string').refine((title) => title.trim() !== '', 'must not be empty'),
        message: z.string({ error: 'must be a string' }).nullish(),
      },
      { error: (issue) => (issue.input === undefined ? 'is required: {"title": "...", "message": "..."}' : 'must be an object {"title", "message"}') },
    ),
    sendTo: z.strictObject({ recipients: recipientListSchema.optional() }, { error: 'must be an object {"recipients": [...]}' }).optional(),
    recipients: recipientListSchema.optional(),
    data: z.record(z.string(), z.unknown(), { error: 'must be an object' }).nullish(),
    sendAt: z
      .iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:00:00Z' })
      .nullish(),
    override: z
      .strictObject(
        { [GUPSHUP_OVERRIDE_KEY]: gupshupOverrideSchema.optional(), [GUPSHUP_OVERRIDE_ALIAS]: gupshupOverrideSchema.optional() },
        { error: `must be an object such as {"${GUPSHUP_OVERRIDE_KEY}": {...}}` },
      )
      .nullish(),
  },
  { error: 'the body must be a JSON object' },
);

type Body = z.output<typeof bodySchema>;

const inlineUserSchema = z.looseObject({ identifier: requiredString('a string') });

/**
 * Checks a POST /v3/notifications body. Throws InvalidNotificationError listing every problem,
 * each prefixed with its path (`sendTo.recipients[1].phoneNumber ...`).
 */
export function parseNotificationRequest(input: unknown): NotificationRequest {
  const parsed = bodySchema.safeParse(input);
  if (!parsed.success) throw new InvalidNotificationError(parsed.error.issues.map((issue) => describeIssue(issue)));
  const body = parsed.data;
  const problems: string[] = [];

  const recipients = collectRecipients(body, problems);
  const override = pickGupshupOverride(body, problems);
  const message = body.notification.message ?? '';
  const text = message.trim() === '' ? body.notification.title : `${body.notification.title}\n\n${message}`;
  const replacesText = override !== null && (hasValue(override, 'message') || hasValue(override, 'template'));
  if (!replacesText && text.length > MAX_TEXT_LENGTH) {
    problems.push(
      `notification.title and notification.message together must be at most ${MAX_TEXT_LENGTH} characters (WhatsApp's limit for a text message); got ${text.length}`,
    );
  }
  if (problems.length > 0) throw new InvalidNotificationError(problems);

  const { _config: configOverride, ...gupshupOverride } = override ?? {};
  return {
    title: body.notification.title,
    message,
    text,
    recipients,
    data: body.data ?? {},
    sendAt: body.sendAt ? new Date(body.sendAt) : null,
    gupshupOverride: override === null ? null : gupshupOverride,
    configOverride: (configOverride as GupshupConfigOverride | undefined) ?? null,
  };
}

function collectRecipients(body: Body, problems: string[]): RequestedRecipient[] {
  const byIdentifier = new Map<string, RequestedRecipient>();
  const lists: [string, unknown[] | undefined][] = [
    ['sendTo.recipients', body.sendTo?.recipients],
    ['recipients', body.recipients],
  ];
  for (const [path, list] of lists) {
    list?.forEach((entry, index) => {
      const recipient = parseRecipient(entry, `${path}[${index}]`, problems);
      if (!recipient) return;
      const seen = byIdentifier.get(recipient.identifier);
      // The same user twice is one message; profile fields given in either place are all applied.
      if (!seen) byIdentifier.set(recipient.identifier, recipient);
      else if (recipient.profile) seen.profile = { ...seen.profile, ...recipient.profile };
    });
  }
  if (problems.length === 0 && byIdentifier.size === 0) {
    problems.push('at least one recipient is required: give user identifiers in sendTo.recipients (or the older top-level recipients)');
  }
  if (byIdentifier.size > MAX_RECIPIENTS_PER_REQUEST) {
    problems.push(
      `at most ${MAX_RECIPIENTS_PER_REQUEST} distinct recipients are accepted in one request (got ${byIdentifier.size}); split them over several requests`,
    );
  }
  return [...byIdentifier.values()];
}

function parseRecipient(entry: unknown, path: string, problems: string[]): RequestedRecipient | undefined {
  if (typeof entry === 'string') {
    const badIdentifier = identifierError(entry);
    if (badIdentifier) {
      problems.push(`${path}: ${badIdentifier}`);
      return undefined;
    }
    return { identifier: entry };
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    problems.push(`${path} must be a user identifier (a string) or a user object {"identifier", "phoneNumber", ...}`);
    return undefined;
  }
  const checked = inlineUserSchema.safeParse(entry);
  if (!checked.success) {
    problems.push(...checked.error.issues.map((issue) => describeIssue(issue, path)));
    return undefined;
  }
  const { identifier, ...profile } = checked.data;
  const badIdentifier = identifierError(identifier);
  if (badIdentifier) {
    problems.push(`${path}.identifier: ${badIdentifier}`);
    return undefined;
  }
  // The rest of the profile is checked by UsersService.upsert; the phone number here, to name the entry.
  if (profile.phoneNumber !== undefined && profile.phoneNumber !== null && !isE164(profile.phoneNumber)) {
    problems.push(e164ErrorMessage(`${path}.phoneNumber`, profile.phoneNumber));
    return undefined;
  }
  return { identifier, profile };
}

function pickGupshupOverride(body: Body, problems: string[]): (Record<string, unknown> & { _config?: GupshupConfigOverride }) | null {
  const override = body.override;
  if (!override) return null;
  const proper = override[GUPSHUP_OVERRIDE_KEY];
  const alias = override[GUPSHUP_OVERRIDE_ALIAS];
  if (proper && alias) {
    problems.push(`override: give either ${GUPSHUP_OVERRIDE_KEY} or its alias ${GUPSHUP_OVERRIDE_ALIAS}, not both`);
    return null;
  }
  return proper ?? alias ?? null;
}

function describeIssue(issue: z.core.$ZodIssue, prefix = ''): string {
  const path = formatPath(prefix, issue.path);
  if (issue.code === 'unrecognized_keys') {
    const where = path === '' ? 'the body' : path;
    const names = issue.keys.map((key) => `"${key}"`).join(', ');
    return `${where} has unknown field${issue.keys.length > 1 ? 's' : ''} ${names}; ${allowedFieldsHint(path)}`;
  }
  return path === '' ? issue.message : `${path} ${issue.message}`;
}

function allowedFieldsHint(path: string): string {
  switch (path) {
    case '':
      return 'accepted fields are notification, sendTo, recipients, data, sendAt, override';
    case 'notification':
      return 'accepted fields are title and message';
    case 'sendTo':
      return 'accepted field is recipients';
    case 'override':
      return `accepted fields are ${GUPSHUP_OVERRIDE_KEY} and its alias ${GUPSHUP_OVERRIDE_ALIAS}`;
    default:
      return path.endsWith('_config') ? 'accepted fields are API_KEY, SOURCE, SRC_NAME' : 'remove them';
  }
}

function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function hasValue(record: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(record, key) && record[key] !== undefined && record[key] !== null;
}

/** What one entry of a recipient list may be, for the OpenAPI description. */
const RECIPIENT_JSON_SCHEMA = {
  oneOf: [
    { type: 'string', description: 'A user identifier' },
    {
      type: 'object',
      description: 'A user to create or update first: identifier, phoneNumber (E.164) and any profile fields',
      properties: { identifier: { type: 'string' }, phoneNumber: { type: 'string', example: '+14155550123' } },
      required: ['identifier'],
      additionalProperties: true,
    },
  ],
};

/** The JSON schema of the body, for the OpenAPI description (OpenAPI 3.0 has no `$schema`). */
export function notificationBodyJsonSchema(): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(bodySchema, {
    unrepresentable: 'any',
    target: 'openapi-3.0',
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema === recipientListSchema) jsonSchema.items = RECIPIENT_JSON_SCHEMA as typeof jsonSchema;
      // The date-time format says it; zod's long pattern adds nothing for a reader.
      if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
    },
  }) as Record<string, unknown>;
  return schema;
}
