import { isWellFormedText } from '../common/input-schemas';

export const IDENTIFIER_MAX_LENGTH = 128;

const IDENTIFIER_RULE_TEXT = `must be 1 to ${IDENTIFIER_MAX_LENGTH} characters, without "/" or control characters (e.g. "user-42" or "ada@example.com")`;

export const IDENTIFIER_RULE = `A user identifier ${IDENTIFIER_RULE_TEXT}`;

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/]/;

/** null when `identifier` is a valid user identifier, otherwise the rule and what is wrong: "must be ...; got ...". */
export function identifierProblem(identifier: unknown): string | null {
  if (typeof identifier !== 'string') return `${IDENTIFIER_RULE_TEXT}; got ${identifier === null ? 'null' : typeof identifier}`;
  const length = [...identifier].length;
  if (length === 0) return `${IDENTIFIER_RULE_TEXT}; got an empty identifier`;
  if (length > IDENTIFIER_MAX_LENGTH) return `${IDENTIFIER_RULE_TEXT}; got ${length} characters`;
  if (FORBIDDEN.test(identifier)) return `${IDENTIFIER_RULE_TEXT}; got one containing ${identifier.includes('/') ? '"/"' : 'a control character'}`;
  if (!isWellFormedText(identifier)) return `${IDENTIFIER_RULE_TEXT}; got one that is not valid Unicode`;
  return null;
}

/** null when `identifier` is a valid user identifier, otherwise the reason, stating the rule. */
export function identifierError(identifier: unknown): string | null {
  const problem = identifierProblem(identifier);
  return problem === null ? null : `A user identifier ${problem}`;
}

export function isValidIdentifier(identifier: unknown): identifier is string {
  return identifierProblem(identifier) === null;
}
