// `npm run build` (always) and `npm start` (--if-changed): `nest build` and the dashboard (web/, see
// build-dashboard.mjs), then a fingerprint of what
// the build read is kept in dist/, so that a start whose sources have not changed since skips the
// 15-45 s compile. The fingerprint hashes file contents, not times: a checkout or a copy that
// touches files without changing them does not force a build.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildDashboard } from './build-dashboard.mjs';

const root = join(import.meta.dirname, '..');
const FINGERPRINT_FILE = join(root, 'dist', '.build-fingerprint');
const ENTRY = join(root, 'dist', 'src', 'main.js');
const DASHBOARD_ENTRY = join(root, 'dist', 'web', 'index.html');
const INPUT_DIRS = ['src', 'migrations', 'web'];
const INPUT_FILES = ['package-lock.json', 'nest-cli.json', 'tsconfig.json', 'tsconfig.build.json'];

function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

function fingerprint() {
  const files = [...INPUT_DIRS.flatMap((dir) => filesUnder(join(root, dir))), ...INPUT_FILES.map((file) => join(root, file))]
    .filter((file) => existsSync(file))
    .map((file) => relative(root, file))
    .sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file}\0`).update(readFileSync(join(root, file))).update('\0');
  return hash.digest('hex');
}

function readKept() {
  try {
    return readFileSync(FINGERPRINT_FILE, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const ifChanged = process.argv.includes('--if-changed');
// Taken before the build: a file edited while it runs makes the next start build again.
const current = fingerprint();
if (ifChanged && existsSync(ENTRY) && existsSync(DASHBOARD_ENTRY) && readKept() === current) {
  process.stdout.write('dist/ is up to date with the sources: not building\n');
  process.exit(0);
}
if (ifChanged) process.stdout.write('Building (the sources changed since the last build, or dist/ is missing)...\n');
const started = Date.now();
const nest = join(root, 'node_modules', '.bin', 'nest');
const build = spawnSync(nest, ['build'], { cwd: root, stdio: 'inherit' });
if (build.error) throw build.error;
if (build.status !== 0) process.exit(build.status ?? 1);
// The dashboard's browser code, into dist/web (after nest build, which empties dist/).
try {
  await buildDashboard();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
writeFileSync(FINGERPRINT_FILE, `${current}\n`);
process.stdout.write(`Built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
