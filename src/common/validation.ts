import { BadRequestException, Injectable, StandardSchemaValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { z } from 'zod';

/**
 * A query's input is not acceptable (400): a filter, an id, a cursor. The message names each bad
 * field and says what is allowed; callers of a QueryBus match it by class, HTTP callers get it as
 * the route's 400.
 */
export class InvalidQueryError extends BadRequestException {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'InvalidQueryError';
  }
}

/** Where a validated value came from: it names the value in messages about the whole of it. */
export type InputLocation = { kind: 'body' } | { kind: 'query' } | { kind: 'param'; name: string } | { kind: 'value'; name: string };

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

const SHOWN_TEXT_LENGTH = 40;

/** A received value as messages quote it: short, and never more than its type for objects. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > SHOWN_TEXT_LENGTH ? `${value.slice(0, SHOWN_TEXT_LENGTH)}…` : value);
  if (Array.isArray(value)) return value.length <= 3 && value.every((item) => typeof item !== 'object' || item === null) ? JSON.stringify(value).slice(0, 60) : 'an array';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return kindOf(value);
}

/** What a value is, in words: "a string", "an array", "null", "no value". */
export function kindOf(value: unknown): string {
  if (value === undefined) return 'no value';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  if (typeof value === 'object') return 'an object';
  return /^[aeiou]/.test(typeof value) ? `an ${typeof value}` : `a ${typeof value}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
  date: 'a date',
};

const FORMATS: Record<string, string> = {
  email: 'an email address, e.g. ada@example.com',
  uuid: 'a UUID',
  guid: 'a UUID',
  url: 'a URL',
  datetime: 'an ISO 8601 date-time, e.g. 2026-03-01T10:00:00Z',
  date: 'a date (YYYY-MM-DD)',
  time: 'a time (HH:MM:SS)',
  regex: 'in the expected format',
};

function orList(values: readonly unknown[]): string {
  const texts = values.map((value) => String(value));
  if (texts.length === 1) return texts[0];
  if (texts.length === 2) return `${texts[0]} or ${texts[1]}`;
  return `one of ${texts.join(', ')}`;
}

function sizeLimit(origin: string, bound: number | bigint, inclusive: boolean | undefined, side: 'least' | 'most', input: unknown): string {
  const limit = Number(bound);
  switch (origin) {
    case 'string':
      return `must be at ${side} ${limit} character${limit === 1 ? '' : 's'} long (got ${typeof input === 'string' ? input.length : '?'})`;
    case 'array':
    case 'set':
      return `must have at ${side} ${limit} item${limit === 1 ? '' : 's'} (got ${Array.isArray(input) ? input.length : '?'})`;
    default: {
      const relation = inclusive === false ? (side === 'least' ? 'greater than' : 'less than') : `at ${side}`;
      return `must be ${relation} ${limit} (got ${shown(input)})`;
    }
  }
}

/**
 * The message of a zod issue that its schema did not word itself: what is allowed and, where it
 * tells nothing secret, what was received. The field's path is put in front by formatIssues.
 */
export function issueMessage(issue: z.core.$ZodRawIssue, noun: string): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${EXPECTED[issue.expected] ?? `a ${issue.expected}`} (got ${kindOf(issue.input)})`;
    case 'unrecognized_keys': {
      const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
      const allowed = Object.keys(shape ?? {});
      return allowed.length > 0 ? `is not a known ${noun}: allowed ${noun}s are ${allowed.join(', ')}` : `is not a known ${noun}: none are accepted here`;
    }
    case 'invalid_value':
      return `must be ${orList(issue.values)} (got ${shown(issue.input)})`;
    case 'too_small':
      return sizeLimit(issue.origin, issue.minimum, issue.inclusive, 'least', issue.input);
    case 'too_big':
      return sizeLimit(issue.origin, issue.maximum, issue.inclusive, 'most', issue.input);
    case 'invalid_format':
      return `must be ${FORMATS[issue.format] ?? `in ${issue.format} format`}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)} (got ${shown(issue.input)})`;
    case 'invalid_union':
      return `does not have any of the accepted forms (got ${kindOf(issue.input)})`;
    case 'invalid_key':
      return 'has a key that is not allowed';
    case 'invalid_element':
      return 'has an element that is not allowed';
    default:
      return undefined;
  }
}

/** `a.b[2].c`, as a reader of the JSON sees it. */
export function formatPath(path: readonly PropertyKey[], prefix = ''): string {
  let text = prefix;
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text;
}

function subjectOf(location: InputLocation): string {
  switch (location.kind) {
    case 'body':
      return 'the body';
    case 'query':
      return 'the query string';
    default:
      return location.name;
  }
}

function nounOf(location: InputLocation): string {
  return location.kind === 'query' ? 'parameter' : 'field';
}

function pathOf(issue: StandardSchemaV1.Issue): PropertyKey[] {
  return (issue.path ?? []).map((segment) => (typeof segment === 'object' ? segment.key : segment));
}

/**
 * One message per problem, each starting with the field's path (or with what the value is, for
 * a problem with the whole of it), in the order found. An unknown-fields issue becomes one
 * message per unknown field.
 */
export function formatIssues(issues: readonly StandardSchemaV1.Issue[], location: InputLocation, pathPrefix = ''): string[] {
  const messages: string[] = [];
  const prefix = location.kind === 'param' || location.kind === 'value' ? location.name : pathPrefix;
  for (const issue of issues) {
    const path = formatPath(pathOf(issue), prefix);
    const keys = (issue as { code?: string; keys?: string[] }).code === 'unrecognized_keys' ? ((issue as { keys?: string[] }).keys ?? []) : [];
    if (keys.length > 0) {
      for (const key of keys) messages.push(`${formatPath([key], path)} ${issue.message}`);
    } else {
      messages.push(`${path === '' ? subjectOf(location) : path} ${issue.message}`);
    }
  }
  return [...new Set(messages)];
}

function isZodSchema(schema: StandardSchemaV1): schema is z.ZodType {
  return schema['~standard'].vendor === 'zod' && typeof (schema as { safeParseAsync?: unknown }).safeParseAsync === 'function';
}

/**
 * Checks a value against a schema and words every problem for a person: the HTTP pipe and the
 * command handlers use it, so both answer the same messages.
 */
export async function validateInput<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, location: InputLocation): Promise<ValidationResult<T>> {
  if (isZodSchema(schema)) {
    const noun = nounOf(location);
    const result = await schema.safeParseAsync(value, { error: (issue) => issueMessage(issue, noun) });
    return result.success ? { ok: true, value: result.data as T } : { ok: false, problems: formatIssues(result.error.issues, location) };
  }
  const result = await schema['~standard'].validate(value);
  return result.issues ? { ok: false, problems: formatIssues(result.issues, location) } : { ok: true, value: result.value };
}

/** The synchronous form of validateInput, for zod schemas without asynchronous checks. */
export function validateInputSync<T>(schema: z.ZodType<T>, value: unknown, location: InputLocation, pathPrefix = ''): ValidationResult<T> {
  const noun = nounOf(location);
  const result = schema.safeParse(value, { error: (issue) => issueMessage(issue, noun) });
  return result.success ? { ok: true, value: result.data } : { ok: false, problems: formatIssues(result.error.issues, location, pathPrefix) };
}

/** `@Query({ schema })`: every parameter of the query string at once. */
function isWholeQuery(metadata: ArgumentMetadata): boolean {
  return metadata.type === 'query' && metadata.data === undefined;
}

function locationOf(metadata: ArgumentMetadata): InputLocation {
  switch (metadata.type) {
    case 'body':
      return { kind: 'body' };
    case 'query':
      return typeof metadata.data === 'string' ? { kind: 'param', name: metadata.data } : { kind: 'query' };
    case 'param':
      return typeof metadata.data === 'string' ? { kind: 'param', name: metadata.data } : { kind: 'value', name: 'the path' };
    default:
      return { kind: 'value', name: typeof metadata.data === 'string' ? metadata.data : 'the value' };
  }
}

/**
 * Nest's StandardSchemaValidationPipe for the schemas given to `@Body({ schema })`, `@Query({ schema })`
 * and `@Param(name, { schema })`, answering a 400 whose message lists every problem of the
 * request once, by field path, saying what is allowed. Parameters without a schema pass as they are.
 */
@Injectable()
export class SchemaValidationPipe extends StandardSchemaValidationPipe {
  override async transform<T = unknown>(value: T, metadata: ArgumentMetadata): Promise<T> {
    const schema = metadata.schema;
    if (!schema || !this.toValidate(metadata)) return value;
    // A whole query string reaches its zod schema as parsed: the query schemas are strict, so a
    // parameter named __proto__, constructor or prototype is refused as unknown, by name, like any
    // other, where stripping it first would let it pass unseen. zod never copies __proto__ into
    // the value it returns, and that value is the one handed on.
    if (!(isWholeQuery(metadata) && isZodSchema(schema))) this.stripProtoKeys(value);
    const result = await validateInput(schema, value, locationOf(metadata));
    if (!result.ok) throw new BadRequestException(result.problems.join('; '));
    return (this.isTransformEnabled ? result.value : value) as T;
  }
}

export function createValidationPipe(): SchemaValidationPipe {
  return new SchemaValidationPipe();
}
