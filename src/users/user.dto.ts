import { z } from 'zod';
import { E164_EXAMPLE } from './phone-number';
import { IDENTIFIER_MAX_LENGTH, identifierProblem } from './user-identifier';

/** `{identifier}` of /v3/users/{identifier}, URL-decoded. */
export const identifierParamSchema = z
  .string()
  .superRefine((value, ctx) => {
    const problem = identifierProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  })
  .meta({
    minLength: 1,
    maxLength: IDENTIFIER_MAX_LENGTH,
    description: `The user identifier: 1 to ${IDENTIFIER_MAX_LENGTH} characters, without "/" or control characters, percent-encoded in the path`,
    example: 'user-42',
  });

/** A user as the API shows it. */
export const userSchema = z
  .object({
    identifier: z.string().meta({ example: 'user-42' }),
    phoneNumber: z.string().nullable().meta({ example: E164_EXAMPLE, description: 'E.164, or null when unset' }),
  })
  .catchall(z.unknown())
  .meta({ id: 'User', description: 'identifier, phoneNumber, then every other profile field as stored' });
