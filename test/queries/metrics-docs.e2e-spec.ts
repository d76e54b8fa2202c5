import request from 'supertest';
import { EventStore } from '../../src/event-store';
import { MessageViewsProjection } from '../../src/whatsapp/projections';
import { eventually } from '../support/eventually';
import { startTestApp, type TestApp } from '../support/test-app';
import { routeTable } from '../api/route-table';
import { appendToMessage, build, newMessageIds, waitForProjections } from '../projections/whatsapp-test-data';

describe('operations: /metrics and /docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('/metrics exposes Node metrics, the projection lag per subscription and messages per status', async () => {
    const ids = newMessageIds('metrics-app', 'metrics-request');
    await appendToMessage(t.app.get(EventStore), ids, [build.queued(ids, '2026-08-01T00:00:00.000Z'), build.sent(ids, '2026-08-01T00:00:01.000Z')]);
    await waitForProjections(t);
    const name = t.app.get(MessageViewsProjection).subscriptionName;

    const response = await request(t.url).get('/metrics').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.text).toContain('process_cpu_user_seconds_total');
    expect(response.text).toContain('# TYPE projection_lag_events gauge');
    expect(response.text).toContain(`projection_lag_events{subscription="${name}"} 0`);
    expect(response.text).toContain(`projection_lag_seconds{subscription="${name}"} 0`);
    expect(response.text).toContain('whatsapp_messages{status="sent"} 1');
  });

  it('/metrics shows a subscription falling behind', async () => {
    const name = t.app.get(MessageViewsProjection).subscriptionName;
    // Holding the subscription's lock stops its runner, as a slow or stuck projector would.
    const hold = await t.db.pool.connect();
    try {
      await hold.query('BEGIN');
      await hold.query("SELECT pg_advisory_xact_lock(hashtext('es_subscription'), hashtext($1))", [name]);
      const ids = newMessageIds('metrics-app', 'metrics-request');
      await appendToMessage(t.app.get(EventStore), ids, [build.queued(ids, new Date(Date.now() - 5000).toISOString())]);
      // The oldest unprocessed event gets older while the projector is held: poll until the gauge shows it.
      const gauge = (text: string, metric: string) =>
        Number(new RegExp(`^${metric}\\{subscription="${name}"\\} ([0-9.e+-]+)$`, 'm').exec(text)?.[1]);
      const text = await eventually(async () => {
        const metrics = (await request(t.url).get('/metrics').expect(200)).text;
        return gauge(metrics, 'projection_lag_seconds') === 0 ? undefined : metrics;
      }, 'projection_lag_seconds to show the held subscription');
      expect(gauge(text, 'projection_lag_events')).toBeGreaterThanOrEqual(1);
      expect(gauge(text, 'projection_lag_seconds')).toBeGreaterThan(0);
    } finally {
      await hold.query('ROLLBACK');
      hold.release();
    }
    await waitForProjections(t);
  });

  it('/docs is browsable and the OpenAPI JSON lists every route with its security', async () => {
    const page = await request(t.url).get('/docs').redirects(1).expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('swagger');

    const { body: document } = await request(t.url).get('/docs-json').expect(200);
    expect(document.openapi).toMatch(/^3\./);
    expect(document.components.securitySchemes).toMatchObject({
      apiKey: { type: 'apiKey', in: 'header', name: 'X-ENGAGESPOT-API-KEY' },
      apiSecret: { type: 'apiKey', in: 'header', name: 'X-ENGAGESPOT-API-SECRET' },
      adminToken: { type: 'http', scheme: 'bearer', bearerFormat: 'ADMIN_TOKEN', description: expect.stringContaining('ADMIN_TOKEN') },
    });
    const described = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // Every route of every controller in the service, whoever wrote it, is described, unless excluded on purpose.
    const routes = routeTable(t).map((route) => `${route.method} ${route.path}`);
    expect(routes).toEqual(
      expect.arrayContaining(['GET /v3/messages', 'GET /v3/messages/{messageId}', 'GET /v3/notifications/{requestId}', 'GET /v3/analytics/whatsapp', 'GET /metrics', 'GET /health']),
    );
    expect(routes.filter((route) => !described.includes(route))).toEqual([]);
    expect(document.paths['/v3/messages/{messageId}'].get.security).toEqual([{ apiKey: [], apiSecret: [] }]);
    expect(document.paths['/v3/messages'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['category', 'cursor', 'discardCode', 'from', 'limit', 'phoneNumber', 'recipient', 'requestId', 'status', 'template', 'to'],
    );
  });
});
