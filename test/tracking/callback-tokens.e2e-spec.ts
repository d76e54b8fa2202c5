import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { DispatchJobs, LeaseExpiry } from '../../src/whatsapp/sending';
import { buildCallbackBody } from '../../tools/simulator/callback-payloads';
import { callbackFixtureBody } from '../fixtures/gupshup';
import type { TestApp } from '../support/test-app';
import { createTestDatabase } from '../support/test-database';
import { adminAuth, catchUp, createTenant, eventually, metricValue, parkedRows, queueMessage, startTrackingApp, type TrackingTenant } from './tracking-kit';
import { captureLog } from '../support/captured-log';

const PROVIDER = '/v3/channels/whatsapp/providers/gupshup_whatsapp';
/** The Gupshup id of the v2-delivered fixture. */
const DELIVERED_GUPSHUP_ID = '1a6207e5-af37-4fc8-948a-25867d3ab077';

function tokenOf(callbackUrl: string): string {
  return new URL(callbackUrl).searchParams.get('token')!;
}

/** Path and query of a callback URL, for posting to the service under test. */
function pathOf(callbackUrl: string): string {
  const url = new URL(callbackUrl);
  return `${url.pathname}${url.search}`;
}

const barePath = (tenant: TrackingTenant) => `/api/v1/apps/${tenant.apiKey}/webhook/gupshup_whatsapp`;

function postTo(t: TestApp, path: string, body: unknown, requestId?: string) {
  const req = request(t.url).post(path).set('Content-Type', 'application/json');
  if (requestId) req.set('X-Request-Id', requestId);
  return req.send(JSON.stringify(body));
}

async function appEvents(t: TestApp, appId: string) {
  return t.db.query<{ event_type: string; data: Record<string, unknown> }>('SELECT event_type, data FROM es_events WHERE stream_id = $1 ORDER BY stream_position', [
    `app-${appId}`,
  ]);
}

/** What a user of the API sees of a message, and what the database holds for the app. */
async function observable(t: TestApp, tenant: TrackingTenant, messageId: string) {
  await catchUp(t);
  const message = (await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers).expect(200)).body;
  const [counts] = await t.db.query<{ events: number; parked: number }>(
    `SELECT (SELECT count(*)::int FROM es_events WHERE stream_id NOT LIKE 'app-%') AS events,
            (SELECT count(*)::int FROM parked_callbacks WHERE app_id = $1) AS parked`,
    [tenant.id],
  );
  return { message, counts };
}

async function enableProvider(t: TestApp, tenant: TrackingTenant) {
  return request(t.url)
    .put(PROVIDER)
    .set(tenant.headers)
    .send({ enabled: true, config: { API_KEY: 'gupshup-key-never-called-1a2b', SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } })
    .expect(200);
}

describe('callback tokens: only the callback URL with its token is a credential', () => {
  const log = captureLog();
  let t: TestApp;
  const tokensSeen = new Set<string>();

  beforeAll(async () => {
    t = await startTrackingApp({ env: { LOG_FORMAT: 'json', LOG_LEVEL: 'info', PUBLIC_BASE_URL: 'https://notify.example.com' }, logDestination: log.stream });
  });
  afterAll(() => t.close());

  const newTenant = async () => {
    const tenant = await createTenant(t);
    tokensSeen.add(tenant.callbackToken);
    return tenant;
  };

  it('answers a forged callback (the right API key, no token or a wrong one) 401 and changes nothing', async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const message = await queueMessage(t, tenant.id, { gupshupId: DELIVERED_GUPSHUP_ID });
    const before = await observable(t, tenant, message.messageId);
    const refusedBefore = await metricValue(t, 'whatsapp_callback_authentications_total', { verdict: 'refused' });

    const forgeries = [
      barePath(tenant),
      `${barePath(tenant)}?token=`,
      `${barePath(tenant)}?token=${randomBytes(32).toString('base64url')}`,
      `${barePath(tenant)}?token=${other.callbackToken}`,
      `${barePath(tenant)}?token=${tenant.callbackToken.slice(0, -1)}`,
      `${barePath(tenant)}?token=${tenant.callbackToken}&token=${tenant.callbackToken}`,
    ];
    for (const path of forgeries) {
      const res = await postTo(t, path, callbackFixtureBody('v2-delivered')).expect(401);
      expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(/token/) });
    }
    // A body that is not even JSON is refused for its URL first: nothing about it is looked at.
    await request(t.url).post(barePath(tenant)).set('Content-Type', 'application/json').send('not json').expect(401);

    expect(await observable(t, tenant, message.messageId)).toEqual(before);
    expect(before.message.status).toBe('sent');
    expect(await metricValue(t, 'whatsapp_callback_authentications_total', { verdict: 'refused' })).toBe(refusedBefore + forgeries.length + 1);
  });

  it('applies a callback on the URL with the token: 200, and the message shows it', async () => {
    const tenant = await newTenant();
    const message = await queueMessage(t, tenant.id, { gupshupId: DELIVERED_GUPSHUP_ID });
    await catchUp(t);
    const authenticatedBefore = await metricValue(t, 'whatsapp_callback_authentications_total', { verdict: 'authenticated' });

    const res = await postTo(t, `${barePath(tenant)}?token=${tenant.callbackToken}`, callbackFixtureBody('v2-delivered')).expect(200);
    expect(res.text).toBe('');
    await catchUp(t);
    const shown = (await request(t.url).get(`/v3/messages/${message.messageId}`).set(tenant.headers).expect(200)).body;
    expect(shown).toMatchObject({ status: 'delivered', providerMessageId: DELIVERED_GUPSHUP_ID });
    expect(shown.timeline).toContainEqual(expect.objectContaining({ status: 'delivered', providerStatus: 'delivered' }));
    expect(await metricValue(t, 'whatsapp_callback_authentications_total', { verdict: 'authenticated' })).toBe(authenticatedBefore + 1);
  });

  it('shows the callback URL with its token in POST /admin/apps and the provider GET and PUT, the same each time', async () => {
    const created = (await request(t.url).post('/admin/apps').set(adminAuth).send({ name: 'Shown' }).expect(201)).body;
    const tenant: TrackingTenant = {
      ...created,
      callbackToken: tokenOf(created.callbackUrl),
      headers: { 'X-ENGAGESPOT-API-KEY': created.apiKey, 'X-ENGAGESPOT-API-SECRET': created.apiSecret },
    };
    tokensSeen.add(tenant.callbackToken);
    expect(created.callbackUrl).toBe(`https://notify.example.com/api/v1/apps/${created.apiKey}/webhook/gupshup_whatsapp?token=${tenant.callbackToken}`);
    // At least 128 random bits, URL-safe: 32 bytes in base64url.
    expect(tenant.callbackToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const put = (await enableProvider(t, tenant)).body;
    const got = (await request(t.url).get(PROVIDER).set(tenant.headers).expect(200)).body;
    expect(put).toMatchObject({ callbackUrl: created.callbackUrl, acceptLegacyCallbackUrl: false });
    expect(got).toEqual(put);
    const admin = (await request(t.url).get(`/admin/apps/${tenant.id}/channels/whatsapp/providers/gupshup_whatsapp`).set(adminAuth).expect(200)).body;
    expect(admin.callbackUrl).toBe(created.callbackUrl);
    // The URL from the API is the one that works.
    await postTo(t, pathOf(got.callbackUrl), callbackFixtureBody('v2-sandbox-start')).expect(200);

    // Stored hashed and encrypted, never as is; the event names it by a fingerprint only.
    const rows = await t.db.query<Record<string, unknown>>('SELECT * FROM app_callback_tokens WHERE app_id = $1', [tenant.id]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(tenant.callbackToken);
    expect(JSON.stringify(await appEvents(t, tenant.id))).not.toContain(tenant.callbackToken);
    expect((await appEvents(t, tenant.id)).map((event) => event.event_type)).toEqual(['AppCreated', 'CallbackTokenIssued']);
  });

  it('rotates the token: the new URL works at once, the previous one keeps working within CALLBACK_TOKEN_GRACE_HOURS (24)', async () => {
    const tenant = await newTenant();
    await enableProvider(t, tenant);
    const res = await request(t.url).post(`${PROVIDER}/rotate-callback-token`).set(tenant.headers).expect(200);
    expect(Object.keys(res.body)).toEqual(['callbackUrl']);
    const rotated = tokenOf(res.body.callbackUrl);
    tokensSeen.add(rotated);
    expect(rotated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated).not.toBe(tenant.callbackToken);
    expect(res.body.callbackUrl).toBe(`https://notify.example.com/api/v1/apps/${tenant.apiKey}/webhook/gupshup_whatsapp?token=${rotated}`);

    await postTo(t, pathOf(res.body.callbackUrl), callbackFixtureBody('v2-sandbox-start')).expect(200);
    await postTo(t, `${barePath(tenant)}?token=${tenant.callbackToken}`, callbackFixtureBody('v2-sandbox-start')).expect(200);
    expect((await request(t.url).get(PROVIDER).set(tenant.headers).expect(200)).body.callbackUrl).toBe(res.body.callbackUrl);

    const events = await appEvents(t, tenant.id);
    const rotation = events.find((event) => event.event_type === 'CallbackTokenRotated')!;
    expect(rotation.data).toMatchObject({ appId: tenant.id, actor: { type: 'app', appId: tenant.id }, previousFingerprint: expect.stringMatching(/^sha256:/) });
    const validUntil = new Date(rotation.data.previousValidUntil as string).getTime() - new Date(rotation.data.at as string).getTime();
    expect(Math.abs(validUntil - 24 * 3600_000)).toBeLessThan(60_000);

    // The admin twin rotates too, and the token before it keeps working as well.
    const byAdmin = (await request(t.url).post(`/admin/apps/${tenant.id}/channels/whatsapp/providers/gupshup_whatsapp/rotate-callback-token`).set(adminAuth).expect(200)).body;
    tokensSeen.add(tokenOf(byAdmin.callbackUrl));
    for (const token of [tokenOf(byAdmin.callbackUrl), rotated, tenant.callbackToken]) {
      await postTo(t, `${barePath(tenant)}?token=${token}`, callbackFixtureBody('v2-sandbox-start')).expect(200);
    }
  });

  it('accepts the URL without token only for an app that opted in (PUT acceptLegacyCallbackUrl), and says so on GET', async () => {
    const legacy = await newTenant();
    const strict = await newTenant();
    const legacyMessage = await queueMessage(t, legacy.id, { gupshupId: DELIVERED_GUPSHUP_ID });
    await catchUp(t);

    // The field alone is a valid PUT; before any configuration it stores a disabled one.
    const put = (await request(t.url).put(PROVIDER).set(legacy.headers).send({ acceptLegacyCallbackUrl: true }).expect(200)).body;
    expect(put).toMatchObject({ enabled: false, config: {}, acceptLegacyCallbackUrl: true, callbackUrl: expect.stringContaining(`?token=${legacy.callbackToken}`) });
    expect((await request(t.url).get(PROVIDER).set(legacy.headers).expect(200)).body.acceptLegacyCallbackUrl).toBe(true);

    const legacyBefore = await metricValue(t, 'whatsapp_callback_authentications_total', { verdict: 'legacy' });
    await postTo(t, barePath(legacy), callbackFixtureBody('v2-delivered')).expect(200);
    await postTo(t, barePath(strict), callbackFixtureBody('v2-delivered')).expect(401);
    expect(await metricValue(t, 'whatsapp_callback_authentications_total', { verdict: 'legacy' })).toBe(legacyBefore + 1);
    await catchUp(t);
    expect((await request(t.url).get(`/v3/messages/${legacyMessage.messageId}`).set(legacy.headers).expect(200)).body.status).toBe('delivered');
    // A wrong token is refused even where the URL without one is accepted.
    await postTo(t, `${barePath(legacy)}?token=${strict.callbackToken}`, callbackFixtureBody('v2-sandbox-start')).expect(401);

    // Enabling with config keeps the setting; turning it off refuses the old URL again.
    expect((await enableProvider(t, legacy)).body.acceptLegacyCallbackUrl).toBe(true);
    await request(t.url).put(PROVIDER).set(legacy.headers).send({ acceptLegacyCallbackUrl: false }).expect(200);
    await postTo(t, barePath(legacy), callbackFixtureBody('v2-sandbox-start')).expect(401);
    expect((await request(t.url).get(PROVIDER).set(legacy.headers).expect(200)).body).toMatchObject({ enabled: true, acceptLegacyCallbackUrl: false });

    const changes = (await appEvents(t, legacy.id)).filter((event) => event.event_type === 'LegacyCallbackUrlSet').map((event) => event.data);
    expect(changes).toEqual([
      expect.objectContaining({ accept: true, previously: false, actor: { type: 'app', appId: legacy.id } }),
      expect.objectContaining({ accept: false, previously: true }),
    ]);
  });

  it('keeps the PUT contract: enabled is required unless acceptLegacyCallbackUrl is sent alone; bad values are 400 naming the field, and change nothing', async () => {
    const tenant = await newTenant();
    const cases: [unknown, RegExp][] = [
      [{}, /enabled is required/],
      [{ config: { SOURCE: '917834811114' } }, /enabled is required/],
      [{ config: { SOURCE: '917834811114' }, acceptLegacyCallbackUrl: true }, /enabled is required/],
      [{ acceptLegacyCallbackUrl: 'yes' }, /acceptLegacyCallbackUrl must be true or false/],
      [{ enabled: true, acceptLegacyCallbackUrl: null }, /acceptLegacyCallbackUrl must be true or false/],
    ];
    for (const [body, message] of cases) {
      const res = await request(t.url).put(PROVIDER).set(tenant.headers).send(body as object).expect(400);
      expect(res.body.message).toMatch(message);
    }
    await request(t.url).get(PROVIDER).set(tenant.headers).expect(404);
    expect((await appEvents(t, tenant.id)).map((event) => event.event_type)).toEqual(['AppCreated', 'CallbackTokenIssued']);
    // Enabling still names every missing key.
    const res = await request(t.url).put(PROVIDER).set(tenant.headers).send({ enabled: true, acceptLegacyCallbackUrl: true }).expect(400);
    expect(res.body.message).toMatch(/missing or empty: API_KEY, SOURCE, SRC_NAME/);
    expect((await appEvents(t, tenant.id)).map((event) => event.event_type)).toEqual(['AppCreated', 'CallbackTokenIssued']);
  });

  it('lets only an authenticated callback settle a message whose dispatch outcome is unknown', async () => {
    const tenant = await newTenant();
    await enableProvider(t, tenant);
    await request(t.url).put(PROVIDER).set(tenant.headers).send({ acceptLegacyCallbackUrl: true }).expect(200);
    const phoneNumber = `+9197${String(Date.now() % 1e8).padStart(8, '0')}`;
    await request(t.url).put('/v3/users/lost-answer').set(tenant.headers).send({ phoneNumber }).expect(200);
    // Scheduled an hour ahead so that only the update below "claims" it; its lease has run out.
    const sendAt = new Date(Date.now() + 3600_000).toISOString();
    const sent = await request(t.url).post('/v3/notifications').set(tenant.headers).send({ notification: { title: 'Lost' }, sendTo: { recipients: ['lost-answer'] }, sendAt }).expect(202);
    const messageId: string = sent.body.messages[0].messageId;
    const startedAt = new Date(Date.now() - 10_000);
    await t.db.query(
      `UPDATE whatsapp_dispatch_jobs SET state = 'in_flight', lease_token = gen_random_uuid(), locked_until = now() - interval '1 second', attempt_started_at = $2
        WHERE message_id = $1`,
      [messageId, startedAt],
    );
    await t.app.get(LeaseExpiry).expireAll();
    await catchUp(t);
    const jobState = async () => (await t.app.get(DispatchJobs).find(messageId))?.state;
    expect(await jobState()).toBe('outcome_unknown');

    const enqueued = (gupshupId: string) =>
      buildCallbackBody(
        'v2',
        {
          gupshupMessageId: gupshupId,
          whatsappMessageId: `wamid.${gupshupId}`,
          destination: phoneNumber.slice(1),
          appName: 'DemoAPI',
          appSource: '917834811114',
          appId: 'gupshup-app-1',
          kind: 'session',
        },
        { status: 'enqueued', occurredAtMs: startedAt.getTime() + 3000, omitGsId: false, v3FailedStyle: 'errors' },
      );
    // On the legacy URL the callback is kept, but it names no message: the dispatch stays unsettled.
    const forgedId = randomUUID();
    await postTo(t, barePath(tenant), enqueued(forgedId)).expect(200);
    await catchUp(t);
    expect(await jobState()).toBe('outcome_unknown');
    expect(await parkedRows(t, tenant.id)).toEqual([expect.objectContaining({ state: 'waiting', gupshup_message_id: forgedId })]);

    // The same report on the URL with the token settles it.
    await postTo(t, `${barePath(tenant)}?token=${tenant.callbackToken}`, enqueued(forgedId)).expect(200);
    await catchUp(t);
    expect(await jobState()).toBe('sent');
    const shown = (await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers).expect(200)).body;
    expect(shown).toMatchObject({ status: 'sent', providerMessageId: forgedId });
  });

  it('never writes a callback token to the log: access lines show token=[redacted]', async () => {
    const tenant = await newTenant();
    await postTo(t, `${barePath(tenant)}?token=${tenant.callbackToken}`, callbackFixtureBody('v2-sandbox-start'), 'tokens-log-ok').expect(200);
    await postTo(t, `${barePath(tenant)}?token=${tenant.callbackToken}x`, callbackFixtureBody('v2-sandbox-start'), 'tokens-log-refused').expect(401);
    // A URL mangled on its way to Gupshup's console (its `=` encoded, brackets added) is refused, and its token never logged either.
    await postTo(t, `${barePath(tenant)}?token%3D${tenant.callbackToken}`, callbackFixtureBody('v2-sandbox-start'), 'tokens-log-encoded').expect(401);
    await postTo(t, `${barePath(tenant)}?token[]=${tenant.callbackToken}`, callbackFixtureBody('v2-sandbox-start'), 'tokens-log-brackets').expect(401);
    // An HTML-escaped link pasted as is (`&amp;`: the parameter's name is `amp;token`), in any case.
    await postTo(t, `${barePath(tenant)}?a=1&amp;token=${tenant.callbackToken}`, callbackFixtureBody('v2-sandbox-start'), 'tokens-log-html').expect(401);
    await postTo(t, `${barePath(tenant)}?a=1&amp;TOKEN=${tenant.callbackToken}`, callbackFixtureBody('v2-sandbox-start'), 'tokens-log-html-upper').expect(401);
    for (const [requestId, query] of [
      ['tokens-log-ok', '?token=[redacted]'],
      ['tokens-log-refused', '?token=[redacted]'],
      ['tokens-log-encoded', '?token=[redacted]'],
      ['tokens-log-brackets', '?token[]=[redacted]'],
      ['tokens-log-html', '?a=[redacted]&amp;token=[redacted]'],
      ['tokens-log-html-upper', '?a=[redacted]&amp;TOKEN=[redacted]'],
    ]) {
      const access = await eventually(() => log.lines().find((line) => line.context === 'HTTP' && line.requestId === requestId), `the access line of ${requestId}`);
      expect(access.url).toBe(`${barePath(tenant)}${query}`);
    }
    // The `?` itself percent-encoded, once or twice: the token is in the path, which no route has.
    for (const [requestId, encoded, logged] of [
      ['tokens-log-path', `%3Ftoken%3D${tenant.callbackToken}`, '%3Ftoken=[redacted]'],
      ['tokens-log-path-twice', `%253Ftoken%253D${tenant.callbackToken}`, '%253Ftoken=[redacted]'],
    ]) {
      const res = await postTo(t, `${barePath(tenant)}${encoded}`, callbackFixtureBody('v2-sandbox-start'), requestId).expect(404);
      // The answer names the path without its secret, and says what to fix.
      expect(res.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: `Cannot POST ${barePath(tenant)}${logged}: the "?" that starts the query is percent-encoded (%3F), so the query was read as part of the path; send it as a plain "?"`,
      });
      const access = await eventually(() => log.lines().find((line) => line.context === 'HTTP' && line.requestId === requestId), `the access line of ${requestId}`);
      expect(access.url).toBe(`${barePath(tenant)}${logged}`);
    }
    const output = log.text();
    expect(tokensSeen.size).toBeGreaterThan(5);
    for (const token of tokensSeen) expect(output).not.toContain(token);
    expect(log.lines().length).toBeGreaterThan(20);
  });
});

describe('callback tokens: grace period and apps created before tokens', () => {
  it('refuses the previous token once a (tiny) CALLBACK_TOKEN_GRACE_HOURS has passed; the new one keeps working', async () => {
    // 0.0002 h = 0.72 s.
    const t = await startTrackingApp({ env: { CALLBACK_TOKEN_GRACE_HOURS: '0.0002' } });
    try {
      const tenant = await createTenant(t);
      const rotated = (await request(t.url).post(`${PROVIDER}/rotate-callback-token`).set(tenant.headers).expect(200)).body.callbackUrl;
      const old = `${barePath(tenant)}?token=${tenant.callbackToken}`;
      await eventually(async () => ((await postTo(t, old, callbackFixtureBody('v2-sandbox-start'))).status === 401 ? true : undefined), 'the previous token to be refused');
      await postTo(t, old, callbackFixtureBody('v2-sandbox-start')).expect(401);
      await postTo(t, pathOf(rotated), callbackFixtureBody('v2-sandbox-start')).expect(200);
    } finally {
      await t.close();
    }
  });

  it('gives an app without a token (created before tokens) one when the service starts, and its callback URL shows it', async () => {
    const database = await createTestDatabase();
    const first = await startTrackingApp({ database });
    const tenant = await createTenant(first);
    await enableProvider(first, tenant);
    // As the app was before tokens existed.
    await first.db.query('DELETE FROM app_callback_tokens WHERE app_id = $1', [tenant.id]);
    await first.close();

    const t = await startTrackingApp({ database });
    try {
      const [row] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM app_callback_tokens WHERE app_id = $1 AND retired_at IS NULL', [tenant.id]);
      expect(row.n).toBe(1);
      const issued = (await appEvents(t, tenant.id)).filter((event) => event.event_type === 'CallbackTokenIssued').map((event) => event.data);
      expect(issued).toEqual([expect.objectContaining({ reason: 'app_created' }), expect.objectContaining({ reason: 'backfill', actor: { type: 'system' } })]);
      const view = (await request(t.url).get(PROVIDER).set(tenant.headers).expect(200)).body;
      const token = tokenOf(view.callbackUrl);
      expect(token).not.toBe(tenant.callbackToken);
      await postTo(t, pathOf(view.callbackUrl), callbackFixtureBody('v2-sandbox-start')).expect(200);
      // The old URL without token is refused unless the app opts in.
      await postTo(t, barePath(tenant), callbackFixtureBody('v2-sandbox-start')).expect(401);
    } finally {
      await t.close();
      await database.drop();
    }
  });
});
