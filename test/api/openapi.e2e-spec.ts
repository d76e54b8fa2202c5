import request from 'supertest';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../support/test-app';
import { isDescriptive, resolveSchema, routeTable, type OpenApiDocument, type Operation, type Route } from './route-table';

const APP_SECURITY = [{ apiKey: [], apiSecret: [] }];
const ADMIN_SECURITY = [{ adminToken: [] }];
const CALLBACK_SECURITY = [{ callbackToken: [] }];
const DASHBOARD_SECURITY = [{ dashboardSession: [] }];
/** The dashboard's sign-in: the one route under /dashboard/api that takes no session. */
const DASHBOARD_SIGN_IN = 'POST /dashboard/api/session';
/** Gupshup's webhook: a placeholder API key names no app (404 before any token is looked at), so a probe cannot show its 401. */
const WEBHOOK_PATH = '/api/v1/apps/{apiKey}/webhook/gupshup_whatsapp';

/**
 * /docs-json against the routes the application really has: every operation describes its
 * request body where the handler reads one, a 2xx answer, its error answers, and its
 * authentication exactly when the route refuses a request without credentials. A route added
 * later is held to the same rules without a change here.
 */
describe('OpenAPI description (/docs-json)', () => {
  let t: TestApp;
  let document: OpenApiDocument;
  let routes: Route[];

  beforeAll(async () => {
    t = await startTestApp();
    document = (await request(t.url).get('/docs-json').expect(200)).body as OpenApiDocument;
    routes = routeTable(t);
  });
  afterAll(() => t?.close());

  const operationOf = (route: Route): Operation | undefined => document.paths[route.path]?.[route.method.toLowerCase()];
  const label = (route: Route) => `${route.method} ${route.path}`;

  it('describes every route of every controller', () => {
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.filter((route) => !operationOf(route)).map(label)).toEqual([]);
  });

  it('gives a descriptive request schema wherever the handler reads a body', () => {
    const lacking = routes.filter((route) => {
      if (!route.readsBody || !['POST', 'PUT', 'PATCH'].includes(route.method)) return false;
      const content = operationOf(route)?.requestBody?.content ?? {};
      const schemas = Object.values(content).map((media) => media.schema);
      return schemas.length === 0 || !schemas.every((schema) => isDescriptive(document, schema));
    });
    expect(lacking.map(label)).toEqual([]);
  });

  it('gives every route a 2xx answer with a descriptive schema, or one declared to have no body', () => {
    const lacking = routes.filter((route) => {
      const successes = Object.entries(operationOf(route)?.responses ?? {}).filter(([status]) => /^2/.test(status));
      if (successes.length === 0) return true;
      return !successes.every(([status, response]) => {
        // No body on purpose: 204, or a content map declared empty.
        if (status === '204' || (response.content && Object.keys(response.content).length === 0)) return true;
        const media = Object.values(response.content ?? {});
        return media.length > 0 && media.every((entry) => entry.schema !== undefined && (isDescriptive(document, entry.schema) || entry.schema.type === 'string'));
      });
    });
    expect(lacking.map(label)).toEqual([]);
  });

  it('describes every refusal with the error body {statusCode, message, error}, and every other error answer with a schema', () => {
    const errorBody = document.components.schemas.Error;
    expect(errorBody).toMatchObject({ type: 'object', required: ['statusCode', 'message', 'error'] });
    const wrong = routes.flatMap((route) =>
      Object.entries(operationOf(route)?.responses ?? {})
        .filter(([status]) => /^[45]/.test(status))
        .filter(([status, response]) => {
          const schema = response.content?.['application/json']?.schema;
          // A 5xx may have a body of its own: /health's 503 is its report.
          return status.startsWith('4') ? resolveSchema(document, schema) !== errorBody : !isDescriptive(document, schema);
        })
        .map(([status]) => `${label(route)} ${status}`),
    );
    expect(wrong).toEqual([]);
    const appRoutes = routes.filter((route) => /^\/v[34]\//.test(route.path));
    expect(appRoutes.filter((route) => !operationOf(route)?.responses['401']).map(label)).toEqual([]);
    // Any of them may answer 503 (the database unreachable, a credential check stuck).
    expect(appRoutes.filter((route) => !operationOf(route)?.responses['503']).map(label)).toEqual([]);
  });

  it('describes each path parameter with a schema', () => {
    const lacking = routes.flatMap((route) => {
      const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      const parameters = operationOf(route)?.parameters ?? [];
      return names.filter((name) => !parameters.some((p) => p.in === 'path' && p.name === name && p.required && p.schema)).map((name) => `${label(route)} ${name}`);
    });
    expect(lacking).toEqual([]);
  });

  it('declares authentication exactly where a request without credentials is refused', async () => {
    const mismatches: string[] = [];
    for (const route of routes) {
      const path = route.path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
      const probe = request(t.url)[route.method.toLowerCase() as 'get'](path);
      const res = ['POST', 'PUT', 'PATCH'].includes(route.method) ? await probe.set('Content-Type', 'application/json').send('{}') : await probe;
      const guarded = res.status === 401 || res.status === 403 || route.path === WEBHOOK_PATH;
      const security = operationOf(route)?.security ?? [];
      const declared = security.some((requirement) => Object.keys(requirement).length > 0);
      if (guarded !== declared) mismatches.push(`${label(route)}: answers ${res.status} without credentials, declares ${JSON.stringify(security)}`);
      const expected =
        route.path === WEBHOOK_PATH
          ? CALLBACK_SECURITY
          : route.path.startsWith('/admin/')
            ? ADMIN_SECURITY
            : /^\/v[34]\//.test(route.path)
              ? APP_SECURITY
              : route.path.startsWith('/dashboard/api/') && label(route) !== DASHBOARD_SIGN_IN
                ? DASHBOARD_SECURITY
                : [];
      if (JSON.stringify(declared ? security : []) !== JSON.stringify(expected)) mismatches.push(`${label(route)}: declares ${JSON.stringify(security)}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('declares the status each route answers to a path parameter it cannot use (a NUL character), with credentials', async () => {
    const created = await request(t.url).post('/admin/apps').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ name: 'Docs' }).expect(201);
    const credentials = { 'X-ENGAGESPOT-API-KEY': created.body.apiKey, 'X-ENGAGESPOT-API-SECRET': created.body.apiSecret };
    const undeclared: string[] = [];
    for (const route of routes.filter((r) => /\{\w+\}/.test(r.path) && /^\/(v[34]|admin)\//.test(r.path))) {
      const path = route.path.replace(/\{\w+\}/g, 'a%00b');
      const probe = request(t.url)[route.method.toLowerCase() as 'get'](path).set(route.path.startsWith('/admin/') ? { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } : credentials);
      const res = ['POST', 'PUT', 'PATCH'].includes(route.method) ? await probe.set('Content-Type', 'application/json').send('{}') : await probe;
      if (!operationOf(route)?.responses[String(res.status)]) undeclared.push(`${label(route)} answers ${res.status}: ${res.text.slice(0, 100)}`);
    }
    expect(undeclared).toEqual([]);
  });

  it('declares the refusals of a body sent as text, and of one past BODY_LIMIT_BYTES, on every route that takes a body', async () => {
    const created = await request(t.url).post('/admin/apps').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ name: 'Bodies' }).expect(201);
    const credentials = { 'X-ENGAGESPOT-API-KEY': created.body.apiKey, 'X-ENGAGESPOT-API-SECRET': created.body.apiSecret };
    const tooLarge = JSON.stringify({ padding: 'x'.repeat(t.config.get('BODY_LIMIT_BYTES')) });
    const undeclared: string[] = [];
    for (const route of routes.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method))) {
      const path = route.path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
      const auth = route.path.startsWith('/admin/') ? { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } : /^\/v[34]\//.test(route.path) ? credentials : {};
      for (const [type, body] of [
        ['text/plain', '{}'],
        ['application/json', tooLarge],
      ]) {
        const res = await request(t.url)[route.method.toLowerCase() as 'post'](path).set(auth).set('Content-Type', type).send(body);
        if (!operationOf(route)?.responses[String(res.status)]) undeclared.push(`${label(route)} answers ${res.status} to ${type === 'text/plain' ? 'a text/plain body' : 'a body past the limit'}`);
      }
    }
    expect(undeclared).toEqual([]);
  });

  it('names the credentials: the two app headers, the admin bearer token as ADMIN_TOKEN, and the callback token in the query', () => {
    const schemes = document.components.securitySchemes;
    expect(schemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-ENGAGESPOT-API-KEY' });
    expect(schemes.apiSecret).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-ENGAGESPOT-API-SECRET' });
    expect(schemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer', description: expect.stringContaining('ADMIN_TOKEN') });
    expect(schemes.adminToken.bearerFormat).not.toBe('JWT');
    expect(schemes.callbackToken).toMatchObject({ type: 'apiKey', in: 'query', name: 'token' });
    const webhook = document.paths[WEBHOOK_PATH].post;
    expect(webhook.parameters?.find((p) => p.name === 'apiKey')?.schema).toMatchObject({ description: expect.stringContaining('not a credential') });
    expect(webhook.responses['401']).toBeDefined();
  });

  it('shows the schemas that were empty before: the app and provider bodies, and the user profile', () => {
    const bodyOf = (path: string, method: string) => resolveSchema(document, document.paths[path][method].requestBody?.content?.['application/json']?.schema);
    expect(bodyOf('/admin/apps', 'post')).toMatchObject({ properties: { name: { type: 'string', maxLength: 200 } }, required: ['name'] });
    expect(bodyOf('/v3/channels/whatsapp/providers/gupshup_whatsapp', 'put')).toMatchObject({
      properties: { enabled: { type: 'boolean' }, config: { properties: { API_KEY: {}, SOURCE: {}, SRC_NAME: {} } }, acceptLegacyCallbackUrl: { type: 'boolean' } },
    });
    expect(bodyOf('/v3/users/{identifier}', 'put')).toMatchObject({ properties: { phoneNumber: { type: 'string' }, email: { format: 'email' } } });
    // Every send parameter of @engagespot/node; the title is required only without a template, which the handler checks.
    const notificationBody = bodyOf('/v3/notifications', 'post');
    // notification is optional: a request naming its template by a top-level workflow needs none.
    expect(notificationBody?.required ?? []).toEqual([]);
    expect((notificationBody?.properties as Record<string, { description?: string }>).notification.description).toMatch(/Required unless a template is named/);
    expect(Object.keys((notificationBody?.properties as Record<string, { properties: object }>).notification.properties).sort()).toEqual(
      ['category', 'content', 'data', 'icon', 'message', 'templateId', 'templateIdentifier', 'title', 'url', 'workflow'],
    );
    expect(Object.keys(notificationBody?.properties as object).sort()).toEqual(
      ['category', 'data', 'notification', 'override', 'recipients', 'sendAt', 'sendTo', 'workflow'],
    );
    // The override's destination is a number as text or as JSON digits, as the request check takes it.
    const override = (notificationBody?.properties as Record<string, { properties: Record<string, { properties: Record<string, unknown> }> }>).override;
    expect(override.properties.gupshup_whatsapp.properties.destination).toMatchObject({ oneOf: [{ type: 'string' }, { type: 'integer' }] });
    expect(bodyOf('/v3/channels/whatsapp/templates/{identifier}', 'put')).toMatchObject({
      properties: { gupshupTemplateId: { type: 'string' }, params: { type: 'array' }, header: {} },
      required: ['gupshupTemplateId'],
    });
    expect(bodyOf('/v4/workflows/{identifier}/cancel-run', 'post')).toMatchObject({
      properties: { cancellationKey: { type: 'string' }, cancelFor: { properties: { recipients: { type: 'array' } } } },
      required: ['cancellationKey'],
    });
    const limit = document.paths['/v3/messages'].get.parameters?.find((p) => p.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } });
  });
});
