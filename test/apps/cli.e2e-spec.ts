import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { GIVE_UP_AFTER_MS } from '../support/eventually';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { startTestApp, type TestApp } from '../support/test-app';
import { adminAuth, appAuth } from './app-helpers';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

/** `npm run cli -- ...args` in a child process, as a user would run it. */
async function cli(databaseUrl: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dataDir = makeTempDir('cli-data-');
  const env = { ...process.env, DATABASE_URL: databaseUrl, DATA_DIR: dataDir, ADMIN_TOKEN: '', SECRET_KEY: '' };
  try {
    // The timeout only ends a command that hangs.
    const { stdout, stderr } = await run('npm', ['run', 'cli', '--', ...args], { cwd: ROOT, env, timeout: GIVE_UP_AFTER_MS });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  } finally {
    removeTempDir(dataDir);
  }
}

/** npm prints a header before the command's own output: the JSON is the last {...} block. */
function printedJson(stdout: string): Record<string, string> {
  return JSON.parse(stdout.slice(stdout.indexOf('\n{') + 1)) as Record<string, string>;
}

describe('CLI: apps:create', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('prints the same JSON as POST /admin/apps, beside the running service, and the printed credentials authenticate', async () => {
    const { code, stdout } = await cli(t.database.url, 'apps:create', 'Acme Corp');
    expect(code).toBe(0);
    const created = printedJson(stdout);
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Acme Corp',
      apiKey: expect.stringMatching(/^[\w-]{32}$/),
      apiSecret: expect.stringMatching(/^[\w-]{43}$/),
      callbackUrl: expect.stringMatching(new RegExp(`/api/v1/apps/${created.apiKey}/webhook/gupshup_whatsapp$`)),
      createdAt: expect.any(String),
    });
    await request(t.url).put('/v3/users/from-cli').set(appAuth({ apiKey: created.apiKey, apiSecret: created.apiSecret })).send({ phoneNumber: '+919988776655' }).expect(200);
    await request(t.url).get('/v3/users/from-cli').set(appAuth({ apiKey: created.apiKey, apiSecret: 'wrong' })).expect(401);
    const listed = (await request(t.url).get('/admin/apps').set(adminAuth).expect(200)).body.data;
    expect(listed).toContainEqual(expect.objectContaining({ id: created.id, name: 'Acme Corp', apiKey: created.apiKey }));
    const events = await t.db.query<{ data: { via: string } }>('SELECT data FROM es_events WHERE stream_id = $1', [`app-${created.id}`]);
    expect(events.map((e) => e.data.via)).toEqual(['cli']);
  });

  it('refuses an empty name with a clear message and a non-zero exit, creating nothing', async () => {
    const before = await t.db.query('SELECT count(*)::int AS n FROM apps');
    const { code, stdout, stderr } = await cli(t.database.url, 'apps:create', '  ');
    expect(code).not.toBe(0);
    expect(stderr).toContain('apps:create: name must not be empty');
    expect(stdout).not.toContain('apiSecret');
    expect(await t.db.query('SELECT count(*)::int AS n FROM apps')).toEqual(before);
  });
});
