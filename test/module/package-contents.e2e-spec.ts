import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

  it('ships the docs its README links to for a host', () => {
    const files = packedFiles();
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Use it inside your NestJS app'), readme.indexOf('## Testing'));
    const linked = [...section.matchAll(/\]\((docs\/[^)#]+)\)/g)].map((match) => match[1]);
    expect(linked).toContain('docs/inside-another-app.md');
    for (const doc of linked) expect(files).toContain(doc);
  });

  it('depends on the type packages its declarations import', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    const installed = { ...manifest.dependencies, ...manifest.peerDependencies };
    const declarations = packedFiles().filter((file) => file.endsWith('.d.ts'));
    const imported = new Set(
      declarations.flatMap((file) => [...readFileSync(join(ROOT, file), 'utf8').matchAll(/from '([^'.][^']*)'/g)].map((match) => match[1].split('/').slice(0, match[1].startsWith('@') ? 2 : 1).join('/'))),
    );
    // Node's own modules are typed by @types/node, which every TypeScript application on Node has.
    const missing = [...imported].filter((name) => !name.startsWith('node:')).filter((name) => {
      const own = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { types?: string; typings?: string };
      const typed = own.types ?? own.typings ?? (existsSync(join(ROOT, 'node_modules', name, 'index.d.ts')) ? 'index.d.ts' : undefined);
      // Its own types come with it; otherwise they are in @types/<name>, which a host must get from us.
      return typed ? !(name in installed) : !(`@types/${name.replace('@', '').replace('/', '__')}` in installed);
    });
    expect(missing).toEqual([]);
  });
});
