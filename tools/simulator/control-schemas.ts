/**
 * Shapes accepted by the simulator's control API, shared by its HTTP routes and its programmatic methods.
 */
import { z } from 'zod';

const phoneNumber = z
  .string()
  .regex(/^\+?\d{6,15}$/, 'must be 6 to 15 digits, optionally after a +')
  .transform((value) => value.replace(/^\+/, ''));

const httpUrl = z.string().refine((value) => /^https?:\/\//.test(value) && URL.canParse(value), 'must be an http:// or https:// URL');
const callbackFormat = z.enum(['v2', 'v3']);
const milliseconds = z.number().int().min(0).max(600_000);

export const appRegistrationSchema = z.strictObject({
  source: phoneNumber,
  srcName: z.string().trim().min(1, 'must not be empty'),
  callbackUrl: httpUrl.optional(),
  callbackFormat: callbackFormat.optional(),
});
export type AppRegistration = z.input<typeof appRegistrationSchema>;

const behaviourFields = {
  delayMs: milliseconds.optional(),
  reorder: z.boolean().optional(),
  duplicates: z.boolean().optional(),
  readWithoutDelivered: z.boolean().optional(),
  callbackBeforeResponse: z.boolean().optional(),
  omitGsId: z.boolean().optional(),
};

export const fateRuleSchema = z.strictObject({
  final: z.enum(['sent', 'delivered', 'read', 'failed']),
  code: z.union([z.number().int(), z.string().trim().min(1)]).optional(),
  reason: z.string().min(1).optional(),
  stage: z.enum(['sync', 'async']).optional(),
  skipDelivered: z.boolean().optional(),
  ...behaviourFields,
});

export const destinationSchema = phoneNumber;

export const failureInjectionSchema = z
  .strictObject({
    status: z.number().int().min(200).max(599).optional(),
    count: z.number().int().min(1).max(1_000_000).default(1),
    /** Replaces the default error body: an object is sent as JSON, a string as is. */
    body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    /** The error message to put in the default body. */
    message: z.string().optional(),
    delayMs: milliseconds.optional(),
    dropConnection: z.boolean().optional(),
  })
  .refine((failure) => failure.status !== undefined || failure.delayMs !== undefined || failure.dropConnection === true, {
    message: 'give at least one of status, delayMs or dropConnection',
  });
export type FailureInjection = z.input<typeof failureInjectionSchema>;
export type PendingFailure = z.output<typeof failureInjectionSchema>;

export const settingsSchema = z.strictObject({
  ...behaviourFields,
  defaultCallbackUrl: httpUrl.nullable().optional(),
  callbackFormat: callbackFormat.optional(),
  acceptAnyKey: z.boolean().optional(),
  responseContentType: z.enum(['application/json', 'text/html']).optional(),
  successStatus: z.union([z.literal(200), z.literal(202)]).optional(),
  eventTimeStepMs: milliseconds.optional(),
  callbackTimeoutMs: z.number().int().min(1).max(120_000).optional(),
  callbackRetries: z.number().int().min(0).max(1000).optional(),
  callbackRetryBackoffMs: milliseconds.optional(),
  callbackRetryMaxBackoffMs: milliseconds.nullable().optional(),
  v3FailedStyle: z.enum(['errors', 'flat']).optional(),
});
export type SettingsPatch = z.input<typeof settingsSchema>;

/** Parses or throws an Error whose message lists every problem, one per field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ControlInputError(`invalid ${what}: ${describeIssues(result.error)}`);
}

export class ControlInputError extends Error {}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')} ${issue.message}` : issue.message)).join('; ');
}
