import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { createTenant, putUser, startSendingApp, startSimulator, type TestTenant } from '../sending/sending-test-kit';
import { TEST_ADMIN_TOKEN, type TestApp } from '../support/test-app';
import { resolveSchema, type JsonSchema, type OpenApiDocument, type Operation } from './route-table';

/** Random values tried per parameter, after the few every parameter gets; fixed seed, so a run can be repeated. */
const RUNS_PER_PARAMETER = 3;
const SEED = 20260301;

/** Stands in a body for a value too deep for JSON.stringify: replaced in the JSON text before sending. */
const DEEP_MARK = '\u0001deep-value\u0001';
const DEEP_JSON = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;

type Location = 'path' | 'query' | 'header' | 'body';

/** Where an odd value goes: a parameter of the operation, a security header, or a field of the body (its path). */
interface Target {
  location: Location;
  name: string;
  /** For body fields: where in the body; [] is the whole body. */
  path?: (string | number)[];
}

interface Probe {
  method: string;
  path: string;
  operation: Operation;
  /** The parameter values and body that make a sensible request, each then replaced by odd values one at a time. */
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  targets: Target[];
}

const ODD_TEXT = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00',
  '\ufffe\uffff',
  '😀',
  'x'.repeat(5000),
  '0000-01-01',
  '0000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '-271821-04-20T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2026-02-30',
  '1e308',
  '-1',
  '0',
  '9007199254740993',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
  '%00',
  '../..',
  '__proto__',
];

const ODD_JSON: unknown[] = [
  ...ODD_TEXT,
  'x'.repeat(100_000),
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  [],
  {},
  [1, 'a', null],
  { a: 1 },
  JSON.parse('{"__proto__": {"polluted": true}}'),
  JSON.parse('{"constructor": {"prototype": {"polluted": true}}}'),
  DEEP_MARK,
  [DEEP_MARK],
  { deep: DEEP_MARK },
];

/** Raw path segments, sent without further encoding: NUL, an unpaired surrogate and an overlong NUL in UTF-8, broken escapes. */
const ODD_PATH_SEGMENTS = ['%00', 'a%00b', '%ED%A0%80', '%C0%80', '%E0%A4%A', '%', '%zz', '%2F', '..', '.', 'x'.repeat(3000)];

/** What Node's HTTP client can put in a header: no NUL, CR or LF, nothing past U+00FF. */
const ODD_HEADERS = ['', ' ', 'x'.repeat(8000), 'ÿþ', '\t', 'Bearer', 'Bearer ', `Bearer ${'x'.repeat(200)}`, 'null', '0000-01-01', '%00'];

const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }), fc.constantFrom(...ODD_TEXT));
const anyJson = fc.oneof(anyText, fc.jsonValue({ maxDepth: 4 }), fc.double(), fc.integer(), fc.constantFrom(...ODD_JSON));
const anyHeader = fc.oneof(fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((code) => String.fromCharCode(code)), maxLength: 60 }), fc.constantFrom(...ODD_HEADERS));
const anyQuery = fc.oneof(anyText, fc.array(anyText, { minLength: 2, maxLength: 3 }));
const anyPathSegment = fc.oneof(anyText.map(encodeSegment), fc.constantFrom(...ODD_PATH_SEGMENTS));

/** Percent-encoded, with any unpaired surrogate written as the UTF-8 bytes it would have (which no decoder accepts). */
function encodeSegment(text: string): string {
  return [...text].map((char) => (/^[\ud800-\udfff]$/.test(char) ? '%ED%A0%80' : encodeURIComponent(char))).join('');
}

function queryString(query: Record<string, unknown>): string {
  const parts = Object.entries(query).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((item) => `${encodeURIComponent(name)}=${encodeSegment(String(item))}`),
  );
  return parts.length ? `?${parts.join('&')}` : '';
}

/** A value the schema accepts, from its example, enum, format or type: the starting point of each odd request. */
function sampleOf(document: OpenApiDocument, schema: JsonSchema | undefined): unknown {
  const resolved = resolveSchema(document, schema) ?? {};
  if (resolved.example !== undefined) return resolved.example;
  if (Array.isArray(resolved.enum)) return resolved.enum[0];
  const options = (resolved.oneOf ?? resolved.anyOf) as JsonSchema[] | undefined;
  if (options?.length) return sampleOf(document, options[0]);
  if (resolved.format === 'uuid') return randomUUID();
  if (resolved.format === 'date-time') return '2026-03-01T10:00:00Z';
  switch (resolved.type) {
    case 'integer':
    case 'number':
      return (resolved.minimum as number | undefined) ?? 1;
    case 'boolean':
      return true;
    case 'array':
      return [sampleOf(document, resolved.items as JsonSchema)];
    case 'object': {
      const required = new Set((resolved.required as string[] | undefined) ?? []);
      const properties = (resolved.properties ?? {}) as Record<string, JsonSchema>;
      return Object.fromEntries(Object.entries(properties).filter(([name]) => required.has(name)).map(([name, property]) => [name, sampleOf(document, property)]));
    }
    default:
      return 'x';
  }
}

/** Every field of the body down to three levels, as the sample has it and as the schema names it. */
function bodyTargets(document: OpenApiDocument, schema: JsonSchema | undefined, sample: unknown): Target[] {
  const paths = new Map<string, (string | number)[]>([['', []]]);
  const walk = (value: unknown, path: (string | number)[]) => {
    if (path.length >= 3 || value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      const childPath = [...path, Array.isArray(value) ? Number(key) : key];
      paths.set(JSON.stringify(childPath), childPath);
      walk(child, childPath);
    }
  };
  walk(sample, []);
  for (const name of Object.keys((resolveSchema(document, schema)?.properties ?? {}) as object)) paths.set(JSON.stringify([name]), [name]);
  return [...paths.values()].map((path) => ({ location: 'body', name: path.length ? path.join('.') : '(whole body)', path }));
}

function withValueAt(body: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(body ?? {}) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) {
    if (parent[key] === null || typeof parent[key] !== 'object') parent[key] = {};
    parent = parent[key] as Record<string | number, unknown>;
  }
  parent[path[path.length - 1]] = value;
  return copy;
}

/** The body as JSON text, the deep marks replaced by a value nested 100,000 deep. */
function bodyText(body: unknown): string {
  return (JSON.stringify(body) ?? 'null').replaceAll(JSON.stringify(DEEP_MARK), DEEP_JSON);
}

/**
 * Every route of /docs-json, every parameter (path, query, the headers it documents and its
 * credentials) and every field of its body, one at a time replaced by odd values: NUL, unpaired
 * surrogates, huge strings, deep nesting, dates and numbers out of range, wrong types, broken
 * escapes in the path. With valid credentials otherwise. The service must answer each with
 * something other than a 5xx, and any error with its JSON error body. A route added later is
 * probed the same way without a change here.
 */
describe('Odd input on every route and parameter: never a 5xx, always a JSON error body', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;
  let document: OpenApiDocument;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator);
    tenant = await createTenant(t, simulator);
    await putUser(t, tenant, 'user-1', { phoneNumber: '+919988776650' });
    await putUser(t, tenant, 'user-2', { phoneNumber: '+14155550123' });
    document = (await request(t.url).get('/docs-json').expect(200)).body as OpenApiDocument;
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  /** Values that name this test's own tenant, so that requests get past "no such app" to the checks behind it. */
  function knownValue(name: string): string | undefined {
    return { apiKey: tenant.apiKey, appId: tenant.appId, identifier: 'user-1' }[name];
  }

  function probeOf(path: string, method: string, operation: Operation): Probe {
    const headers: Record<string, string> = {};
    const targets: Target[] = [];
    for (const requirement of operation.security ?? []) {
      for (const scheme of Object.keys(requirement).map((name) => document.components.securitySchemes[name])) {
        if (scheme.type === 'apiKey' && scheme.in === 'header') {
          const name = scheme.name as string;
          headers[name] = name === 'X-ENGAGESPOT-API-KEY' ? tenant.apiKey : tenant.apiSecret;
          targets.push({ location: 'header', name });
        } else if (scheme.type === 'http' && scheme.scheme === 'bearer') {
          headers.Authorization = `Bearer ${TEST_ADMIN_TOKEN}`;
          targets.push({ location: 'header', name: 'Authorization' });
        }
      }
    }
    const params: Record<string, string> = {};
    const query: Record<string, string> = {};
    for (const parameter of operation.parameters ?? []) {
      const value = knownValue(parameter.name) ?? String(sampleOf(document, parameter.schema));
      if (parameter.in === 'path') params[parameter.name] = value;
      if (parameter.in === 'query' && parameter.required) query[parameter.name] = value;
      if (parameter.in === 'path' || parameter.in === 'query' || parameter.in === 'header') targets.push({ location: parameter.in, name: parameter.name });
    }
    const bodySchema = operation.requestBody?.content?.['application/json']?.schema;
    const body = bodySchema ? sampleOf(document, bodySchema) : undefined;
    if (bodySchema) targets.push(...bodyTargets(document, bodySchema, body));
    return { method, path, operation, params, query, headers, body, targets };
  }

  async function send(probe: Probe, target: Target | undefined, value: unknown): Promise<request.Response> {
    const params = { ...probe.params };
    const query: Record<string, unknown> = { ...probe.query };
    const headers = { ...probe.headers };
    let body = probe.body;
    if (target?.location === 'path') params[target.name] = value as string;
    if (target?.location === 'query') query[target.name] = value;
    if (target?.location === 'header') headers[target.name] = value as string;
    if (target?.location === 'body') body = withValueAt(body, target.path!, value);
    const path = probe.path.replace(/\{(\w+)\}/g, (_, name: string) => (target?.location === 'path' && target.name === name ? params[name] : encodeSegment(params[name])));
    const call = request(t.url)[probe.method as 'get'](`${path}${queryString(query)}`).set(headers);
    return body === undefined ? call : call.set('Content-Type', 'application/json').send(bodyText(body));
  }

  function problemWith(res: request.Response): string | null {
    if (res.status >= 500) return `answered ${res.status}: ${res.text.slice(0, 300)}`;
    if (res.status < 400) return null;
    if (!/^application\/json/.test(String(res.headers['content-type']))) return `answered ${res.status} with ${String(res.headers['content-type'])}: ${res.text.slice(0, 200)}`;
    const body = res.body as Record<string, unknown>;
    if (body.statusCode !== res.status || typeof body.message !== 'string' || body.message === '' || typeof body.error !== 'string') {
      return `answered ${res.status} with the body ${res.text.slice(0, 300)}`;
    }
    return null;
  }

  function oddValues(target: Target): fc.Arbitrary<unknown> {
    switch (target.location) {
      case 'path':
        return anyPathSegment;
      case 'query':
        return anyQuery;
      case 'header':
        return target.name === 'Authorization' ? fc.oneof(anyHeader, anyHeader.map((token) => `Bearer ${token}`)) : anyHeader;
      default:
        return anyJson;
    }
  }

  /** What every parameter gets, whatever the random draw: NUL, an unpaired surrogate, too much, too deep, out of range, the wrong type. */
  function fixedOddValues(target: Target): unknown[] {
    switch (target.location) {
      case 'path':
        return ['%00', 'a%00b', '%ED%A0%80', '%C0%80', '%E0%A4%A', 'x'.repeat(3000), '..'];
      case 'query':
        return ['a\u0000b', 'x\ud800', 'x'.repeat(5000), '0000-01-01', '+275760-09-13T00:00:00Z', '-1', ['1', '2']];
      case 'header':
        return ['', 'x'.repeat(8000), 'ÿþ', 'Bearer '];
      default:
        return ['a\u0000b', 'x\ud800', 'x'.repeat(100_000), DEEP_MARK, null, [], { a: 1 }, 1e308, '0000-01-01T00:00:00Z'];
    }
  }

  it(
    'answers every odd value with a 4xx error body or a success, never a 5xx',
    async () => {
      const failures: string[] = [];
      let requests = 0;
      const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => probeOf(path, method, operation)),
      );
      expect(operations.length).toBeGreaterThan(10);
      for (const probe of operations) {
        const label = `${probe.method.toUpperCase()} ${probe.path}`;
        const baseline = problemWith(await send(probe, undefined, undefined));
        requests += 1;
        if (baseline) failures.push(`${label} with its sample request: ${baseline}`);
        for (const target of probe.targets) {
          const where = `${label} ${target.location} ${target.name}`;
          const fixed = fixedOddValues(target).map((value) => [value] as [unknown]);
          const check = await fc.check(
            fc.asyncProperty(oddValues(target), async (value) => {
              requests += 1;
              const problem = problemWith(await send(probe, target, value));
              if (problem) throw new Error(problem);
            }),
            // The fixed values count among the runs: all of them, then the random ones.
            { numRuns: fixed.length + RUNS_PER_PARAMETER, seed: SEED, examples: fixed, endOnFailure: true },
          );
          if (check.failed) {
            const shown = JSON.stringify(check.counterexample?.[0])?.slice(0, 120);
            failures.push(`${where} = ${shown}: ${check.errorInstance instanceof Error ? check.errorInstance.message : String(check.errorInstance)}`);
          }
        }
      }
      expect(failures).toEqual([]);
      expect(requests).toBeGreaterThan(operations.length * ODD_TEXT.length);
      await request(t.url).get('/health').expect(200);
    },
    30 * 60_000,
  );
});
