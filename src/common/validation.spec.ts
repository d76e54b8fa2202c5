import fc from 'fast-check';
import { z } from 'zod';
import {
  exceedsJsonDepth,
  findJsonProblem,
  isoDateOrTimeParam,
  jsonObject,
  parseIsoInstant,
  text,
  textProblem,
  wholeNumberParam,
} from './input-schemas';
import { validateInputSync } from './validation';

function deepArray(depth: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

describe('validateInputSync: messages for people', () => {
  const body = z.strictObject({
    name: text({ max: 10 }),
    config: z.strictObject({ API_KEY: z.string().optional(), SOURCE: z.string().optional() }).optional(),
    tags: z.array(z.string()).optional(),
    kind: z.enum(['a', 'b', 'c']).optional(),
  });

  it('names each problem by its path, says what is allowed, and lists them all once', () => {
    const result = validateInputSync(body, { name: 'x'.repeat(11), config: { APP_ID: 1, REGION: 2, SOURCE: 3 }, tags: ['ok', 4], kind: 'd' }, { kind: 'body' });
    expect(result).toEqual({
      ok: false,
      problems: [
        'name must be 1 to 10 characters long (got 11)',
        'config.SOURCE must be a string (got a number)',
        'config.APP_ID is not a known field: allowed fields are API_KEY, SOURCE',
        'config.REGION is not a known field: allowed fields are API_KEY, SOURCE',
        'tags[1] must be a string (got a number)',
        'kind must be one of a, b, c (got "d")',
      ],
    });
  });

  it('names the whole value by where it came from', () => {
    expect(validateInputSync(body, [], { kind: 'body' })).toEqual({ ok: false, problems: ['the body must be an object (got an array)'] });
    expect(validateInputSync(body, {}, { kind: 'body' })).toEqual({ ok: false, problems: ['name is required'] });
    expect(validateInputSync(z.strictObject({ limit: wholeNumberParam(1, 100).optional() }), { limit: 'abc', x: '1' }, { kind: 'query' })).toEqual({
      ok: false,
      problems: ['limit must be a whole number from 1 to 100 (got "abc")', 'x is not a known parameter: allowed parameters are limit'],
    });
    expect(validateInputSync(text({ max: 5 }), 'a\u0000', { kind: 'param', name: 'messageId' })).toEqual({ ok: false, problems: ['messageId contains a NUL character'] });
  });

  it('never quotes the value of a text rule, so secrets stay out of messages', () => {
    const result = validateInputSync(z.object({ API_KEY: text({ max: 8 }) }), { API_KEY: 'secret-value-1234' }, { kind: 'body' });
    expect(result).toEqual({ ok: false, problems: ['API_KEY must be 1 to 8 characters long (got 17)'] });
  });
});

describe('text', () => {
  it('refuses what PostgreSQL cannot store, and control characters when single-line', () => {
    expect(textProblem('a\u0000b')).toBe('contains a NUL character');
    expect(textProblem('\ud800')).toBe('is not valid Unicode (an unpaired surrogate)');
    expect(textProblem('😀\udc00')).toBe('is not valid Unicode (an unpaired surrogate)');
    expect(textProblem('😀 ok')).toBeNull();
    expect(text({ max: 10, singleLine: true }).safeParse('a\nb').error?.issues[0].message).toMatch(/control characters/);
    expect(text({ max: 2 }).safeParse('😀😀').success).toBe(true);
  });
});

describe('wholeNumberParam and isoDateOrTimeParam', () => {
  it.each(['1', '100', '42'])('accepts %j', (value) => expect(wholeNumberParam(1, 100).safeParse(value)).toEqual({ success: true, data: Number(value) }));
  it.each(['0', '101', 'abc', '1.5', '-1', ' 1', '1e2', '', '1'.repeat(20)])('refuses %j', (value) => expect(wholeNumberParam(1, 100).safeParse(value).success).toBe(false));
  it.each([1, 100, 42])('accepts the number %j, as in-process callers pass it', (value) => expect(wholeNumberParam(1, 100).safeParse(value)).toEqual({ success: true, data: value }));
  it.each([0, 101, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, true, null])('refuses %j', (value) => expect(wholeNumberParam(1, 100).safeParse(value).success).toBe(false));

  it('accepts calendar dates and times between years 1 and 9999, without an offset as UTC', () => {
    expect(parseIsoInstant('2026-03-01')).toBe(Date.parse('2026-03-01T00:00:00Z'));
    expect(parseIsoInstant('2026-03-01T10:00')).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(parseIsoInstant('2026-03-01T10:00:00+05:30')).toBe(Date.parse('2026-03-01T04:30:00Z'));
    expect(parseIsoInstant('0001-01-01')).toBe(Date.parse('0001-01-01T00:00:00Z'));
    expect(parseIsoInstant('9999-12-31T23:59:59.999Z')).toBe(Date.parse('9999-12-31T23:59:59.999Z'));
    for (const refused of ['0000-01-01', '0000-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '-271821-04-20T00:00:00Z', '2026-02-30', '2026-W01', 'June', '']) {
      expect(parseIsoInstant(refused)).toBeNaN();
    }
    const from = isoDateOrTimeParam('a date');
    expect(from.safeParse('0000-01-01').error?.issues[0].message).toBe('must be between 0001-01-01 and 9999-12-31 (got "0000-01-01")');
    expect(from.safeParse('June').error?.issues[0].message).toBe('must be a date (got "June")');
  });
});

describe('findJsonProblem', () => {
  it('reports the first problem with its path', () => {
    expect(findJsonProblem({ a: [{ b: 'x\u0000' }] }, { maxDepth: 5 })).toEqual({ path: ['a', 0, 'b'], message: 'contains a NUL character' });
    expect(findJsonProblem({ a: { 'k\ud800': 1 } }, { maxDepth: 5 })).toEqual({ path: ['a'], message: 'has a key that is not valid Unicode (an unpaired surrogate)' });
    expect(findJsonProblem({ a: Infinity }, { maxDepth: 5 })).toEqual({ path: ['a'], message: 'must be a finite number' });
    expect(findJsonProblem({ a: new Date() }, { maxDepth: 5 })).toEqual({ path: ['a'], message: 'must be a JSON value (got an instance of a class)' });
    expect(findJsonProblem({ a: 1n }, { maxDepth: 5 })).toEqual({ path: ['a'], message: 'must be a JSON value (got a bigint)' });
    expect(findJsonProblem({ a: 'x'.repeat(100) }, { maxDepth: 5, maxBytes: 50 })).toEqual({ path: [], message: 'is 108 bytes as JSON: at most 50 are allowed' });
  });

  it('counts the value itself as the first level', () => {
    expect(findJsonProblem(deepArray(3), { maxDepth: 3 })).toBeNull();
    expect(findJsonProblem(deepArray(4), { maxDepth: 3 })).toEqual({ path: [0, 0, 0], message: 'is nested too deeply: at most 3 levels of objects and arrays are allowed' });
    expect(exceedsJsonDepth(deepArray(3), 3)).toBe(false);
    expect(exceedsJsonDepth(deepArray(4), 3)).toBe(true);
  });

  it('walks a value a million levels deep without overflowing the stack', () => {
    const deep = deepArray(1_000_000);
    expect(findJsonProblem(deep, { maxDepth: 32, maxBytes: 1000 })?.message).toMatch(/nested too deeply: at most 32 levels/);
    expect(exceedsJsonDepth(deep, 64)).toBe(true);
    expect(jsonObject({ maxDepth: 32 }).safeParse({ deep }).success).toBe(false);
  });

  it('never throws, and finds no problem in JSON text PostgreSQL can store that fits the limits', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 6, withBigInt: true, withDate: true, withMap: true, withNullPrototype: true, withTypedArray: true }), (value) => {
        findJsonProblem(value, { maxDepth: 4, maxBytes: 10_000 });
        exceedsJsonDepth(value, 4);
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const storable = !/\\u0000|\\ud[89a-f]/i.test(JSON.stringify(value)) && textProblem(JSON.stringify(value)) === null;
        if (storable) expect(findJsonProblem(value, { maxDepth: 6 })).toBeNull();
      }),
    );
  });
});
