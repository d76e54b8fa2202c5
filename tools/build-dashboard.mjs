// Builds the dashboard's browser code (web/) into dist/web with Vite, then checks what the browser
// downloads: the JavaScript must stay within DASHBOARD_JS_BUDGET_BYTES gzipped, or the build fails.
// Run by tools/build.mjs after `nest build` (which empties dist/); runnable alone too.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(import.meta.dirname, '..');
export const DASHBOARD_OUT_DIR = join(root, 'dist', 'web');
const JS_BUDGET_BYTES = 250 * 1024;

export async function buildDashboard() {
  const { build } = await import('vite');
  await build({
    root: join(root, 'web'),
    base: '/dashboard/',
    configFile: false,
    logLevel: 'warn',
    // Preact's JSX runtime, compiled by Vite's own transformer: no plugin needed.
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: { outDir: DASHBOARD_OUT_DIR, emptyOutDir: true, assetsDir: 'assets', sourcemap: false, target: 'es2022' },
  });
  const sizes = javascriptSizes(DASHBOARD_OUT_DIR);
  const total = sizes.reduce((sum, file) => sum + file.gzipped, 0);
  const summary = sizes.map((file) => `${file.name} ${(file.gzipped / 1024).toFixed(1)} KB`).join(', ');
  if (total > JS_BUDGET_BYTES) {
    throw new Error(`The dashboard's JavaScript is ${(total / 1024).toFixed(1)} KB gzipped, over the ${JS_BUDGET_BYTES / 1024} KB budget (${summary})`);
  }
  process.stdout.write(`Dashboard built: ${(total / 1024).toFixed(1)} KB of JavaScript gzipped (budget ${JS_BUDGET_BYTES / 1024} KB)\n`);
  return total;
}

/** Every .js file under dir with its gzipped size: what a browser downloads. */
function javascriptSizes(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { name: entry.name, gzipped: gzipSync(readFileSync(path), { level: 9 }).length };
    });
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildDashboard().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
