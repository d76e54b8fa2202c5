/// <reference lib="dom" />
/**
 * Benchmark 6, dashboard: with 1,000,000 messages of the app in the views (loaded and projected as
 * in the queries benchmark, beside another app's), how long the dashboard's Messages page takes to
 * show its first rows, measured in the browser (Debian's chromium, driven by playwright-core):
 * - from the start of a page load of /dashboard#/messages (a bookmark, a reload) to the first row;
 * - from a click on the Messages link, on a page already open, to the first row;
 * - the same with a filter (status=delivered);
 * - from a click on "More", under the first page, to the first row of the second (keyset cursor).
 * Target: first rows within 1 s of navigation. CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { chromium, type Page } from 'playwright-core';
import { createApp } from './lib/api';
import type { BenchPostgres } from './lib/postgres';
import { percentile, VIEWS_SUBSCRIPTION } from './lib/projection-lag';
import { publishRun, type Figure } from './lib/report';
import { runCli, startService, type RunningProcess } from './lib/service';
import { runStandalone } from './lib/standalone';
import { load, settle } from './queries';

const MESSAGES = Number(process.env.BENCH_DASHBOARD_MESSAGES ?? 1_000_000);
const OTHER_APP_MESSAGES = 5_000;
const RUNS = Number(process.env.BENCH_DASHBOARD_RUNS ?? 20);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FIRST_ROW = 'table.messages tbody tr';
const MORE_BUTTON = 'p.more button';

/** Milliseconds from the start of the page's navigation (performance's time origin) to its first message row. */
async function pageLoadToFirstRow(page: Page, url: string): Promise<number> {
  // From a page of the dashboard, going to /dashboard#/messages changes only the fragment: the
  // browser keeps the document, and its time origin is that of the first load. Leaving it first
  // makes this a new document, loaded from its start.
  await page.goto('about:blank');
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForSelector(FIRST_ROW);
  return page.evaluate((selector) => {
    // The row is there: performance.now() counts from the navigation's start.
    const row = document.querySelector(selector);
    return row ? performance.now() : Number.NaN;
  }, FIRST_ROW);
}

/** Milliseconds from a click on the Messages link (another page open) to the first row, timed inside the page. */
async function clickToFirstRow(page: Page, fromHash: string, toHash: string): Promise<number> {
  await page.evaluate((hash) => (window.location.hash = hash), fromHash);
  await page.waitForFunction((selector) => !document.querySelector(selector), FIRST_ROW);
  return page.evaluate(
    ({ selector, hash }) =>
      new Promise<number>((resolve) => {
        const started = performance.now();
        const observer = new MutationObserver(() => {
          if (document.querySelector(selector)) {
            observer.disconnect();
            resolve(performance.now() - started);
          }
        });
        observer.observe(document.body, { childList: true, subtree: true });
        window.location.hash = hash;
      }),
    { selector: FIRST_ROW, hash: toHash },
  );
}

/** Milliseconds from a click on "More" under the first page of messages to the next page's first row, timed inside the page. */
async function moreToNextRows(page: Page): Promise<number> {
  await page.evaluate(() => (window.location.hash = '#/overview'));
  await page.waitForFunction((selector) => !document.querySelector(selector), FIRST_ROW);
  await page.evaluate(() => (window.location.hash = '#/messages'));
  await page.waitForSelector(MORE_BUTTON);
  return page.evaluate(
    ({ rows, button }) =>
      new Promise<number>((resolve) => {
        const shown = document.querySelectorAll(rows).length;
        const started = performance.now();
        const observer = new MutationObserver(() => {
          if (document.querySelectorAll(rows).length > shown) {
            observer.disconnect();
            resolve(performance.now() - started);
          }
        });
        observer.observe(document.body, { childList: true, subtree: true });
        document.querySelector<HTMLButtonElement>(button)!.click();
      }),
    { rows: FIRST_ROW, button: MORE_BUTTON },
  );
}

function summary(name: string, samples: number[]): Figure[] {
  const round = (ms: number) => Math.round(ms);
  return [
    { name: `${name} p50`, value: round(percentile(samples, 50)), unit: 'ms' },
    { name: `${name} slowest of ${samples.length}`, value: round(Math.max(...samples)), unit: 'ms', target: { op: '<=', value: 1000 } },
  ];
}

export async function dashboardBenchmark(postgres: BenchPostgres): Promise<void> {
  const databaseUrl = await postgres.createDatabase('bench_dashboard');
  const notes: string[] = [];
  let service: RunningProcess | undefined;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const setup = await startService(databaseUrl, { SUBSCRIPTIONS_ENABLED: 'false', DISPATCH_WORKERS: '0' }, 'dashboard-setup');
    const [app, other] = await Promise.all([createApp(setup.url, 'Bench dashboard'), createApp(setup.url, 'Bench dashboard, other app')]).finally(() => setup.stop());
    const started = Date.now();
    await load(databaseUrl, other.id, OTHER_APP_MESSAGES);
    const loaded = await load(databaseUrl, app.id, MESSAGES);
    const rebuild = JSON.parse((await runCli(databaseUrl, ['projections:rebuild', VIEWS_SUBSCRIPTION])).trim().split('\n').pop()!) as { events: number; seconds: number };
    notes.push(
      `${MESSAGES.toLocaleString('en-US')} messages of the app and ${OTHER_APP_MESSAGES.toLocaleString('en-US')} of another (${loaded.events.toLocaleString('en-US')} events of the app) ` +
        `loaded and projected (projections:rebuild ${rebuild.seconds.toFixed(0)} s) in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    service = await startService(databaseUrl, {}, 'dashboard-service');
    notes.push(`VACUUM (ANALYZE) of the views and a CHECKPOINT before measuring: ${((await settle(databaseUrl)) / 1000).toFixed(0)} s`);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${service.url}/dashboard`);
    await page.getByLabel('API key').fill(app.apiKey);
    await page.getByLabel('API secret').fill(app.apiSecret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Dashboard' }).waitFor();

    const pageLoads: number[] = [];
    const clicks: number[] = [];
    const filtered: number[] = [];
    const secondPages: number[] = [];
    // One unmeasured round first: the browser's cache and the service's prepared statements warm up.
    for (let run = -1; run < RUNS; run++) {
      const pageLoad = await pageLoadToFirstRow(page, `${service.url}/dashboard#/messages`);
      const click = await clickToFirstRow(page, '#/overview', '#/messages');
      const filter = await clickToFirstRow(page, '#/overview', '#/messages?status=delivered');
      const second = await moreToNextRows(page);
      if (run < 0) continue;
      pageLoads.push(pageLoad);
      clicks.push(click);
      filtered.push(filter);
      secondPages.push(second);
    }
    const figures: Figure[] = [
      ...summary('Messages page load to first rows', pageLoads),
      ...summary('click on Messages to first rows', clicks),
      ...summary('click to first rows, status=delivered', filtered),
      ...summary('click on More to the first rows of the second page', secondPages),
    ];
    notes.push(`${RUNS} measured runs of each after one unmeasured; times taken by the browser (performance.now()), chromium at ${CHROMIUM}, headless`);
    publishRun('dashboard', postgres, figures, notes);
  } finally {
    await browser.close();
    await service?.stop();
    await postgres.dropDatabase('bench_dashboard');
  }
}

if (require.main === module) runStandalone(dashboardBenchmark);
