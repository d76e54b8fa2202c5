import { z } from 'zod';
import { kindOf, shown } from './validation';

/**
 * Building blocks of the zod schemas that check what callers send: text PostgreSQL can store,
 * numbers and times from a query string, JSON values of bounded depth and size. Each reports
 * one message per problem, saying what is allowed.
 */

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** No unpaired UTF-16 surrogate: the text can be written as UTF-8. */
export function isWellFormedText(text: string): boolean {
  return !UNPAIRED_SURROGATE.test(text);
}

/** Why PostgreSQL could not store or compare this text (it refuses NUL and unpaired surrogates), or null. */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character';
  if (!isWellFormedText(text)) return 'is not valid Unicode (an unpaired surrogate)';
  return null;
}

export function isStorableText(text: string): boolean {
  return textProblem(text) === null;
}

export interface TextRules {
  /** Characters (code points); default 1. */
  min?: number;
  /** Characters (code points); default: no limit here (the body's size limits it). */
  max?: number;
  /** Leading and trailing white space is removed before the checks. */
  trim?: boolean;
  /** Refuse control characters (line breaks, tabs, ...), not only NUL. */
  singleLine?: boolean;
  /** What the text is, for the messages: `must be ${what}` when it is not a string. */
  what?: string;
}

/**
 * A string PostgreSQL can store, of min to max characters. One message per problem; the
 * value itself is never quoted, so the rule suits secrets too.
 */
export function text(rules: TextRules) {
  const { min = 1, max = Infinity, trim = false, singleLine = false, what = 'a string' } = rules;
  const base = z.string({ error: (issue) => (issue.input === undefined ? undefined : `must be ${what} (got ${kindOf(issue.input)})`) });
  const trimmed = trim ? base.trim() : base;
  return trimmed.superRefine((value, ctx) => {
    const problem = textProblem(value) ?? (singleLine && CONTROL_CHARACTER.test(value) ? 'must not contain control characters (line breaks, tabs, ...)' : null);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem, input: value });
      return;
    }
    const length = codePoints(value);
    if (length < min || length > max) {
      const rule =
        min === 1 && length === 0
          ? 'must not be empty'
          : max === Infinity
            ? `must be at least ${min} characters long`
            : min === max
              ? `must be ${max} characters long`
              : `must be ${min} to ${max} characters long`;
      ctx.addIssue({ code: 'custom', message: length === 0 ? rule : `${rule} (got ${length})`, input: value });
    }
  }).meta(max === Infinity ? { minLength: min } : { minLength: min, maxLength: max });
}

function codePoints(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/**
 * A whole number in a query string (where every value is text): digits only, from min to max.
 * Documented as an integer; parsed to a number. A number is taken as well, so that the same schema
 * checks the typed filters other modules pass in the process, and accepts its own output again.
 */
export function wholeNumberParam(min: number, max: number) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      const number = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : typeof value === 'number' && Number.isInteger(value) ? value : NaN;
      if (!(number >= min && number <= max)) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max} (got ${shown(value)})`, input: value });
      }
    })
    .transform((value) => Number(value))
    .meta({ type: 'integer', minimum: min, maximum: max });
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The ids this service hands out are UUIDs in lowercase; the same UUID in capitals (as Swift's
 * uuidString writes it) is the same id (RFC 9562 reads UUIDs case-insensitively), so it is looked
 * up in lowercase. Any other text is left as it is.
 */
export function lowercaseUuid(value: string): string {
  return UUID_TEXT.test(value) ? value.toLowerCase() : value;
}

/**
 * The query string of a list that takes no parameters: a filter or a page size it does not have
 * is refused (400 naming it), as the lists that have some refuse the others, rather than ignored
 * with every row answered.
 */
export const noQueryParameters = z.strictObject({});

/** The times this service accepts anywhere: JavaScript and PostgreSQL agree on all of them. */
export const EARLIEST_TIME = '0001-01-01T00:00:00.000Z';
export const LATEST_TIME = '9999-12-31T23:59:59.999Z';
const EARLIEST_MS = Date.parse(EARLIEST_TIME);
const LATEST_MS = Date.parse(LATEST_TIME);

/** A date-time without a UTC offset: taken as UTC, not as the server's local time. */
const WITHOUT_OFFSET = /T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?$/;
const isoDate = z.iso.date();
const isoDateTime = z.iso.datetime({ offset: true, local: true });

export function isInSupportedRange(ms: number): boolean {
  return ms >= EARLIEST_MS && ms <= LATEST_MS;
}

/**
 * Milliseconds of an ISO 8601 calendar date or date-time (UTC when it has no offset), or NaN
 * when it is no such thing (week and ordinal dates, impossible days such as 02-30) or lies
 * outside years 1 to 9999.
 */
export function parseIsoInstant(text: string): number {
  if (!isoDate.safeParse(text).success && !isoDateTime.safeParse(text).success) return NaN;
  const ms = Date.parse(WITHOUT_OFFSET.test(text) ? `${text}Z` : text);
  return isInSupportedRange(ms) ? ms : NaN;
}

/** A date-time whose UTC offset lost its `+`: `2026-03-01T10:00:00 05:30`. */
const OFFSET_PLUS_AS_SPACE = /^(\d{4}-\d{2}-\d{2}T[\d:.]+) (\d{2}(?::?\d{2})?)$/;

/**
 * A date or date-time in a query string; `rule` ends the message of a bad one: `${name} must be ${rule}`.
 * A `+` left unencoded in a query string arrives as a space, so a space before an offset is read
 * as the `+` it was (a `-` offset is unaffected).
 */
export function isoDateOrTimeParam(rule: string) {
  return z
    .unknown()
    .transform((value) => (typeof value === 'string' ? value.replace(OFFSET_PLUS_AS_SPACE, '$1+$2') : value))
    .superRefine((value, ctx) => {
      if (typeof value === 'string' && !Number.isNaN(parseIsoInstant(value))) return;
      const outOfRange = typeof value === 'string' && (isoDate.safeParse(value).success || isoDateTime.safeParse(value).success);
      const message = outOfRange ? `must be between ${EARLIEST_TIME.slice(0, 10)} and ${LATEST_TIME.slice(0, 10)} (got ${shown(value)})` : `must be ${rule} (got ${shown(value)})`;
      ctx.addIssue({ code: 'custom', message, input: value });
    })
    .transform((value) => value as string)
    .meta({ type: 'string', format: 'date-time' });
}

export interface JsonLimits {
  /** Levels of objects and arrays, the value itself counting as the first. */
  maxDepth: number;
  /** Of the value as JSON text, in UTF-8. */
  maxBytes?: number;
}

export interface JsonProblem {
  path: (string | number)[];
  message: string;
}

/**
 * The first reason a value is not a JSON value this service can store, or null. Walked with a
 * stack of its own, never deeper than maxDepth, so no input can overflow the call stack; only a
 * value within the depth limit is measured as JSON text.
 */
export function findJsonProblem(value: unknown, limits: JsonLimits): JsonProblem | null {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      const problem = textProblem(current);
      if (problem) return { path, message: problem };
      continue;
    }
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) return { path, message: 'must be a finite number' };
      continue;
    }
    if (current === null || typeof current === 'boolean' || current === undefined) continue;
    if (typeof current !== 'object') return { path, message: `must be a JSON value (got ${kindOf(current)})` };
    if (path.length + 1 > limits.maxDepth) {
      return { path, message: `is nested too deeply: at most ${limits.maxDepth} levels of objects and arrays are allowed` };
    }
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) stack.push({ value: current[index], path: [...path, index] });
      continue;
    }
    const prototype = Object.getPrototypeOf(current);
    if (prototype !== Object.prototype && prototype !== null) return { path, message: 'must be a JSON value (got an instance of a class)' };
    const keys = Object.keys(current);
    for (const key of keys) {
      const problem = textProblem(key);
      if (problem) return { path, message: `has a key that ${problem}` };
    }
    for (let index = keys.length - 1; index >= 0; index--) stack.push({ value: (current as Record<string, unknown>)[keys[index]], path: [...path, keys[index]] });
  }
  if (limits.maxBytes !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
    if (bytes > limits.maxBytes) return { path: [], message: `is ${bytes} bytes as JSON: at most ${limits.maxBytes} are allowed` };
  }
  return null;
}

/** Whether a value nests objects and arrays more than maxDepth levels deep; walked without recursion. */
export function exceedsJsonDepth(value: unknown, maxDepth: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const child of Object.values(current)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/** Adds the first problem findJsonProblem finds, at its path, to a zod check. */
export function checkJson(value: unknown, limits: JsonLimits, ctx: z.RefinementCtx): void {
  const problem = findJsonProblem(value, limits);
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path, input: value });
}

/** A JSON object of any fields, within the limits. */
export function jsonObject(limits: JsonLimits, what = 'an object') {
  return z
    .record(z.string(), z.unknown(), { error: (issue) => (issue.input === undefined ? undefined : `must be ${what} (got ${kindOf(issue.input)})`) })
    .superRefine((value, ctx) => checkJson(value, limits, ctx));
}
