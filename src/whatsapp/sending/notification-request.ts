import { z } from 'zod';
import { checkJson, isInSupportedRange, jsonObject, textProblem, type JsonLimits } from '../../common/input-schemas';
import { requestBodySchema } from '../../common/openapi';
import { validateInputSync } from '../../common/validation';
import { identifierError, profilePatchSchema } from '../../users';
import { contactNumber } from '../consent/contact-number';
import { InvalidNotificationError, TopicsNotSupportedError } from './errors';

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

/** The channels an Engagespot request may name in `override.channels` (the SDK's list). */
export const ENGAGESPOT_CHANNELS = ['inApp', 'webPush', 'mobilePush', 'email', 'sms', 'whatsapp', 'slack', 'webhook', 'discord'] as const;

/** Provider overrides the SDK's types allow besides Gupshup's: accepted, and ignored (this service sends WhatsApp through Gupshup only). */
export const OTHER_PROVIDER_OVERRIDE_KEYS = [
  'mailgun',
  'sendgrid_email',
  'ses',
  'smtp_email',
  'default_webpush',
  'fcm',
  'twilio_sms',
  'textlocal_sms',
  'gupshup_sms',
  'twilio_whatsapp',
  'plivo_sms',
  'postmark_email',
] as const;

/** `override.channel` keys of the SDK besides whatsapp: accepted, and ignored. */
const OTHER_CHANNEL_OVERRIDE_KEYS = ['email', 'sms', 'discord', 'mobilePush', 'webPush', 'slack', 'webhook', 'inApp'] as const;

/** Longest category, template identifier or cancellation key accepted. */
export const MAX_NAME_LENGTH = 256;

/** A send request, validated and normalised: what the command handler works with. */
export interface NotificationRequest {
  /** Empty when the request names a template and no title. */
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
  /**
   * The override's `destination` as E.164, or null: the number the (one) message goes to instead
   * of the recipient's, so that the consent gate, the message view and a 1002 all name it.
   */
  destination: string | null;
  /** `category` or `notification.category`. */
  category: string | null;
  /** The template named by notification.templateIdentifier, templateId, workflow.identifier or a top-level workflow. */
  template: string | null;
  /** `workflow.cancellationKey`, kept with the request. */
  cancellationKey: string | null;
  /** The `notification` object as requested, kept with the request. */
  notification: Record<string, unknown>;
  /** False when `override.channels` leaves WhatsApp out: nothing is sent. */
  sendsWhatsApp: boolean;
}

/** `data` and the Gupshup override are stored with the request and put into events: bounded like any stored JSON. */
export const STORED_JSON_LIMITS: JsonLimits = { maxDepth: 32, maxBytes: 64 * 1024 };

/** An object's own message for a value that is no object; unknown fields are worded by the shared rules. */
const whenNotAnObject = (message: string | ((input: unknown) => string)) => (issue: z.core.$ZodRawIssue) =>
  issue.code === 'invalid_type' ? (typeof message === 'string' ? message : message(issue.input)) : undefined;

/** Text that goes into events and to Gupshup: PostgreSQL refuses NUL and unpaired surrogates. */
const storableText = (schema: z.ZodString, emptyAllowed = true) =>
  schema.superRefine((text, ctx) => {
    const problem = textProblem(text) ?? (!emptyAllowed && text.trim() === '' ? 'must not be empty' : null);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: text });
  });

const requiredString = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be ${what}`) });

const configValue = storableText(z.string({ error: 'must be a non-empty string' }).trim().min(1, 'must be a non-empty string'));

const configOverrideSchema = z.strictObject(
  { API_KEY: configValue.optional(), SOURCE: configValue.optional(), SRC_NAME: configValue.optional() },
  { error: whenNotAnObject('must be an object with any of API_KEY, SOURCE, SRC_NAME') },
);

/** What to send instead of a bad override destination. */
const DESTINATION_RULE =
  'must be a WhatsApp number in E.164: the country code and number, 8 to 15 digits in all, with or without a leading + (for example "+919988776655" or "919988776655")';
const DESTINATION_INSTEAD = "or leave destination out to send to the recipient's own phoneNumber (PUT /v3/users/{identifier})";

/**
 * `destination` replaces the recipient's number, so it is checked like one: a number Gupshup would
 * refuse is a 400 here, not a failure blamed on the recipient (null: absent, like any override key).
 */
const destinationOverrideSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    if (value === undefined || value === null || destinationNumber(value) !== null) return;
    const shown = typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value) : typeof value;
    ctx.addIssue({ code: 'custom', message: `${DESTINATION_RULE}; got ${shown}; ${DESTINATION_INSTEAD}`, input: value });
  })
  .optional()
  .meta({
    oneOf: [{ type: 'string' }, { type: 'integer', description: 'its digits as a JSON number' }],
    description: 'Sends the one recipient\'s message to this number instead (E.164, with or without +); one recipient only',
    example: '919988776655',
  });

/** An override destination as E.164, or null when it is not a phone number (a whole JSON number counts as its digits). */
function destinationNumber(value: unknown): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return contactNumber(String(value));
  return typeof value === 'string' ? contactNumber(value) : null;
}

const gupshupOverrideSchema = z
  .looseObject(
    { _config: configOverrideSchema.optional(), destination: destinationOverrideSchema },
    { error: whenNotAnObject('must be an object of Gupshup request fields (and an optional _config)') },
  )
  .superRefine((override, ctx) => checkJson(override, STORED_JSON_LIMITS, ctx));

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

const recipientListSchema = z
  .array(z.unknown(), { error: 'must be an array of user identifiers or user objects {"identifier", "phoneNumber", ...}' })
  .meta({ items: RECIPIENT_JSON_SCHEMA });

const nameText = (what: string) =>
  storableText(z.string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be ${what} (a string)`) }).trim().min(1, 'must not be empty').max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`));

const categorySchema = nameText('a category identifier').meta({ example: 'order-updates', description: 'Kept with the request; a filter of GET /v3/messages and of analytics' });

const workflowSchema = z
  .strictObject(
    {
      identifier: nameText('a template identifier').meta({ description: 'The WhatsApp template registered under this identifier is sent' }),
      cancellationKey: nameText('a cancellation key').optional().meta({ description: 'Kept with the request, for cancelling its messages' }),
    },
    { error: whenNotAnObject('must be an object {"identifier", "cancellationKey"}') },
  )
  .optional();

/** Anything the SDK lets through that this service keeps but does not read: bounded like any stored JSON. */
const keptJson = (description: string) => jsonObject(STORED_JSON_LIMITS).optional().meta({ description });

const otherOverride = z.unknown().optional().meta({ description: 'Accepted and ignored: this service sends WhatsApp through Gupshup only' });

const channelOverrideSchema = z
  .strictObject(
    {
      whatsapp: gupshupOverrideSchema.optional().meta({ description: `Read like ${GUPSHUP_OVERRIDE_KEY}` }),
      ...Object.fromEntries(OTHER_CHANNEL_OVERRIDE_KEYS.map((key) => [key, otherOverride])),
    },
    { error: whenNotAnObject('must be an object such as {"whatsapp": {...}}') },
  )
  .optional();

/** The v3 body (every send parameter of @engagespot/node 1.7). Recipients are checked one by one afterwards, for messages that name the exact entry. */
export const notificationBodySchema = z.strictObject(
  {
    notification: z.strictObject(
      {
        title: storableText(requiredString('a string'), false).optional().meta({ description: 'Required unless a template is named' }),
        message: storableText(z.string({ error: 'must be a string' })).nullish(),
        url: storableText(z.string({ error: 'must be a string' })).optional().meta({ description: 'Kept with the request' }),
        icon: storableText(z.string({ error: 'must be a string' })).optional().meta({ description: 'Kept with the request' }),
        category: categorySchema.optional(),
        templateIdentifier: nameText('a template identifier').optional().meta({ description: 'The WhatsApp template registered under this identifier is sent' }),
        templateId: z
          .union([z.number().int().nonnegative(), nameText('a template id')], { error: 'must be a template id (a whole number or a string)' })
          .optional()
          .meta({ description: 'Read as text: the WhatsApp template registered under that identifier is sent' }),
        workflow: workflowSchema,
        data: keptJson('Merged under the top-level data (whose keys win)'),
        content: keptJson('Per-channel content of Engagespot; kept with the request'),
      },
      { error: whenNotAnObject('must be an object {"title", "message"}') },
    )
      // A request that names its template by a top-level workflow needs no notification object.
      .optional()
      .meta({ description: 'Required unless a template is named (then title and message are not needed)' }),
    sendTo: z
      .strictObject(
        {
          recipients: recipientListSchema.optional(),
          topics: z.array(z.unknown(), { error: 'must be an array of topic identifiers' }).optional().meta({ description: 'Not supported: a non-empty list is answered 422' }),
        },
        { error: whenNotAnObject('must be an object {"recipients": [...]}') },
      )
      // null: absent, as clients that write every unset field as null send it.
      .nullish(),
    recipients: recipientListSchema.nullish().meta({ description: 'The older place for recipients; merged with sendTo.recipients' }),
    category: categorySchema.optional(),
    workflow: workflowSchema.meta({ description: 'Read like notification.workflow' }),
    data: jsonObject(STORED_JSON_LIMITS)
      .nullish()
      .meta({
        description: `Kept with the request: any JSON object, nested at most ${STORED_JSON_LIMITS.maxDepth} levels, at most ${STORED_JSON_LIMITS.maxBytes} bytes`,
      }),
    sendAt: z
      .iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:00:00Z' })
      .superRefine((sendAt, ctx) => {
        const ms = Date.parse(sendAt);
        if (!Number.isNaN(ms) && !isInSupportedRange(ms)) ctx.addIssue({ code: 'custom', message: 'must be a time between years 1 and 9999', input: sendAt });
      })
      .nullish()
      .meta({ description: 'In the future: the messages wait until then. In the past or absent: now' }),
    override: z
      .strictObject(
        {
          [GUPSHUP_OVERRIDE_KEY]: gupshupOverrideSchema.optional(),
          [GUPSHUP_OVERRIDE_ALIAS]: gupshupOverrideSchema.optional(),
          channels: z
            .array(z.enum(ENGAGESPOT_CHANNELS, { error: `must be one of ${ENGAGESPOT_CHANNELS.join(', ')}` }), { error: 'must be an array of channel names' })
            .optional()
            .meta({ description: 'Without whatsapp, no WhatsApp message is sent (202 with messages: [])' }),
          channel: channelOverrideSchema,
          ...Object.fromEntries(OTHER_PROVIDER_OVERRIDE_KEYS.map((key) => [key, otherOverride])),
        },
        { error: whenNotAnObject(`must be an object such as {"${GUPSHUP_OVERRIDE_KEY}": {...}}`) },
      )
      .nullish()
      .meta({
        description:
          `${GUPSHUP_OVERRIDE_KEY} (or its alias ${GUPSHUP_OVERRIDE_ALIAS}, or channel.whatsapp): _config replaces API_KEY, SOURCE or SRC_NAME for this request; ` +
          `every other key goes into the Gupshup request as is; destination (E.164, with or without +) sends the one recipient's message to that number instead, ` +
          `and is refused with more than one recipient. Nested at most ${STORED_JSON_LIMITS.maxDepth} levels, at most ${STORED_JSON_LIMITS.maxBytes} bytes. ` +
          'Other providers\' overrides are accepted and ignored',
      }),
  },
  { error: whenNotAnObject('must be a JSON object') },
).meta({
  example: {
    notification: { title: 'Your order shipped', message: 'Track it at https://example.com/t/1234', url: 'https://example.com/t/1234' },
    category: 'order-updates',
    sendTo: { recipients: ['user-1', { identifier: 'user-2', phoneNumber: '+14155550123' }] },
    data: { orderId: '1234' },
  },
});

type Body = z.output<typeof notificationBodySchema>;

const inlineUserSchema = z.looseObject({ identifier: requiredString('a string') });

/**
 * Checks a POST /v3/notifications body. Throws InvalidNotificationError listing every problem,
 * each prefixed with its path (`sendTo.recipients[1].phoneNumber ...`).
 */
export function parseNotificationRequest(input: unknown): NotificationRequest {
  const parsed = validateInputSync(notificationBodySchema, input, { kind: 'body' });
  const problems = parsed.ok ? [] : [...parsed.problems];
  const topics = topicsOf(input);
  // Recipients are read from the input itself, so that one answer lists their problems with any other.
  const recipients = collectRecipients(recipientLists(input), problems, topics.length > 0);
  if (!parsed.ok) throw new InvalidNotificationError(problems);
  const body = parsed.value;
  const notification = body.notification ?? {};
  const override = pickGupshupOverride(body, problems);
  const category = pickOne(problems, 'categories', [
    ['category', body.category],
    ['notification.category', notification.category],
  ]);
  const template = pickOne(problems, 'templates', [
    ['notification.templateIdentifier', notification.templateIdentifier],
    ['notification.templateId', notification.templateId === undefined ? undefined : String(notification.templateId)],
    ['notification.workflow.identifier', notification.workflow?.identifier],
    ['workflow.identifier', body.workflow?.identifier],
  ]);
  const cancellationKey = pickOne(problems, 'cancellation keys', [
    ['notification.workflow.cancellationKey', notification.workflow?.cancellationKey],
    ['workflow.cancellationKey', body.workflow?.cancellationKey],
  ]);
  const title = notification.title ?? '';
  if (notification.title === undefined && template === null) {
    problems.push(
      body.notification === undefined
        ? 'notification is required: {"title": "...", "message": "..."} (unless the request names a template: notification.templateIdentifier, templateId or workflow.identifier)'
        : 'notification.title is required (unless the request names a template: notification.templateIdentifier, templateId or workflow.identifier)',
    );
  }
  const message = notification.message ?? '';
  const text = message.trim() === '' ? title : `${title}\n\n${message}`;
  const replacesText = template !== null || (override !== null && (hasValue(override, 'message') || hasValue(override, 'template')));
  if (!replacesText && text.length > MAX_TEXT_LENGTH) {
    problems.push(
      `notification.title and notification.message together must be at most ${MAX_TEXT_LENGTH} characters (WhatsApp's limit for a text message); got ${text.length}`,
    );
  }
  const destination = override === null || !hasValue(override, 'destination') ? null : destinationNumber(override.destination);
  if (destination !== null && recipients.length > 1) {
    // One number for several recipients would send each of them (or one person many) the same message.
    problems.push(
      `${overridePath(body)}.destination sends a message to one number, so it takes exactly one recipient (got ${recipients.length}): ` +
        "leave destination out to send each recipient's message to their own phoneNumber, or send one request per recipient",
    );
  }
  if (problems.length > 0) throw new InvalidNotificationError(problems);
  if (topics.length > 0) throw new TopicsNotSupportedError();

  const { _config: configOverride, ...gupshupOverride } = override ?? {};
  const channels = body.override?.channels;
  return {
    title,
    message,
    text,
    recipients,
    data: { ...notification.data, ...body.data },
    sendAt: body.sendAt ? new Date(body.sendAt) : null,
    gupshupOverride: override === null ? null : gupshupOverride,
    configOverride: (configOverride as GupshupConfigOverride | undefined) ?? null,
    destination,
    category,
    template,
    cancellationKey,
    notification,
    sendsWhatsApp: channels === undefined || channels.includes('whatsapp'),
  };
}

/** `sendTo.topics` when it is a list: anything else is the schema's to report. */
function topicsOf(input: unknown): unknown[] {
  const sendTo = isRecord(input) && isRecord(input.sendTo) ? input.sendTo : {};
  return Array.isArray(sendTo.topics) ? sendTo.topics : [];
}

/** The one value given for something that may be given in several places; different values are a problem. */
function pickOne(problems: string[], whatPlural: string, places: [string, string | undefined][]): string | null {
  const given = places.filter((place): place is [string, string] => place[1] !== undefined);
  if (given.length === 0) return null;
  if (given.some(([, value]) => value !== given[0][1])) {
    problems.push(`${given.map(([path]) => path).join(' and ')} name different ${whatPlural} (${given.map(([, value]) => JSON.stringify(value)).join(', ')}): give one`);
  }
  return given[0][1];
}

/** The recipient lists of a body, where they are lists: anything else is the schema's to report. */
function recipientLists(input: unknown): [string, unknown[] | undefined][] {
  const body = isRecord(input) ? input : {};
  const sendTo = isRecord(body.sendTo) ? body.sendTo : {};
  return [
    ['sendTo.recipients', Array.isArray(sendTo.recipients) ? sendTo.recipients : undefined],
    ['recipients', Array.isArray(body.recipients) ? body.recipients : undefined],
  ];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function collectRecipients(lists: [string, unknown[] | undefined][], problems: string[], topicsGiven: boolean): RequestedRecipient[] {
  const byIdentifier = new Map<string, RequestedRecipient>();
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
  // A request to topics only is refused for the topics (422), not for its missing recipients.
  if (problems.length === 0 && byIdentifier.size === 0 && !topicsGiven) {
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
  const checked = validateInputSync(inlineUserSchema, entry, { kind: 'value', name: path });
  if (!checked.ok) {
    problems.push(...checked.problems);
    return undefined;
  }
  const { identifier, ...profile } = checked.value;
  const badIdentifier = identifierError(identifier);
  if (badIdentifier) {
    problems.push(`${path}.identifier: ${badIdentifier}`);
    return undefined;
  }
  // Checked here to name the entry (and to bound it before anything walks the body); UsersService checks it again.
  const profileChecked = validateInputSync(profilePatchSchema, profile, { kind: 'value', name: path });
  if (!profileChecked.ok) {
    problems.push(...profileChecked.problems);
    return undefined;
  }
  return { identifier, profile };
}

function pickGupshupOverride(body: Body, problems: string[]): (Record<string, unknown> & { _config?: GupshupConfigOverride }) | null {
  const override = body.override;
  if (!override) return null;
  const given = (
    [
      [GUPSHUP_OVERRIDE_KEY, override[GUPSHUP_OVERRIDE_KEY]],
      [GUPSHUP_OVERRIDE_ALIAS, override[GUPSHUP_OVERRIDE_ALIAS]],
      ['channel.whatsapp', override.channel?.whatsapp],
    ] as const
  ).filter(([, value]) => value !== undefined && value !== null);
  if (given.length > 1) {
    problems.push(
      `override: give one of ${GUPSHUP_OVERRIDE_KEY}, its alias ${GUPSHUP_OVERRIDE_ALIAS} or channel.whatsapp, not ${given.map(([key]) => key).join(' and ')}`,
    );
    return null;
  }
  return (given[0]?.[1] as (Record<string, unknown> & { _config?: GupshupConfigOverride }) | undefined) ?? null;
}

/** Where the request put its Gupshup override, for messages that name the field. */
function overridePath(body: Body): string {
  const override = body.override;
  if (override?.[GUPSHUP_OVERRIDE_ALIAS] !== undefined && override[GUPSHUP_OVERRIDE_ALIAS] !== null) return `override.${GUPSHUP_OVERRIDE_ALIAS}`;
  if (override?.channel?.whatsapp !== undefined && override.channel.whatsapp !== null) return 'override.channel.whatsapp';
  return `override.${GUPSHUP_OVERRIDE_KEY}`;
}

function hasValue(record: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(record, key) && record[key] !== undefined && record[key] !== null;
}

/** The JSON schema of the body, for the OpenAPI description: the schema that checks it. */
export function notificationBodyJsonSchema(): Record<string, unknown> {
  return requestBodySchema(notificationBodySchema);
}
