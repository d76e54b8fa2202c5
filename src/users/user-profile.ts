import { z } from 'zod';
import { findJsonProblem, textProblem } from '../common/input-schemas';
import { kindOf, validateInputSync, type InputLocation } from '../common/validation';
import { E164_EXAMPLE, E164_RULE, e164Problem, isE164 } from './phone-number';

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

const PROFILE_EXAMPLE = '{"phoneNumber": "+919988776655", "email": "ada@example.com"}';

/**
 * The body of PUT /v3/users/{identifier}, and an inline user object of a send request: any
 * profile fields, each a JSON value of bounded depth; phoneNumber and email have rules of their own.
 */
export const profilePatchSchema = z
  .looseObject(
    {
      phoneNumber: z
        .unknown()
        .superRefine((value, ctx) => {
          if (value !== null && !isE164(value)) ctx.addIssue({ code: 'custom', message: e164Problem(value), input: value });
        })
        .optional()
        .meta({ type: 'string', nullable: true, example: E164_EXAMPLE, description: `The phone number; it ${E164_RULE}. null removes it` }),
      email: z
        .email({ error: 'must be an email address, e.g. ada@example.com (or null to remove it)' })
        .max(254, { error: 'must be at most 254 characters' })
        .nullable()
        .optional(),
      identifier: z.unknown().optional().meta({ type: 'string', description: 'If given, the identifier of the path; it is not stored as a field' }),
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type'
          ? `must be a JSON object of profile fields, e.g. ${PROFILE_EXAMPLE}; got ${issue.input === undefined ? 'no body' : kindOf(issue.input)}`
          : undefined,
    },
  )
  // Run also when phoneNumber or email is wrong, so that one answer lists every problem.
  .superRefine((body, ctx) => {
    const names = Object.keys(body);
    if (names.length > PROFILE_LIMITS.maxFields) {
      ctx.addIssue({ code: 'custom', message: `has ${names.length} fields: a profile may have at most ${PROFILE_LIMITS.maxFields} fields`, input: body });
      return;
    }
    for (const name of names) {
      if (name === 'phoneNumber' || name === 'email' || name === 'identifier') continue;
      if (name.length === 0 || name.length > PROFILE_LIMITS.maxFieldNameLength || textProblem(name) !== null) {
        ctx.addIssue({ code: 'custom', message: `has a field name that is not 1 to ${PROFILE_LIMITS.maxFieldNameLength} characters of valid text`, input: body });
        continue;
      }
      const problem = findJsonProblem(body[name], { maxDepth: PROFILE_LIMITS.maxDepth });
      if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: [name, ...problem.path], input: body[name] });
    }
  }, { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) })
  .meta({
    example: { phoneNumber: E164_EXAMPLE, email: 'ada@example.com', firstName: 'Ada' },
    description: `Profile fields: any JSON values, nested at most ${PROFILE_LIMITS.maxDepth} levels; null removes a field, fields not sent are kept. At most ${PROFILE_LIMITS.maxFields} fields and ${PROFILE_LIMITS.maxBytes} bytes in all`,
  });

export class ProfileValidationError extends Error {}

/**
 * Validates a PUT /v3/users/{identifier} body. `identifier` in the body, if any, must be the one
 * in the path; it is not stored as a profile field. Throws ProfileValidationError listing every
 * problem, each named from `location` (the request's body, or a send request's user object).
 */
export function parseProfilePatch(body: unknown, identifier: string, location: InputLocation = { kind: 'body' }): ProfilePatch {
  const checked = validateInputSync(profilePatchSchema, body, location);
  const problems = checked.ok ? [] : [...checked.problems];
  if (!checked.ok && (typeof body !== 'object' || body === null || Array.isArray(body))) throw new ProfileValidationError(problems.join('; '));
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
