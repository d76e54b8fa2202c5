import request from 'supertest';
import { eventually } from '../support/eventually';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../support/test-app';
import { metricValue } from '../tracking/tracking-kit';

const TRANSLATOR = 'whatsapp_callback_translation';

/**
 * A subscription's batch that fails on every try holds up every event after it: /health and
 * /metrics say so while it lasts (not only the log), and stop saying so once a batch succeeds.
 */
describe('operations: a subscription whose batches keep failing', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const translatorLag = async () => (await request(t.url).get('/health').expect(200)).body.projectionLag[TRANSLATOR];

  it('is shown in /health (since when, tries, last error) and /metrics, and no longer once its batch goes through', async () => {
    const created = await request(t.url).post('/admin/apps').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ name: 'Failing' }).expect(201);
    const callbackUrl = new URL(created.body.callbackUrl as string);
    expect(await translatorLag()).toEqual({ eventsBehind: 0, secondsBehind: expect.any(Number) });

    // A report of a message nobody sent is parked: with the table away, the translator's batch fails on every try.
    await t.db.query('ALTER TABLE parked_callbacks RENAME TO parked_callbacks_away');
    try {
      const report = { app: 'DemoAPI', timestamp: Date.now(), version: 2, type: 'message-event', payload: { id: 'wamid.held', gsId: 'ffffffff-0000-4000-8000-0000000000f1', type: 'read', destination: '919900000091', payload: { ts: Math.floor(Date.now() / 1000) } } };
      await request(t.url).post(`${callbackUrl.pathname}${callbackUrl.search}`).set('Content-Type', 'application/json').send(report).expect(200);
      const lag = await eventually(async () => {
        const current = await translatorLag();
        return current.failing?.attempts >= 2 ? current : undefined;
      }, 'the translator failing in /health');
      expect(lag.eventsBehind).toBeGreaterThanOrEqual(1);
      expect(lag.failing).toEqual({ since: expect.any(String), attempts: expect.any(Number), error: expect.stringContaining('parked_callbacks') });
      expect(Date.parse(lag.failing.since)).toBeLessThanOrEqual(Date.now());
      expect(await metricValue(t, 'subscription_failing_batches', { subscription: TRANSLATOR })).toBeGreaterThanOrEqual(2);
    } finally {
      await t.db.query('ALTER TABLE parked_callbacks_away RENAME TO parked_callbacks');
    }

    await eventually(async () => {
      const current = await translatorLag();
      return current.failing === undefined && current.eventsBehind === 0 ? true : undefined;
    }, 'the translator through its batch');
    expect(await metricValue(t, 'subscription_failing_batches', { subscription: TRANSLATOR })).toBe(0);
    const parked = await request(t.url).get('/admin/parked-callbacks').query({ appId: created.body.id }).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(200);
    expect(parked.body.data).toEqual([expect.objectContaining({ state: 'waiting', gupshupMessageId: 'ffffffff-0000-4000-8000-0000000000f1' })]);
  });
});
