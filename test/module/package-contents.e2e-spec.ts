import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureDashboardBuilt } from '../dashboard/browser-kit';

const ROOT = join(__dirname, '..', '..');

/** The files `npm pack` puts in the package a host installs (from the build already in dist/). */
function packedFiles(): string[] {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(output) as { files: { path: string }[] }[])[0].files.map((file) => file.path);
}

describe('the whatsapp-notify package', () => {
  beforeAll(() => {
    ensureDashboardBuilt();
  });

  it("ships the built dashboard: a host's /dashboard has its page and assets", () => {
    const files = packedFiles();
    expect(files).toContain('dist/web/index.html');
    expect(files.filter((file) => file.startsWith('dist/web/assets/'))).toEqual(expect.arrayContaining([expect.stringMatching(/\.js$/), expect.stringMatching(/\.css$/)]));
  });
});
