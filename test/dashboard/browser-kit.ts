import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { dashboardAssetsDir } from '../../src/dashboard/dashboard-pages';
import { GIVE_UP_AFTER_MS } from '../support/eventually';

/** Debian's chromium package; a browser build is never downloaded. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = join(__dirname, '..', '..');
/** Gitignored; the README's two pictures are copied from here (docs/images). */
export const SCREENSHOT_DIR = join(ROOT, 'test-output', 'screenshots');

/** The dashboard's browser code, built if this checkout has not built it yet (npm run build does). */
export function ensureDashboardBuilt(): void {
  if (dashboardAssetsDir()) return;
  execFileSync(process.execPath, [join(ROOT, 'tools', 'build-dashboard.mjs')], { cwd: ROOT, stdio: 'inherit' });
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No browser at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  ensureDashboardBuilt();
  // As root (CI containers), Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** A browser profile of its own: cookies and storage are not shared with other contexts. */
export async function newContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
  // Waits are on conditions; this only ends a broken test, as eventually() does.
  context.setDefaultTimeout(GIVE_UP_AFTER_MS);
  // A script error on the page fails the test that caused it, with the browser's own message.
  context.on('weberror', (error) => process.stderr.write(`dashboard page error: ${error.error().message}\n`));
  context.on('console', (message) => {
    if (message.type() === 'error') process.stderr.write(`dashboard console error: ${message.text()}\n`);
  });
  return context;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

export async function signInAsApp(page: Page, baseUrl: string, credentials: { apiKey: string; apiSecret: string }): Promise<void> {
  await page.goto(`${baseUrl}/dashboard`);
  await page.getByLabel('API key').fill(credentials.apiKey);
  await page.getByLabel('API secret').fill(credentials.apiSecret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Dashboard' }).waitFor();
}

export async function signInAsAdmin(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/dashboard`);
  await page.getByRole('tab', { name: 'Admin' }).click();
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Dashboard' }).waitFor();
}
