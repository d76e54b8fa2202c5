import request from 'supertest';
import { appAuth, createApp, expectErrorBody, type CreatedTestApp } from '../apps/app-helpers';
import { startTestApp, type TestApp } from '../support/test-app';

describe('Users: PUT and GET /v3/users/{identifier}', () => {
  let t: TestApp;
  let app: CreatedTestApp;
  let other: CreatedTestApp;
  beforeAll(async () => {
    t = await startTestApp();
    [app, other] = await Promise.all([createApp(t, 'Users A'), createApp(t, 'Users B')]);
  });
  afterAll(() => t.close());

  const put = (identifier: string, body: unknown, as: CreatedTestApp = app) =>
    request(t.url).put(`/v3/users/${identifier}`).set(appAuth(as)).send(body as object);
  const get = (identifier: string, as: CreatedTestApp = app) => request(t.url).get(`/v3/users/${identifier}`).set(appAuth(as));
  const userEvents = (identifier: string, appId = app.id) =>
    t.db.query<{ event_type: string; data: Record<string, unknown> }>(
      'SELECT event_type, data FROM es_events WHERE stream_id = $1 ORDER BY stream_position',
      [`app_user-${appId}-${identifier}`],
    );

  it('creates a user and returns it; GET returns the same', async () => {
    const res = await put('user-1', { phoneNumber: '+919988776655', email: 'ada@example.com', firstName: 'Ada' }).expect(200);
    expect(res.body).toEqual({ identifier: 'user-1', phoneNumber: '+919988776655', email: 'ada@example.com', firstName: 'Ada' });
    expect((await get('user-1').expect(200)).body).toEqual(res.body);
  });

  it('keeps the fields not sent, replaces those sent, removes those sent as null', async () => {
    await put('user-2', { phoneNumber: '+14155550123', email: 'bo@example.com', plan: 'free', address: { city: 'Pune', zip: '411001' } }).expect(200);
    const res = await put('user-2', { plan: 'pro', address: { city: 'Kochi' }, email: null, tags: ['vip', 1, true] }).expect(200);
    expect(res.body).toEqual({ identifier: 'user-2', phoneNumber: '+14155550123', plan: 'pro', address: { city: 'Kochi' }, tags: ['vip', 1, true] });
    expect((await get('user-2').expect(200)).body).toEqual(res.body);
  });

  it('removes the phone number with phoneNumber: null', async () => {
    await put('user-3', { phoneNumber: '+919988776655' }).expect(200);
    const res = await put('user-3', { phoneNumber: null }).expect(200);
    expect(res.body).toEqual({ identifier: 'user-3', phoneNumber: null });
    expect((await get('user-3').expect(200)).body).toEqual({ identifier: 'user-3', phoneNumber: null });
  });

  it('creates a user from an empty body, and accepts the identifier repeated in the body', async () => {
    expect((await put('user-4', {}).expect(200)).body).toEqual({ identifier: 'user-4', phoneNumber: null });
    expect((await put('user-4', { identifier: 'user-4', name: 'Four' }).expect(200)).body).toEqual({ identifier: 'user-4', phoneNumber: null, name: 'Four' });
  });

  it('records each change as a UserProfileUpdated event with the changed fields, and nothing when nothing changed', async () => {
    await put('user-5', { phoneNumber: '+919988776655', email: 'e@example.com' }).expect(200);
    await put('user-5', { email: 'e@example.com' }).expect(200); // same value: no change
    await put('user-5', { email: null, city: 'Pune' }).expect(200);
    const events = await userEvents('user-5');
    expect(events).toEqual([
      {
        event_type: 'UserProfileUpdated',
        data: expect.objectContaining({ appId: app.id, identifier: 'user-5', created: true, set: { phoneNumber: '+919988776655', email: 'e@example.com' }, removed: [] }),
      },
      { event_type: 'UserProfileUpdated', data: expect.objectContaining({ created: false, set: { city: 'Pune' }, removed: ['email'] }) },
    ]);
  });

  it('answers 404 for a user that does not exist, saying how to create it', async () => {
    const res = await get('nobody').expect(404);
    expectErrorBody(res.body, 404);
    expect(res.body.message).toMatch(/No user "nobody".*PUT \/v3\/users\/nobody/);
  });

  describe('phone numbers', () => {
    it.each(['+919988776655', '+14155550123', '+12345678', '+123456789012345'])('accepts %s', async (phoneNumber) => {
      expect((await put('phone-ok', { phoneNumber }).expect(200)).body.phoneNumber).toBe(phoneNumber);
    });

    it.each([
      '(457)-746-846',
      '+91 99887 76655',
      '919988776655',
      '+1234567',
      '+1234567890123456',
      '+0919988776655',
      '+91-9988776655',
      '+919988776655 ',
      '',
      919988776655,
      true,
      { number: '+919988776655' },
    ])('rejects %j with a 400 stating the rule and a valid example, and stores nothing', async (phoneNumber) => {
      await put('phone-bad', { phoneNumber: '+14155550123', note: 'before' }).expect(200);
      const res = await put('phone-bad', { phoneNumber, note: 'after' }).expect(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toContain('phoneNumber must be in E.164 format');
      expect(res.body.message).toContain('8 to 15 digits');
      expect(res.body.message).toContain('+919988776655');
      expect((await get('phone-bad').expect(200)).body).toEqual({ identifier: 'phone-bad', phoneNumber: '+14155550123', note: 'before' });
    });

    it('does not create the user when the first PUT is invalid', async () => {
      await put('never-created', { phoneNumber: '(457)-746-846' }).expect(400);
      await get('never-created').expect(404);
      expect(await userEvents('never-created')).toEqual([]);
    });
  });

  describe('identifiers', () => {
    it('accepts 1 to 128 characters of any kind but "/" and control characters, URL-decoded', async () => {
      for (const identifier of ['a', 'x'.repeat(128), 'ada@example.com', 'user 42', 'ünïcødé-名前', '😀'.repeat(128), 'a%b', 'a?b#c']) {
        const res = await put(encodeURIComponent(identifier), { ok: true }).expect(200);
        expect(res.body.identifier).toBe(identifier);
        expect((await get(encodeURIComponent(identifier)).expect(200)).body.identifier).toBe(identifier);
      }
    });

    it.each([
      ['129 characters', 'x'.repeat(129), /got 129 characters/],
      ['an encoded "/"', encodeURIComponent('a/b'), /got one containing "\/"/],
      ['a control character', encodeURIComponent('a\u0007b'), /control character/],
      ['a tab', encodeURIComponent('a\tb'), /control character/],
      ['a NUL', '%00', /control character/],
    ])('rejects %s with a 400 stating the rule, on PUT and GET', async (_, identifier, detail) => {
      for (const res of [await put(identifier, { a: 1 }).expect(400), await get(identifier).expect(400)]) {
        expectErrorBody(res.body, 400);
        expect(res.body.message).toContain('identifier must be 1 to 128 characters, without "/" or control characters');
        expect(res.body.message).toMatch(detail);
      }
    });

    it('does not treat a raw "/" as part of the identifier', async () => {
      const res = await put('a/b', { a: 1 }).expect(404);
      expectErrorBody(res.body, 404);
    });
  });

  describe('bodies', () => {
    it.each([
      ['an array', [1, 2], /must be a JSON object.*got an array/],
      ['a string', '"text"', /must be a JSON object.*got a string/],
      ['a number', '42', /must be a JSON object.*got a number/],
      ['null', 'null', /must be a JSON object.*got null/],
    ])('rejects %s with a 400', async (_, body, message) => {
      const res = await request(t.url)
        .put('/v3/users/body-check')
        .set(appAuth(app))
        .set('Content-Type', 'application/json')
        .send(typeof body === 'string' ? body : JSON.stringify(body))
        .expect(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toMatch(message);
    });

    it('rejects malformed JSON with a 400', async () => {
      const res = await request(t.url).put('/v3/users/body-check').set(appAuth(app)).set('Content-Type', 'application/json').send('{"a":').expect(400);
      expectErrorBody(res.body, 400);
    });

    it('rejects values nested too deeply, naming the field', async () => {
      let deep: unknown = 'leaf';
      for (let i = 0; i < 9; i++) deep = { next: deep };
      const res = await put('body-check', { tree: deep }).expect(400);
      expect(res.body.message).toMatch(/tree\.next.* is nested too deeply: at most 8 levels/);
      let fine: unknown = 'leaf';
      for (let i = 0; i < 8; i++) fine = { next: fine };
      await put('body-check', { tree: fine }).expect(200);
    });

    it('survives a pathologically deep body', async () => {
      const res = await request(t.url)
        .put('/v3/users/body-check')
        .set(appAuth(app))
        .set('Content-Type', 'application/json')
        .send(`{"deep":${'['.repeat(100000)}${']'.repeat(100000)}}`);
      expect(res.status).toBe(400);
      expectErrorBody(res.body, 400);
      await request(t.url).get('/health').expect(200);
    });

    it('rejects a profile that would grow past 16 KiB, and one with too many fields', async () => {
      await put('big', { a: 'x'.repeat(9000) }).expect(200);
      const res = await put('big', { b: 'y'.repeat(9000) }).expect(400);
      expect(res.body.message).toMatch(/at most 16384 are allowed/);
      expect((await get('big').expect(200)).body).not.toHaveProperty('b');
      const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, i]));
      expect((await put('many', many).expect(400)).body.message).toMatch(/at most 100 fields/);
    });

    it('rejects text PostgreSQL cannot store (NUL, unpaired surrogates) with a 400', async () => {
      const nul = await request(t.url).put('/v3/users/text').set(appAuth(app)).set('Content-Type', 'application/json').send('{"name": "a\\u0000b"}').expect(400);
      expect(nul.body.message).toMatch(/name contains a NUL character/);
      const surrogate = await request(t.url).put('/v3/users/text').set(appAuth(app)).set('Content-Type', 'application/json').send('{"name": "\\ud800"}').expect(400);
      expect(surrogate.body.message).toMatch(/name is not valid Unicode/);
      const key = await request(t.url).put('/v3/users/text').set(appAuth(app)).set('Content-Type', 'application/json').send('{"n": {"\\u0000": 1}}').expect(400);
      expect(key.body.message).toMatch(/n has a key that contains a NUL character/);
    });

    it('checks email when given, and lists every problem at once', async () => {
      const res = await put('mail', { email: 'not-an-email', phoneNumber: '12' }).expect(400);
      expect(res.body.message).toMatch(/phoneNumber must be in E\.164 format/);
      expect(res.body.message).toMatch(/email must be an email address/);
    });

    it('rejects an identifier in the body that differs from the path', async () => {
      const res = await put('path-id', { identifier: 'other' }).expect(400);
      expect(res.body.message).toMatch(/identifier in the body must be the one in the path/);
    });
  });

  describe('without a body, and DELETE', () => {
    it('PUT with no body creates the user with no profile, also with a JSON content type and nothing in it', async () => {
      await request(t.url).put('/v3/users/no-body-1').set(appAuth(app)).expect(200, { identifier: 'no-body-1', phoneNumber: null });
      await request(t.url)
        .put('/v3/users/no-body-2')
        .set({ ...appAuth(app), 'Content-Type': 'application/json' })
        .expect(200, { identifier: 'no-body-2', phoneNumber: null });
      // An existing user is left as it is.
      await put('no-body-3', { plan: 'pro' }).expect(200);
      await request(t.url).put('/v3/users/no-body-3').set(appAuth(app)).expect(200, { identifier: 'no-body-3', phoneNumber: null, plan: 'pro' });
      expect(await userEvents('no-body-3')).toHaveLength(1);
    });

    it('DELETE answers 204, removes the user and records UserDeleted; a user that does not exist is already deleted', async () => {
      await put('to-delete', { phoneNumber: '+919988776655', plan: 'pro' }).expect(200);
      await request(t.url).delete('/v3/users/to-delete').set(appAuth(app)).expect(204);
      await get('to-delete').expect(404);
      expect((await userEvents('to-delete')).map((event) => event.event_type)).toEqual(['UserProfileUpdated', 'UserDeleted']);
      await request(t.url).delete('/v3/users/to-delete').set(appAuth(app)).expect(204);
      await request(t.url).delete('/v3/users/never-existed').set(appAuth(app)).expect(204);
      expect(await userEvents('to-delete')).toHaveLength(2);
      // Created again, it starts with no profile.
      expect((await put('to-delete', { email: 'new@example.com' }).expect(200)).body).toEqual({ identifier: 'to-delete', phoneNumber: null, email: 'new@example.com' });
    });

    it("DELETE leaves another app's user of the same identifier", async () => {
      await put('kept-elsewhere', { owner: 'B' }, other).expect(200);
      await request(t.url).delete('/v3/users/kept-elsewhere').set(appAuth(app)).expect(204);
      expect((await get('kept-elsewhere', other).expect(200)).body.owner).toBe('B');
    });
  });

  describe('isolation between apps', () => {
    it("never shows or changes another app's user of the same identifier", async () => {
      await put('shared-id', { phoneNumber: '+919988776655', owner: 'A' }).expect(200);
      await get('shared-id', other).expect(404);
      await put('shared-id', { owner: 'B' }, other).expect(200);
      expect((await get('shared-id').expect(200)).body).toEqual({ identifier: 'shared-id', phoneNumber: '+919988776655', owner: 'A' });
      expect((await get('shared-id', other).expect(200)).body).toEqual({ identifier: 'shared-id', phoneNumber: null, owner: 'B' });
    });

    it("rejects A's secret with B's key, and B's secret with A's key", async () => {
      for (const mixed of [{ apiKey: other.apiKey, apiSecret: app.apiSecret }, { apiKey: app.apiKey, apiSecret: other.apiSecret }]) {
        const res = await get('shared-id', mixed as CreatedTestApp).expect(401);
        expectErrorBody(res.body, 401);
        const write = await put('shared-id', { owner: 'intruder' }, mixed as CreatedTestApp).expect(401);
        expect(write.body.message).toMatch(/do not match any app/);
      }
      expect((await get('shared-id').expect(200)).body.owner).toBe('A');
    });
  });

  describe('concurrency', () => {
    it('applies concurrent PUTs to one new user one after the other, losing no field', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => put('racy', { [`f${i}`]: i })));
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
      const user = (await get('racy').expect(200)).body;
      for (let i = 0; i < 10; i++) expect(user[`f${i}`]).toBe(i);
      const events = await userEvents('racy');
      expect(events).toHaveLength(10);
      expect(events.filter((e) => e.data.created)).toHaveLength(1);
    });

    it('answers many PUTs to one user at once with 200, or 503 with Retry-After for one that met too much contention, never 500; sent again, each applies once', async () => {
      const count = 60;
      const body = (i: number) => ({ [`g${i}`]: i });
      let pending = Array.from({ length: count }, (_, i) => i);
      for (let round = 0; pending.length > 0; round++) {
        expect(round).toBeLessThan(20);
        const results = await Promise.all(pending.map(async (i) => ({ i, res: await put('crowded', body(i)) })));
        for (const { res } of results) {
          expect([200, 503]).toContain(res.status);
          if (res.status === 503) {
            expect(res.headers['retry-after']).toBe('1');
            expectErrorBody(res.body, 503);
            expect(res.body.message).toMatch(/Other requests were changing the same data at the same moment.*send it again/);
          }
        }
        pending = results.filter(({ res }) => res.status !== 200).map(({ i }) => i);
      }
      const user = (await get('crowded').expect(200)).body;
      for (let i = 0; i < count; i++) expect(user[`g${i}`]).toBe(i);
      expect(await userEvents('crowded')).toHaveLength(count);
    });
  });
});
