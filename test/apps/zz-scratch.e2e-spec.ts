import request from 'supertest';
import { startTestApp, type TestApp } from '../support/test-app';

describe('scratch', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ env: { BODY_LIMIT_BYTES: '1024' } })));
  afterAll(() => t.close());
  it('shapes', async () => {
    const r1 = await request(t.url).get('/nope');
    console.log(r1.status, r1.text);
    const r2 = await request(t.url).post('/health').set('content-type', 'application/json').send('{bad');
    console.log(r2.status, r2.text);
    const r3 = await request(t.url).post('/health').set('content-type', 'application/json').send(JSON.stringify({ a: 'x'.repeat(5000) }));
    console.log(r3.status, r3.text);
    const r4 = await request(t.url).post('/health').set('content-type', 'text/xml').send('<a/>');
    console.log(r4.status, r4.text);
  });
});
