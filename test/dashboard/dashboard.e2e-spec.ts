/// <reference lib="dom" />
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { createGupshupSimulator, type GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { eventually } from '../support/eventually';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../support/test-app';
import { FAST_DISPATCH_ENV, GUPSHUP_SOURCE, GUPSHUP_SRC_NAME } from '../sending/sending-test-kit';
import { launchBrowser, newContext, screenshot, signInAsAdmin, signInAsApp } from './browser-kit';

interface Tenant {
  id: string;
  name: string;
  apiKey: string;
  apiSecret: string;
  headers: Record<string, string>;
  callbackPath: string;
}

/** The simulator decides by the last digit: 1 read, 6 delivered, 8 sent only, 9 failed (1002). */
const USERS = [
  { id: 'asha', phone: '+919900000011', expected: 'seen' },
  { id: 'bilal', phone: '+919900000016', expected: 'delivered' },
  { id: 'chen', phone: '+919900000018', expected: 'sent' },
  { id: 'dora', phone: '+919900000019', expected: 'discarded' },
];

/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) against the whole
 * service, with Gupshup played by the simulator: sign-in, every page, the message filters, a
 * timeline, a live update, and isolation between apps.
 */
describe('dashboard in a browser', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let browser: Browser;
  let acme: Tenant;
  let globex: Tenant;
  const messageIds = new Map<string, string>();
  let requestId: string;

  async function createTenant(name: string, callbacks: boolean): Promise<Tenant> {
    const created = await request(t.url).post('/admin/apps').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ name }).expect(201);
    const { id, apiKey, apiSecret, callbackUrl } = created.body as { id: string; apiKey: string; apiSecret: string; callbackUrl: string };
    const callbackPath = `${new URL(callbackUrl).pathname}${new URL(callbackUrl).search}`;
    const headers = { 'X-ENGAGESPOT-API-KEY': apiKey, 'X-ENGAGESPOT-API-SECRET': apiSecret };
    const gupshupKey = `gs-dashboard-${id.slice(0, 8)}-9f3c`;
    // Without a callback URL the simulator posts nothing: the test posts its callbacks when it chooses.
    simulator.registerApp(gupshupKey, { source: GUPSHUP_SOURCE, srcName: GUPSHUP_SRC_NAME, ...(callbacks ? { callbackUrl: `${t.url}${callbackPath}` } : {}) });
    await request(t.url)
      .put('/v3/channels/whatsapp/providers/gupshup_whatsapp')
      .set(headers)
      .send({ enabled: true, config: { API_KEY: gupshupKey, SOURCE: GUPSHUP_SOURCE, SRC_NAME: GUPSHUP_SRC_NAME } })
      .expect(200);
    return { id, name, apiKey, apiSecret, headers, callbackPath };
  }

  async function statusOf(tenant: Tenant, messageId: string): Promise<string | undefined> {
    const res = await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers);
    return res.status === 200 ? (res.body.status as string) : undefined;
  }

  beforeAll(async () => {
    simulator = createGupshupSimulator({ callbackRetries: 0, callbackTimeoutMs: 60_000 });
    await simulator.listen();
    // First: it builds the dashboard in a checkout that has not built it, and the service reads the build when it starts.
    browser = await launchBrowser();
    t = await startTestApp({ env: { ...FAST_DISPATCH_ENV, GUPSHUP_API_BASE_URL: simulator.baseUrl!, WEBHOOK_OUT_ALLOW_PRIVATE: 'true' } });
    acme = await createTenant('Acme', true);
    globex = await createTenant('Globex', false);

    for (const user of USERS) {
      await request(t.url).put(`/v3/users/${user.id}`).set(acme.headers).send({ phoneNumber: user.phone, name: `<b>${user.id}</b>` }).expect(200);
    }
    const sent = await request(t.url)
      .post('/v3/notifications')
      .set(acme.headers)
      .send({ notification: { title: 'Order shipped', message: 'Track it' }, category: 'order-updates', sendTo: { recipients: USERS.map((user) => user.id) } })
      .expect(202);
    requestId = sent.body.requestId;
    for (const message of sent.body.messages as { recipient: string; messageId: string }[]) messageIds.set(message.recipient, message.messageId);
    for (const user of USERS) {
      await eventually(async () => ((await statusOf(acme, messageIds.get(user.id)!)) === user.expected ? true : undefined), `${user.id} to be ${user.expected}`);
    }
    // Every callback posted, and those of the seen message in its timeline.
    await simulator.waitForIdle();
    const posted = simulator.messages().find((message) => message.destination === '919900000011')!.callbacks.map((callback) => callback.event);
    await eventually(async () => {
      const res = await request(t.url).get(`/v3/messages/${messageIds.get('asha')}`).set(acme.headers);
      const shown = new Set((res.body.timeline as { providerStatus?: string }[]).map((entry) => entry.providerStatus));
      return posted.every((event) => shown.has(event)) ? true : undefined;
    }, 'the seen message to have every callback in its timeline');
  });
  afterAll(async () => {
    await browser?.close();
    await simulator?.close();
    await t?.close();
  });

  async function appPage(tenant: Tenant): Promise<{ context: BrowserContext; page: Page }> {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signInAsApp(page, t.url, tenant);
    return { context, page };
  }

  it('signs in with the API key and secret into an HttpOnly, SameSite=Strict session, keeping nothing in browser storage', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${t.url}/dashboard`);
    await page.getByLabel('API key').fill(acme.apiKey);
    await page.getByLabel('API secret').fill('wrong-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong API key or API secret' }).waitFor();
    await screenshot(page, 'sign-in');

    await page.getByLabel('API secret').fill(acme.apiSecret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'wa_dashboard_session', httpOnly: true, sameSite: 'Strict', path: '/dashboard' });
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, '']);
    for (const name of ['Overview', 'Messages', 'Templates', 'Suppressions', 'Webhooks', 'Settings']) {
      expect(await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name, exact: true }).count()).toBe(1);
    }
    expect(await page.getByRole('link', { name: 'Parked callbacks' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    const res = await request(t.url).get('/dashboard/api/session').set('Cookie', `${cookie.name}=${cookie.value}`);
    expect(res.status).toBe(401);
    await context.close();
  });

  it('Overview: the funnel, discard reasons, a chart per day, and figures per category', async () => {
    const { context, page } = await appPage(acme);
    const funnel = page.getByRole('region', { name: /Funnel/ });
    // Four sent (the failed one too: Gupshup accepted it), two delivered (the seen one included), one seen.
    await funnel.getByText('4 (100.0 % of sent)').waitFor();
    await funnel.getByText('2 (50.0 % of sent)').waitFor();
    await funnel.getByText('1 (25.0 % of sent)').waitFor();
    const discards = page.getByRole('region', { name: 'Discard reasons' });
    await discards.getByRole('cell', { name: 'Number Does Not Exist On WhatsApp' }).waitFor();
    expect(await discards.getByRole('link', { name: '1002' }).count()).toBe(1);
    await page.getByRole('region', { name: 'Per category' }).getByRole('cell', { name: 'order-updates' }).waitFor();
    await page.getByRole('region', { name: 'Per day' }).locator('canvas').first().waitFor();
    await screenshot(page, 'overview');

    // Another period: nothing in it.
    await page.getByLabel('From', { exact: true }).fill('2020-01-01');
    await page.getByLabel('To', { exact: true }).fill('2020-01-31');
    await page.getByRole('button', { name: 'Show period' }).click();
    await page.getByText('Nothing was discarded in this period.').waitFor();
    await context.close();
  });

  it('Messages: the table, filtered by status, phone number, request id, discard code, category and dates, with the user text shown as text', async () => {
    const { context, page } = await appPage(acme);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Messages' }).click();
    const table = page.getByRole('table', { name: 'Messages, newest first' });
    for (const header of ['Recipient', 'Phone number', 'Status', 'Reason']) await table.getByRole('columnheader', { name: header }).waitFor();
    await eventually(async () => ((await table.locator('tbody tr').count()) === USERS.length ? true : undefined), 'every message in the table');
    await screenshot(page, 'messages');

    const rows = () => table.locator('tbody tr');
    const filter = async (fill: (page: Page) => Promise<void>, expected: number) => {
      await page.getByRole('link', { name: 'Clear filters' }).click();
      // The page shows every message again, its form empty, before the next filter is filled in.
      await eventually(async () => {
        const values = await page.locator('form.filters input, form.filters select').evaluateAll((fields) => fields.map((field) => (field as HTMLInputElement).value));
        const settled = (await page.locator('[aria-busy="true"], .loading').count()) === 0;
        return settled && values.every((value) => value === '') && (await rows().count()) === USERS.length ? true : undefined;
      }, 'every message, no filter');
      await fill(page);
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await eventually(async () => {
        const settled = (await page.locator('[aria-busy="true"], .loading').count()) === 0;
        return settled && (await rows().count()) === expected ? true : undefined;
      }, `${expected} rows`);
    };
    await filter((p) => p.getByLabel('Status').selectOption('discarded'), 1);
    expect(await rows().first().getByRole('cell').nth(4).textContent()).toBe('1002: Number Does Not Exist On WhatsApp');
    await filter((p) => p.getByLabel('Phone number').fill('+919900000016'), 1);
    expect(await rows().first().getByRole('cell').nth(1).textContent()).toBe('bilal');
    await filter((p) => p.getByLabel('Discard code').fill('1002'), 1);
    await filter((p) => p.getByLabel('Request id').fill(requestId), USERS.length);
    await filter((p) => p.getByLabel('Category').fill('order-updates'), USERS.length);
    await filter((p) => p.getByLabel('Category').fill('no-such-category'), 0);
    await page.getByText('No messages match.').waitFor();
    await filter((p) => p.getByLabel('To', { exact: true }).fill('2020-01-01'), 0);
    // The UTC day they were queued on (not today's: a run may cross midnight).
    const queuedDay = (await request(t.url).get(`/v3/messages/${messageIds.get('asha')}`).set(acme.headers).expect(200)).body.queuedAt.slice(0, 10);
    await filter((p) => p.getByLabel('From', { exact: true }).fill(queuedDay), USERS.length);
    await filter((p) => p.getByLabel('Template').fill('no-such-template'), 0);
    await context.close();
  });

  it("a message's page shows its timeline, one entry per event, with the status words", async () => {
    const { context, page } = await appPage(acme);
    await page.goto(`${t.url}/dashboard#/messages?phoneNumber=${encodeURIComponent('+919900000011')}`);
    await page.getByRole('link', { name: /Timeline of the message to asha/ }).click();
    const timeline = page.getByRole('list', { name: 'Timeline' });
    await timeline.waitFor();
    const api = (await request(t.url).get(`/v3/messages/${messageIds.get('asha')}`).set(acme.headers).expect(200)).body as { timeline: { status: string }[] };
    expect(await timeline.getByRole('listitem').count()).toBe(api.timeline.length);
    const words = await timeline.locator('.badge').allTextContents();
    expect(words).toEqual(api.timeline.map((entry) => entry.status));
    expect(new Set(words)).toEqual(new Set(['queued', 'sent', 'delivered', 'seen']));
    await page.getByText('Gupshup: read').waitFor();
    await screenshot(page, 'message');
    await context.close();
  });

  it('a page load straight into Messages: signed out, the sign-in and then the rows; signed in, the rows read once', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const firstPageReads: string[] = [];
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.pathname === '/dashboard/api/v3/messages' && !url.searchParams.has('cursor')) firstPageReads.push(url.search);
    });
    const table = page.getByRole('table', { name: 'Messages, newest first' });
    const recipients = () => table.locator('tbody tr td:nth-child(2)').allTextContents();

    // The first rows are asked for with the session, before the sign-in: that 401 is not shown.
    await page.goto(`${t.url}/dashboard#/messages?status=seen`);
    await page.getByLabel('API key').fill(acme.apiKey);
    await page.getByLabel('API secret').fill(acme.apiSecret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await eventually(async () => ((await recipients()).join() === 'asha' ? true : undefined), 'the seen message after signing in');
    expect(await page.getByRole('alert').count()).toBe(0);

    // A new document, signed in: the rows of its filter, asked for once.
    await page.goto('about:blank');
    firstPageReads.length = 0;
    await page.goto(`${t.url}/dashboard#/messages?status=delivered`);
    await eventually(async () => ((await recipients()).join() === 'bilal' ? true : undefined), 'the delivered message on a new page load');
    expect(await page.getByLabel('Status').inputValue()).toBe('delivered');
    expect(firstPageReads).toEqual(['?status=delivered&limit=50']);
    await context.close();
  });

  it("updates the Messages page live as a message's status changes, without reloading it", async () => {
    const { context, page } = await appPage(globex);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Messages' }).click();
    await page.getByText('No messages match.').waitFor();
    await page.getByRole('status').filter({ hasText: 'Live: statuses update as they change' }).waitFor();
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    await request(t.url).put('/v3/users/erin').set(globex.headers).send({ phoneNumber: '+919900000041' }).expect(200);
    const sent = await request(t.url).post('/v3/notifications').set(globex.headers).send({ notification: { title: 'Hello' }, sendTo: { recipients: ['erin'] } }).expect(202);
    const messageId = sent.body.messages[0].messageId as string;
    const row = page.locator(`tr[data-message-id="${messageId}"]`);
    await row.getByText('sent', { exact: true }).waitFor();

    // Gupshup's callbacks for it, in their real shape, posted now: the row changes where it is.
    const [simulated] = await simulator.waitForMessages(1);
    const forErin = simulator.messages().find((message) => message.destination === '919900000041')!;
    expect(forErin ?? simulated).toBeDefined();
    for (const callback of forErin.callbacks) {
      await request(t.url).post(globex.callbackPath).set('Content-Type', 'application/json').send(JSON.stringify(callback.body)).expect(200);
    }
    await row.getByText('seen', { exact: true }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await screenshot(page, 'messages-live');
    await context.close();
  });

  it('Messages: a phone number typed without its + shows the live rows to it as well as the listed ones', async () => {
    const tenant = await createTenant('Phone filter', false);
    const digits = '919900000046';
    await request(t.url).put('/v3/users/farah').set(tenant.headers).send({ phoneNumber: `+${digits}` }).expect(200);
    await request(t.url).put('/v3/users/gita').set(tenant.headers).send({ phoneNumber: '+919900000048' }).expect(200);
    const send = async (recipient: string) =>
      (await request(t.url).post('/v3/notifications').set(tenant.headers).send({ notification: { title: 'Hello' }, sendTo: { recipients: [recipient] } }).expect(202))
        .body.messages[0].messageId as string;
    const listedId = await send('farah');

    const { context, page } = await appPage(tenant);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Messages' }).click();
    await page.getByLabel('Phone number').fill(digits);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    // The list, from GET /v3/messages, reads the digits as the E.164 number.
    const rows = page.getByRole('table', { name: 'Messages, newest first' }).locator('tbody tr');
    await page.locator(`tr[data-message-id="${listedId}"]`).waitFor();
    await page.getByRole('status').filter({ hasText: 'Live: statuses update as they change' }).waitFor();

    // Sent while the page is open: the one to the number shows up live, the other does not.
    const otherId = await send('gita');
    const liveId = await send('farah');
    const liveRow = page.locator(`tr[data-message-id="${liveId}"]`);
    await liveRow.getByText('sent', { exact: true }).waitFor();
    await liveRow.getByRole('cell', { name: `+${digits}`, exact: true }).waitFor();
    await eventually(async () => ((await statusOf(tenant, otherId)) === 'sent' ? true : undefined), 'the message to the other number to be sent');
    expect(await page.locator(`tr[data-message-id="${otherId}"]`).count()).toBe(0);
    expect(await rows.evaluateAll((shown) => shown.map((row) => row.getAttribute('data-message-id')))).toEqual([liveId, listedId]);
    expect(await page.getByLabel('Phone number').inputValue()).toBe(digits);
    await screenshot(page, 'messages-live-phone-digits');
    await context.close();
  });

  it('Messages: "More" adds the next page below the first, no row twice, until the last page', async () => {
    const paged = await createTenant('Paged', false);
    // Users without a phone number: their messages are discarded at once, nothing goes to Gupshup.
    const recipients = Array.from({ length: 57 }, (_, index) => `no-phone-${index}`);
    for (const id of recipients) await request(t.url).put(`/v3/users/${id}`).set(paged.headers).send({}).expect(200);
    await request(t.url).post('/v3/notifications').set(paged.headers).send({ notification: { title: 'Hi' }, sendTo: { recipients } }).expect(202);
    await eventually(async () => {
      const res = await request(t.url).get('/v3/messages?status=discarded&limit=100').set(paged.headers).expect(200);
      return res.body.data.length === recipients.length ? true : undefined;
    }, 'every message to be discarded');

    const { context, page } = await appPage(paged);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Messages' }).click();
    const rows = page.getByRole('table', { name: 'Messages, newest first' }).locator('tbody tr');
    await eventually(async () => ((await rows.count()) === 50 ? true : undefined), 'the first page');
    const firstPage = await rows.evaluateAll((shown) => shown.map((row) => row.getAttribute('data-message-id')));
    await page.getByRole('button', { name: 'More messages' }).click();
    await eventually(async () => ((await rows.count()) === recipients.length ? true : undefined), 'the second page below the first');
    const shown = await rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-message-id')));
    expect(shown.slice(0, 50)).toEqual(firstPage);
    expect(new Set(shown).size).toBe(recipients.length);
    const listed = (await request(t.url).get('/v3/messages?limit=100').set(paged.headers).expect(200)).body.data.map((message: { messageId: string }) => message.messageId);
    expect(shown).toEqual(listed);
    // The last page: no more to add.
    expect(await page.getByRole('button', { name: 'More messages' }).count()).toBe(0);
    await context.close();
  });

  it("isolates apps: one app's session never sees another app's messages", async () => {
    const { context, page } = await appPage(globex);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Messages' }).click();
    // The overview's tables may still be on screen while the link is followed: wait for this page's rows.
    const rows = page.getByRole('table', { name: 'Messages, newest first' }).locator('tbody tr[data-message-id]');
    await rows.first().waitFor();
    const shown = await rows.evaluateAll((found) => found.map((row) => row.getAttribute('data-message-id')));
    expect(shown.length).toBeGreaterThan(0);
    for (const id of messageIds.values()) expect(shown).not.toContain(id);

    // Nor by its id, through the page or the dashboard API.
    await page.goto(`${t.url}/dashboard#/message/${messageIds.get('asha')}`);
    await page.getByRole('alert').filter({ hasText: 'No message' }).waitFor();
    const [cookie] = await context.cookies();
    const asGlobex = (path: string) => request(t.url).get(path).set('Cookie', `${cookie.name}=${cookie.value}`);
    expect((await asGlobex(`/dashboard/api/v3/messages/${messageIds.get('asha')}`)).status).toBe(404);
    expect((await asGlobex(`/dashboard/api/v3/messages?requestId=${requestId}`)).body.data).toEqual([]);
    expect((await asGlobex('/dashboard/api/admin/apps')).status).toBe(403);
    const choose = await request(t.url)
      .put('/dashboard/api/session/app')
      .set({ Cookie: `${cookie.name}=${cookie.value}`, 'X-Dashboard-Request': '1' })
      .send({ appId: acme.id });
    expect(choose.status).toBe(403);
    await context.close();
  });

  it('Templates: registers one, lists it with its status, deletes it', async () => {
    const { context, page } = await appPage(acme);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Templates' }).click();
    await page.getByText('No templates registered yet.').waitFor();
    await page.getByLabel('Identifier').fill('order_shipped');
    await page.getByLabel('Gupshup template id').fill('c6aecef6-bcb0-4fb1-8100-28c094e3bc6b');
    await page.getByLabel('Parameters').fill('{{recipient.firstName}}\n{{data.orderId}}');
    await page.getByRole('button', { name: 'Save template' }).click();
    const row = page.locator('tbody tr').filter({ has: page.getByRole('cell', { name: 'order_shipped', exact: true }) });
    await row.getByText('unknown', { exact: true }).waitFor();
    await row.getByRole('cell', { name: '{{recipient.firstName}}, {{data.orderId}}' }).waitFor();
    await screenshot(page, 'templates');
    await row.getByRole('button', { name: 'Delete template order_shipped' }).click();
    await page.getByText('No templates registered yet.').waitFor();
    await context.close();
  });

  it('Suppressions: suppresses a number by hand, finds it, lifts it', async () => {
    const { context, page } = await appPage(acme);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Suppressions' }).click();
    await page.getByRole('heading', { name: 'Suppressions', level: 1 }).waitFor();
    await page.getByLabel('Phone number to suppress').fill('+919900000077');
    await page.getByLabel('Note').fill('asked by email <b>not</b> to write');
    await page.getByRole('button', { name: 'Suppress', exact: true }).click();
    const row = page.locator('tbody tr').filter({ has: page.getByRole('cell', { name: '+919900000077' }) });
    await row.getByRole('cell', { name: 'manual', exact: true }).waitFor();
    await row.getByRole('cell', { name: 'asked by email <b>not</b> to write' }).waitFor();
    await page.getByLabel('Phone number', { exact: true }).fill('+919900000077');
    await page.getByRole('button', { name: 'Find' }).click();
    await eventually(async () => ((await page.locator('tbody tr').count()) === 1 ? true : undefined), 'only the suppression asked for');
    await screenshot(page, 'suppressions');
    await row.getByRole('button', { name: 'Lift the suppression of +919900000077' }).click();
    await page.getByText('No suppressed numbers.').waitFor();
    await context.close();
  });

  it('Webhooks: adds an endpoint, lists its deliveries with their attempts, and retries one', async () => {
    const { context, page } = await appPage(acme);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByText('No endpoints yet.').waitFor();
    // Nobody listens there: every attempt fails, which is what the page has to show.
    await page.getByLabel('Endpoint URL').fill('http://127.0.0.1:9/status');
    await page.getByLabel('Description').fill('CRM <script>alert(1)</script>');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('status').filter({ hasText: 'whsec_' }).waitFor();
    await page.getByRole('cell', { name: 'CRM <script>alert(1)</script>' }).waitFor();
    await page.getByRole('link', { name: 'Deliveries to http://127.0.0.1:9/status' }).click();
    await page.getByRole('button', { name: 'Send a test event' }).click();
    const delivery = page.getByRole('region', { name: /Deliveries to/ }).locator('tbody tr').first();
    await eventually(async () => {
      await page.getByRole('button', { name: 'Refresh deliveries' }).click();
      return (await delivery.getByText(/[1-9]\d* attempts?/).count()) > 0 ? true : undefined;
    }, 'an attempt of the test delivery');
    await delivery.getByText(/attempts?/).click();
    await delivery.getByText(/no answer/).first().waitFor();
    await delivery.getByRole('button', { name: /Retry/ }).click();
    await page.getByText('Delivery queued again.').waitFor();
    await screenshot(page, 'webhooks');
    await context.close();
  });

  it('Webhooks: an endpoint disabled and enabled, its secret rotated, its status changes replayed, and the endpoint deleted', async () => {
    const hooks = await createTenant('Hooks', true);
    await request(t.url).put('/v3/users/eve').set(hooks.headers).send({ phoneNumber: '+919900000026' }).expect(200);
    const sent = await request(t.url)
      .post('/v3/notifications')
      .set(hooks.headers)
      .send({ notification: { title: 'Hi', message: 'Replayed later' }, sendTo: { recipients: ['eve'] } })
      .expect(202);
    const messageId = sent.body.messages[0].messageId as string;
    await eventually(async () => ((await statusOf(hooks, messageId)) === 'delivered' ? true : undefined), 'the message to be delivered');
    // Added after the message's status changes: nothing is delivered to it until the replay.
    const url = 'http://127.0.0.1:9/replayed';
    const created = await request(t.url).post('/v3/webhooks').set(hooks.headers).send({ url }).expect(201);
    const endpointPath = `/v3/webhooks/${created.body.id}`;

    const { context, page } = await appPage(hooks);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('link', { name: `Deliveries to ${url}` }).click();
    const settings = page.getByRole('region', { name: `Endpoint ${url}` });
    await settings.getByRole('button', { name: 'Disable endpoint' }).click();
    await settings.getByRole('status').filter({ hasText: 'Endpoint disabled' }).waitFor();
    await settings.getByRole('button', { name: 'Enable endpoint' }).waitFor();
    expect((await request(t.url).get(endpointPath).set(hooks.headers).expect(200)).body.enabled).toBe(false);
    await settings.getByRole('button', { name: 'Enable endpoint' }).click();
    await settings.getByRole('status').filter({ hasText: 'Endpoint enabled' }).waitFor();
    expect((await request(t.url).get(endpointPath).set(hooks.headers).expect(200)).body.enabled).toBe(true);

    await settings.getByRole('button', { name: 'Rotate signing secret' }).click();
    const rotated = settings.getByRole('status').filter({ hasText: 'Signing secret rotated' });
    await rotated.waitFor();
    const newSecret = (await rotated.locator('code').textContent()) ?? '';
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(created.body.secret);
    const afterRotation = (await request(t.url).get(endpointPath).set(hooks.headers).expect(200)).body;
    expect(afterRotation.previousSecretExpiresAt).toEqual(expect.any(String));
    await rotated.getByText(/The previous one keeps signing beside it until/).waitFor();
    const signsUntil = settings.locator('dt:text-is("Previous secret signs until") + dd');
    await eventually(async () => ((await signsUntil.textContent())?.includes(String(new Date(afterRotation.previousSecretExpiresAt).getUTCFullYear())) ? true : undefined), 'the previous secret\'s expiry on the page');

    expect((await request(t.url).get(`${endpointPath}/deliveries`).set(hooks.headers).expect(200)).body.data).toEqual([]);
    // The browser reads the field in UTC (browser-kit's context): an hour ago, to the second.
    await settings.getByLabel('Replay status changes since').fill(new Date(Date.now() - 3_600_000).toISOString().slice(0, 19));
    await settings.getByRole('button', { name: 'Replay' }).click();
    const replayed = settings.getByRole('status').filter({ hasText: /queued again for this endpoint/ });
    await replayed.waitFor();
    const queued = Number(/^(\d+) status change/.exec((await replayed.textContent()) ?? '')?.[1]);
    expect(queued).toBeGreaterThanOrEqual(3); // queued, sent, delivered
    const deliveries = (await request(t.url).get(`${endpointPath}/deliveries`).set(hooks.headers).expect(200)).body.data as { messageId: string; type: string }[];
    expect(deliveries).toHaveLength(queued);
    expect(deliveries.map((delivery) => delivery.messageId)).toEqual(Array(queued).fill(messageId));
    expect(deliveries.map((delivery) => delivery.type)).toEqual(expect.arrayContaining(['message.queued', 'message.sent', 'message.delivered']));
    // The page lists them too, without a refresh.
    await eventually(
      async () => ((await page.getByRole('region', { name: `Deliveries to ${url}` }).locator('tbody tr').count()) === queued ? true : undefined),
      'the replayed deliveries listed on the page',
    );
    await screenshot(page, 'webhook-endpoint');

    await settings.getByRole('button', { name: 'Delete endpoint' }).click();
    await settings.getByRole('button', { name: 'Keep it' }).click();
    await request(t.url).get(endpointPath).set(hooks.headers).expect(200);
    await settings.getByRole('button', { name: 'Delete endpoint' }).click();
    await settings.getByRole('button', { name: `Yes, delete ${url}` }).click();
    await page.getByText('No endpoints yet.').waitFor();
    await request(t.url).get(endpointPath).set(hooks.headers).expect(404);
    await context.close();
  });

  it('Settings: the provider with its key masked, the callback URL, and token rotation', async () => {
    const { context, page } = await appPage(acme);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByText('****9f3c', { exact: true }).waitFor();
    expect(await page.content()).not.toContain(`gs-dashboard-${acme.id.slice(0, 8)}-9f3c`);
    const callbackUrl = page.getByRole('textbox', { name: /^Callback URL/ });
    const before = await callbackUrl.inputValue();
    expect(before).toContain(`/api/v1/apps/${acme.apiKey}/webhook/gupshup_whatsapp?token=`);
    await page.getByRole('button', { name: 'Rotate callback token' }).click();
    await page.getByText(/Callback token rotated/).waitFor();
    expect(await callbackUrl.inputValue()).not.toBe(before);
    await screenshot(page, 'settings');
    await context.close();
  });

  it('Settings: callbacks without the token and the 24-hour session window, shown and switched on and off', async () => {
    const shop = await createTenant('Toggles', false);
    const providerPath = '/v3/channels/whatsapp/providers/gupshup_whatsapp';
    const { context, page } = await appPage(shop);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Settings' }).click();
    const facts = page.getByRole('region', { name: 'Provider: gupshup_whatsapp' });
    const fact = (term: string) => facts.locator(`dt:text-is("${term}") + dd`);
    await fact('Callbacks without the token').getByText('refused', { exact: true }).waitFor();
    await fact('24-hour session window').getByText('not enforced', { exact: true }).waitFor();

    const legacy = page.getByRole('checkbox', { name: /Accept callbacks on the old callback URL/ });
    const sessionWindow = page.getByRole('checkbox', { name: /only to numbers that wrote in the last 24 hours/ });
    expect(await legacy.isChecked()).toBe(false);
    expect(await sessionWindow.isChecked()).toBe(false);
    await legacy.check();
    await sessionWindow.check();
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByRole('status').filter({ hasText: 'Provider saved.' }).waitFor();
    await fact('Callbacks without the token').getByText(/^accepted/).waitFor();
    await fact('24-hour session window').getByText(/^enforced/).waitFor();
    const saved = (await request(t.url).get(providerPath).set(shop.headers).expect(200)).body;
    expect(saved).toMatchObject({ acceptLegacyCallbackUrl: true, enforceSessionWindow: true, enabled: true, config: { SOURCE: GUPSHUP_SOURCE, SRC_NAME: GUPSHUP_SRC_NAME } });
    await screenshot(page, 'settings-toggles');

    await legacy.uncheck();
    await sessionWindow.uncheck();
    await page.getByRole('button', { name: 'Save provider' }).click();
    await fact('Callbacks without the token').getByText('refused', { exact: true }).waitFor();
    await fact('24-hour session window').getByText('not enforced', { exact: true }).waitFor();
    expect((await request(t.url).get(providerPath).set(shop.headers).expect(200)).body).toMatchObject({ acceptLegacyCallbackUrl: false, enforceSessionWindow: false });
    // The stored Gupshup key was left as it was (the key field was empty).
    expect((await request(t.url).get(providerPath).set(shop.headers).expect(200)).body.config.API_KEY).toMatch(/9f3c$/);
    await context.close();
  });

  it("Settings: shows the app's dispatch paused by Gupshup's 1003, and resuming there sends the message held meanwhile", async () => {
    const shop = await createTenant('Wallet empty', true);
    // Gupshup fails the first message with 1003 (wallet balance low): an account-level failure, which pauses the app.
    const walletEmpty = '919900000051';
    const held = { id: 'held', digits: '919900000058' }; // 8: sent only, so the message stays at sent once it goes out
    simulator.setFate(walletEmpty, { final: 'failed', code: 1003 });
    try {
      await request(t.url).put('/v3/users/wallet').set(shop.headers).send({ phoneNumber: `+${walletEmpty}` }).expect(200);
      await request(t.url).put(`/v3/users/${held.id}`).set(shop.headers).send({ phoneNumber: `+${held.digits}` }).expect(200);
      const send = async (recipient: string) =>
        (await request(t.url).post('/v3/notifications').set(shop.headers).send({ notification: { title: 'Your order shipped' }, sendTo: { recipients: [recipient] } }).expect(202))
          .body.messages[0].messageId as string;
      await send('wallet');
      await eventually(async () => {
        const provider = await request(t.url).get('/v3/channels/whatsapp/providers/gupshup_whatsapp').set(shop.headers).expect(200);
        return provider.body.paused ? true : undefined;
      }, 'the app to be paused');
      const heldId = await send(held.id);

      const { context, page } = await appPage(shop);
      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Settings' }).click();
      const dispatch = page.getByRole('region', { name: 'Dispatch' });
      await dispatch.getByRole('alert').filter({ hasText: /Paused since .+: Gupshup answered 1003, .*wallet balance\. The app's messages stay queued/ }).waitFor();
      await screenshot(page, 'settings-paused');

      // The message sent while paused is held: queued, and never asked of Gupshup.
      await dispatch.getByRole('link', { name: 'Held messages' }).click();
      await page.locator(`tr[data-message-id="${heldId}"]`).getByText('queued', { exact: true }).waitFor();
      expect(simulator.messages().filter((message) => message.destination === held.digits)).toHaveLength(0);

      // The wallet is topped up; resumed from the page, the held message goes out.
      simulator.setFate(walletEmpty, { final: 'sent' });
      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Settings' }).click();
      await dispatch.getByRole('button', { name: 'Resume dispatch' }).click();
      await page.getByRole('status').filter({ hasText: 'Dispatch resumed' }).waitFor();
      await dispatch.getByText('Running: messages are sent as they are queued.').waitFor();
      expect(await dispatch.getByRole('button', { name: 'Resume dispatch' }).count()).toBe(0);
      await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Messages' }).click();
      await page.locator(`tr[data-message-id="${heldId}"]`).getByText('sent', { exact: true }).waitFor();
      expect(simulator.messages().filter((message) => message.destination === held.digits)).toHaveLength(1);
      await screenshot(page, 'settings-resumed-messages');
      await context.close();
    } finally {
      simulator.clearFate(walletEmpty);
    }
  });

  it('the admin signs in with the token, chooses an app, and sees the parked callbacks, their bodies as text', async () => {
    // A report for a message nobody sent is parked; its body holds markup that must stay text.
    const parked = {
      app: 'DemoAPI',
      timestamp: Date.now(),
      version: 2,
      type: 'message-event',
      payload: { id: 'wamid.unknown<img src=x onerror=alert(1)>', gsId: 'ffffffff-0000-4000-8000-000000000001', type: 'delivered', destination: '919900000099', payload: { ts: Math.floor(Date.now() / 1000) } },
    };
    await request(t.url).post(acme.callbackPath).set('Content-Type', 'application/json').send(JSON.stringify(parked)).expect(200);

    const context = await newContext(browser);
    const page = await context.newPage();
    let dialogs = 0;
    page.on('dialog', (dialog) => {
      dialogs++;
      void dialog.dismiss();
    });
    await signInAsAdmin(page, t.url, TEST_ADMIN_TOKEN);
    // The admin starts on the oldest app, and sees any app chosen.
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Messages' }).click();
    const messageRows = page.getByRole('table', { name: 'Messages, newest first' }).locator('tbody tr[data-message-id]');
    await eventually(async () => ((await messageRows.count()) === USERS.length ? true : undefined), "Acme's messages");
    await page.getByLabel('App').selectOption({ label: 'Globex' });
    await eventually(async () => {
      const shown = await messageRows.evaluateAll((rows) => rows.map((row) => row.getAttribute('data-message-id')));
      return (await page.getByLabel('App').inputValue()) === globex.id && !shown.some((id) => [...messageIds.values()].includes(id!)) ? true : undefined;
    }, "Globex's messages, none of Acme's");
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Parked callbacks' }).click();
    await eventually(async () => {
      await page.getByLabel('State').selectOption('waiting');
      await page.getByLabel('State').selectOption('');
      return (await page.getByRole('cell', { name: '919900000099' }).count()) > 0 ? true : undefined;
    }, 'the parked callback to be listed');
    const row = page.locator('tbody tr').filter({ has: page.getByRole('cell', { name: '919900000099' }) });
    await row.getByText('Body', { exact: true }).click();
    await row.locator('pre.json').filter({ hasText: '<img src=x onerror=alert(1)>' }).waitFor();
    expect(await page.locator('main img').count()).toBe(0);
    expect(dialogs).toBe(0);
    await screenshot(page, 'parked-callbacks');
    await context.close();
  });

  it('works from the keyboard: a skip link and navigation links reached with Tab', async () => {
    const { context, page } = await appPage(acme);
    // The page's title has the focus; backwards from it, the skip link is the first stop of the page.
    const focused = () => page.evaluate(() => document.activeElement?.textContent);
    for (let presses = 0; presses < 20 && (await focused()) !== 'Skip to content'; presses++) await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('Skip to content');
    for (let presses = 0; presses < 20; presses++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.textContent)) === 'Messages') break;
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Messages', level: 1 }).waitFor();
    // Every form field has a label.
    const unlabelled = await page.locator('main input, main select, main textarea').evaluateAll(
      (fields) => fields.filter((field) => !(field as HTMLInputElement).labels?.length && !field.getAttribute('aria-label')).length,
    );
    expect(unlabelled).toBe(0);
    await context.close();
  });

  it('refuses cross-site writes and bad sign-ins with a 4xx that says what to fix', async () => {
    const signIn = (headers: Record<string, string>, body: unknown) => request(t.url).post('/dashboard/api/session').set(headers).send(body as object);
    const good = { apiKey: acme.apiKey, apiSecret: acme.apiSecret };
    expect((await signIn({}, good)).status).toBe(403);
    expect((await signIn({ 'X-Dashboard-Request': '1', Origin: 'https://evil.example' }, good)).status).toBe(403);
    const missing = await signIn({ 'X-Dashboard-Request': '1' }, { apiKey: acme.apiKey });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain('apiSecret is missing');
    const ok = await signIn({ 'X-Dashboard-Request': '1', Origin: t.url }, good).expect(200);
    expect(ok.body).toMatchObject({ kind: 'app', app: { id: acme.id, name: 'Acme' } });
    const cookie = (ok.headers['set-cookie'] as unknown as string[])[0].split(';')[0];
    // A write without the header is refused even with the cookie.
    const rotate = await request(t.url).post('/dashboard/api/v3/channels/whatsapp/providers/gupshup_whatsapp/rotate-callback-token').set('Cookie', cookie);
    expect(rotate.status).toBe(403);
    expect((await request(t.url).get('/dashboard/api/v3/../../admin/apps').set('Cookie', cookie)).status).toBeGreaterThanOrEqual(400);
    expect((await request(t.url).get('/dashboard/api/v3/%2e%2e/admin/apps').set('Cookie', cookie)).status).toBe(400);
    expect((await request(t.url).get('/dashboard/api/v3/messages?status=lost').set('Cookie', cookie)).status).toBe(400);
  });

  it('the app API has what the pages filter and count by: phoneNumber and discardCode, and discard reasons per code', async () => {
    const list = async (query: string) =>
      ((await request(t.url).get(`/v3/messages?${query}`).set(acme.headers).expect(200)).body.data as { recipient: string }[]).map((m) => m.recipient);
    expect(await list('phoneNumber=%2B919900000016')).toEqual(['bilal']);
    expect(await list('discardCode=1002')).toEqual(['dora']);
    expect(await list('discardCode=1002&status=delivered')).toEqual([]);
    // Counted on the UTC day it was discarded (not today's: a run may cross midnight).
    const day = (await request(t.url).get(`/v3/messages/${messageIds.get('dora')}`).set(acme.headers).expect(200)).body.discardedAt.slice(0, 10);
    const reasons = await request(t.url).get(`/v3/analytics/whatsapp/discard-reasons?from=${day}&to=${day}`).set(acme.headers).expect(200);
    expect(reasons.body).toEqual({ from: day, to: day, data: [{ code: '1002', reason: 'Number Does Not Exist On WhatsApp', count: 1 }] });
    expect((await request(t.url).get('/v3/analytics/whatsapp/discard-reasons?from=2026-02-01&to=2026-01-01').set(acme.headers)).status).toBe(400);
    const other = await request(t.url).get(`/v3/analytics/whatsapp/discard-reasons?from=${day}&to=${day}`).set(globex.headers).expect(200);
    expect(other.body.data).toEqual([]);
  });
});
