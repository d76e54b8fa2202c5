import { z } from 'zod';
import { e164ErrorMessage, isE164 } from './phone-number';

/** Limits on what one user profile may hold: enough for any real profile, small enough to stay cheap. */
export const PROFILE_LIMITS = {
  /** Top-level fields, phoneNumber included. */
  maxFields: 100,
  maxFieldNameLength: 128,
  /** Nesting of objects and arrays inside a field's value. */
  maxDepth: 8,
  /** The whole stored profile as JSON. */
  maxBytes: 16 * 1024,
} as const;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A PUT body: phoneNumber apart; in `fields`, null removes a field. */
export interface ProfilePatch {
  phoneNumber?: string | null;
  fields: Record<string, JsonValue>;
}

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** No unpaired UTF-16 surrogate: the text can be written as UTF-8. */
export function isWellFormedText(text: string): boolean {
  return !UNPAIRED_SURROGATE.test(text);
}

/** Postgres jsonb refuses NUL characters and unpaired surrogates: reject them with a clear message instead of failing on insert. */
function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character';
  if (!isWellFormedText(text)) return 'is not valid Unicode (an unpaired surrogate)';
  return null;
}

/** Walks a value for depth and text problems; reports the first one, with its path. */
function valueProblem(value: unknown, path: string, depth: number): string | null {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? `${path} ${problem}` : null;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} must be a finite number`;
  if (value === null || typeof value === 'boolean') return null;
  if (typeof value !== 'object') return `${path} must be a JSON value`;
  if (depth > PROFILE_LIMITS.maxDepth) return `${path} is nested too deeply: at most ${PROFILE_LIMITS.maxDepth} levels of objects and arrays`;
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
  for (const [key, item] of entries) {
    const keyProblem = textProblem(key);
    if (keyProblem) return `${path} has a key that ${keyProblem}`;
    const problem = valueProblem(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, depth + 1);
    if (problem) return problem;
  }
  return null;
}

const patchSchema = z
  .object({
    phoneNumber: z
      .unknown()
      .superRefine((value, ctx) => {
        if (value !== null && !isE164(value)) ctx.addIssue({ code: 'custom', message: e164ErrorMessage('phoneNumber', value) });
      })
      .optional(),
    email: z
      .email({ error: 'email must be an email address, e.g. ada@example.com (or null to remove it)' })
      .max(254, { error: 'email must be at most 254 characters' })
      .nullable()
      .optional(),
  })
  .catchall(z.unknown())
  .superRefine((body, ctx) => {
    const names = Object.keys(body);
    if (names.length > PROFILE_LIMITS.maxFields) {
      ctx.addIssue({ code: 'custom', message: `a profile may have at most ${PROFILE_LIMITS.maxFields} fields; got ${names.length}` });
      return;
    }
    for (const name of names) {
      if (name === 'phoneNumber' || name === 'email' || name === 'identifier') continue;
      const nameProblem = textProblem(name);
      if (name.length === 0 || name.length > PROFILE_LIMITS.maxFieldNameLength || nameProblem) {
        ctx.addIssue({ code: 'custom', message: `field names must be 1 to ${PROFILE_LIMITS.maxFieldNameLength} characters of valid text` });
        continue;
      }
      const problem = valueProblem(body[name], name, 1);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }
  });

export class ProfileValidationError extends Error {}

/**
 * Validates a PUT /v3/users/{identifier} body. `identifier` in the body, if any, must be the one
 * in the path; it is not stored as a profile field. Throws ProfileValidationError listing every problem.
 */
export function parseProfilePatch(body: unknown, identifier: string): ProfilePatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProfileValidationError(
      `The request body must be a JSON object of profile fields, e.g. {"phoneNumber": "+919988776655", "email": "ada@example.com"}; got ${body === undefined ? 'no body' : Array.isArray(body) ? 'an array' : body === null ? 'null' : typeof body}`,
    );
  }
  const parsed = patchSchema.safeParse(body);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
  const { identifier: bodyIdentifier, phoneNumber, ...fields } = body as Record<string, unknown>;
  if (bodyIdentifier !== undefined && bodyIdentifier !== identifier) {
    problems.push(`identifier in the body must be the one in the path ("${identifier}") or left out`);
  }
  if (problems.length) throw new ProfileValidationError(problems.join('; '));
  return {
    ...(phoneNumber !== undefined && { phoneNumber: phoneNumber as string | null }),
    fields: fields as Record<string, JsonValue>,
  };
}

/** Applies a patch: fields sent replace the stored ones, null removes one, fields not sent are kept. */
export function applyProfilePatch(
  current: { phoneNumber: string | null; profile: Record<string, JsonValue> },
  patch: ProfilePatch,
): { phoneNumber: string | null; profile: Record<string, JsonValue> } {
  const profile = { ...current.profile };
  for (const [name, value] of Object.entries(patch.fields)) {
    if (value === null) delete profile[name];
    else profile[name] = value;
  }
  return { phoneNumber: patch.phoneNumber === undefined ? current.phoneNumber : patch.phoneNumber, profile };
}

export function profileSizeError(profile: Record<string, JsonValue>, phoneNumber: string | null): string | null {
  const bytes = Buffer.byteLength(JSON.stringify({ ...profile, phoneNumber }));
  const fields = Object.keys(profile).length + (phoneNumber === null ? 0 : 1);
  if (bytes > PROFILE_LIMITS.maxBytes) return `the profile would be ${bytes} bytes of JSON; at most ${PROFILE_LIMITS.maxBytes} are allowed`;
  if (fields > PROFILE_LIMITS.maxFields) return `the profile would have ${fields} fields; at most ${PROFILE_LIMITS.maxFields} are allowed`;
  return null;
}
