import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { GIVE_UP_AFTER_MS } from '../support/eventually';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { startTestApp, TEST_SECRET_KEY, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { adminAuth, appAuth } from './app-helpers';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

/** `npm run -s cli -- ...args` in a child process, as a script would run it (stdout: the command's output alone). */
async function cli(databaseUrl: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith({ DATABASE_URL: databaseUrl }, ...args);
}

async function cliWith(extraEnv: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dataDir = makeTempDir('cli-data-');
  const env = { ...process.env, DATA_DIR: dataDir, ADMIN_TOKEN: '', SECRET_KEY: '', PUBLIC_BASE_URL: '', ...extraEnv };
  try {
    // The timeout only ends a command that hangs.
    const { stdout, stderr } = await run('npm', ['run', '-s', 'cli', '--', ...args], { cwd: ROOT, env, timeout: GIVE_UP_AFTER_MS });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  } finally {
    removeTempDir(dataDir);
  }
}

/**
 * The CLI run from another working directory, with nothing of the test's environment but PATH and
 * `extraEnv`: DATA_DIR's default (./.data) is then that directory's.
 */
async function cliIn(cwd: string, extraEnv: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: resolve(ROOT, 'tsconfig.json'), ...extraEnv };
  const argv = ['-r', require.resolve('@swc-node/register'), resolve(ROOT, 'src', 'cli.ts'), ...args];
  try {
    const { stdout, stderr } = await run(process.execPath, argv, { cwd, env, timeout: GIVE_UP_AFTER_MS });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The command's stdout, which must be JSON and nothing else: warnings and notes go to stderr. */
function printedJson(stdout: string): Record<string, string> {
  return JSON.parse(stdout) as Record<string, string>;
}

describe('CLI: apps:create', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('prints the same JSON as POST /admin/apps, beside the running service, and the printed credentials authenticate', async () => {
    // With the service's SECRET_KEY: the callback token is stored encrypted under the key the service reads it with.
    const { code, stdout, stderr } = await cliWith({ DATABASE_URL: t.database.url, SECRET_KEY: TEST_SECRET_KEY }, 'apps:create', 'Acme Corp');
    expect(code).toBe(0);
    const created = printedJson(stdout);
    // PUBLIC_BASE_URL unset: the URL is built from HOST and PORT as the command sees them, and it says so on stderr, leaving stdout to the JSON.
    expect(created.callbackUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:3000/api/v1/apps/${created.apiKey}/webhook/gupshup_whatsapp\\?token=[\\w-]{43}$`));
    expect(stderr).toContain('apps:create: PUBLIC_BASE_URL is unset, so callbackUrl assumes the service is reached at http://127.0.0.1:3000');
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Acme Corp',
      apiKey: expect.stringMatching(/^[\w-]{32}$/),
      apiSecret: expect.stringMatching(/^[\w-]{43}$/),
      callbackUrl: expect.stringMatching(new RegExp(`/api/v1/apps/${created.apiKey}/webhook/gupshup_whatsapp\\?token=[\\w-]{43}$`)),
      createdAt: expect.any(String),
    });
    await request(t.url).put('/v3/users/from-cli').set(appAuth({ apiKey: created.apiKey, apiSecret: created.apiSecret })).send({ phoneNumber: '+919988776655' }).expect(200);
    await request(t.url).get('/v3/users/from-cli').set(appAuth({ apiKey: created.apiKey, apiSecret: 'wrong' })).expect(401);
    const listed = (await request(t.url).get('/admin/apps').set(adminAuth).expect(200)).body.data;
    expect(listed).toContainEqual(expect.objectContaining({ id: created.id, name: 'Acme Corp', apiKey: created.apiKey }));
    const events = await t.db.query<{ event_type: string; data: { via?: string; reason?: string } }>(
      'SELECT event_type, data FROM es_events WHERE stream_id = $1 ORDER BY stream_position',
      [`app-${created.id}`],
    );
    expect(events.map((e) => [e.event_type, e.data.via ?? e.data.reason])).toEqual([
      ['AppCreated', 'cli'],
      ['CallbackTokenIssued', 'app_created'],
    ]);
    // The printed callback URL is the one the service accepts.
    const { pathname, search } = new URL(created.callbackUrl);
    const callback = { app: 'DemoAPI', timestamp: Date.now(), version: 2, type: 'user-event', payload: { phone: '919988776655', type: 'sandbox-start' } };
    await request(t.url).post(`${pathname}${search}`).set('Content-Type', 'application/json').send(callback).expect(200);
    await request(t.url).post(pathname).set('Content-Type', 'application/json').send(callback).expect(401);
  });

  it('beside DATABASE_URL without the service\'s SECRET_KEY, refuses to make up a key: says what to set, creates nothing, writes no file', async () => {
    const before = await t.db.query('SELECT count(*)::int AS n FROM apps');
    const dataDir = makeTempDir('cli-data-');
    try {
      const { code, stdout, stderr } = await cliWith({ DATABASE_URL: t.database.url, DATA_DIR: dataDir }, 'apps:create', 'Keyless');
      expect(code).not.toBe(0);
      expect(stdout).toBe('');
      expect(stderr).toContain(`apps:create: the app could not be created: SECRET_KEY is unset and ${resolve(dataDir, 'secret.key')} does not exist: run the command with the service's SECRET_KEY`);
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      removeTempDir(dataDir);
    }
    expect(await t.db.query('SELECT count(*)::int AS n FROM apps')).toEqual(before);
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

describe('CLI: apps:list', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('says there is no app yet, and how to create one', async () => {
    const { code, stdout } = await cli(t.database.url, 'apps:list');
    expect(code).toBe(0);
    expect(stdout).toContain('No apps yet: create one with npm run cli -- apps:create NAME');
  });

  it('lists the apps as a table, oldest first, beside the running service, never a secret', async () => {
    const first = (await request(t.url).post('/admin/apps').set(adminAuth).send({ name: 'First app' }).expect(201)).body;
    const second = (await request(t.url).post('/admin/apps').set(adminAuth).send({ name: 'Second' }).expect(201)).body;
    const { code, stdout } = await cli(t.database.url, 'apps:list');
    expect(code).toBe(0);
    const table = stdout.slice(stdout.indexOf('NAME')).trimEnd().split('\n');
    expect(table).toHaveLength(3);
    expect(table[0].split(/\s{2,}/)).toEqual(['NAME', 'API KEY', 'ID', 'CREATED']);
    expect(table[1].split(/\s{2,}/)).toEqual(['First app', first.apiKey, first.id, first.createdAt]);
    expect(table[2].split(/\s{2,}/)).toEqual(['Second', second.apiKey, second.id, second.createdAt]);
    // Columns line up.
    expect(table[1].indexOf(first.apiKey)).toBe(table[0].indexOf('API KEY'));
    expect(stdout).not.toContain(first.apiSecret);
    expect(stdout).not.toContain(second.apiSecret);
  });

  it('--json prints the same JSON as GET /admin/apps, without callback URLs (they hold the callback token)', async () => {
    const env = { DATABASE_URL: t.database.url, PUBLIC_BASE_URL: 'https://notify.example.com' };
    const { code, stdout, stderr } = await cliWith(env, 'apps:list', '--json');
    expect(code).toBe(0);
    const printed = printedJson(stdout) as unknown as { data: { apiKey: string; callbackUrl?: string }[] };
    const served = (await request(t.url).get('/admin/apps').set(adminAuth).expect(200)).body;
    expect(printed.data.length).toBeGreaterThan(0);
    expect(printed).toEqual(served);
    for (const app of printed.data) expect(app.callbackUrl).toBeUndefined();
    expect(stderr).not.toContain('PUBLIC_BASE_URL is unset');
  });
});

/**
 * A database for the commands of one describe block, dropped after it, and the environment that
 * points a command at it. Every command boots the service's modules, database included: a
 * database of its own spares starting an embedded one.
 */
function commandDatabase(): () => Record<string, string> {
  let database: TestDatabase;
  beforeAll(async () => (database = await createTestDatabase()));
  afterAll(() => database.drop());
  // With its key set, a shared database gives the CLI nothing to warn about.
  return () => ({ DATABASE_URL: database.url, SECRET_KEY: TEST_SECRET_KEY });
}

describe('CLI: help and usage errors', () => {
  const env = commandDatabase();

  it('--help lists every command under the command a user types, and exits 0 with nothing else said', async () => {
    const { code, stdout, stderr } = await cliWith(env(), '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: npm run cli -- [options] [command]');
    for (const command of ['apps:create <name>', 'apps:list [options]', 'projections:rebuild [name]', 'migrations:run']) expect(stdout).toContain(command);
    expect(stdout + stderr).not.toContain('(outputHelp)');
    expect(stderr.trim()).toBe('');
  });

  it("a command's --help shows its usage and options", async () => {
    const { code, stdout, stderr } = await cliWith(env(), 'apps:list', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: npm run cli -- apps:list [options]');
    expect(stdout).toContain('--json');
    expect(stdout + stderr).not.toContain('(outputHelp)');
  });

  it('an unknown command is named once, with a non-zero exit', async () => {
    const { code, stderr } = await cliWith(env(), 'apps:lst');
    expect(code).not.toBe(0);
    expect(stderr.match(/unknown command 'apps:lst'/g)).toHaveLength(1);
  });

  it('--help without DATABASE_URL answers from the commands alone: no embedded PostgreSQL started, no file written', async () => {
    const cwd = makeTempDir('cli-cwd-');
    try {
      const { code, stdout, stderr } = await cliIn(cwd, {}, '--help');
      expect(code).toBe(0);
      expect(stdout).toContain('Usage: npm run cli -- [options] [command]');
      expect(stdout).toContain('apps:create <name>');
      expect(stderr.trim()).toBe('');
      // Neither ./.data (the embedded database, admin.token, secret.key) nor anything else.
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      removeTempDir(cwd);
    }
  });

  it('a usage error without DATABASE_URL is refused without touching a database or writing a file', async () => {
    const cwd = makeTempDir('cli-cwd-');
    try {
      const { code, stderr } = await cliIn(cwd, {}, 'apps:create');
      expect(code).not.toBe(0);
      expect(stderr).toContain("error: missing required argument 'name'");
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      removeTempDir(cwd);
    }
  });

  it('a command whose DATABASE_URL cannot be reached fails with one line naming it, no stack, never the password', async () => {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    await new Promise<void>((done) => server.close(() => done())); // nothing listens there now
    const cwd = makeTempDir('cli-cwd-');
    try {
      const password = 'Sup3r-s3cret-pw';
      const { code, stdout, stderr } = await cliIn(cwd, { DATABASE_URL: `postgres://notify:${password}@127.0.0.1:${port}/notify`, SECRET_KEY: TEST_SECRET_KEY }, 'apps:list');
      expect(code).toBe(69);
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n')).toEqual([
        `Cannot connect to the database at DATABASE_URL=postgres://notify:****@127.0.0.1:${port}/notify: connection refused by 127.0.0.1:${port}: check that PostgreSQL runs there and that DATABASE_URL names the right host and port`,
      ]);
      expect(stderr).not.toContain(password);
    } finally {
      removeTempDir(cwd);
    }
  });
});

describe('CLI: dispatch:unknown --app', () => {
  const env = commandDatabase();

  it('lists the parked messages of an app that exists, and fails naming an app id that is no app, with a non-zero exit', async () => {
    const created = await cliWith(env(), 'apps:create', 'Parked messages');
    expect(created.code).toBe(0);
    const { id } = printedJson(created.stdout);
    const known = await cliWith(env(), 'dispatch:unknown', '--app', id);
    expect(known.code).toBe(0);
    expect(JSON.parse(known.stdout)).toEqual([]);

    const unknownId = randomUUID();
    const unknown = await cliWith(env(), 'dispatch:unknown', '--app', unknownId);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr.trim()).toBe(`no app has the id ${unknownId}: npm run cli -- apps:list shows the apps and their ids`);
  });

  it('refuses a malformed --app without touching a database or writing a file', async () => {
    const cwd = makeTempDir('cli-cwd-');
    try {
      const { code, stdout, stderr } = await cliIn(cwd, {}, 'dispatch:unknown', '--app', 'Acme');
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr.trim()).toBe('--app must be the id of an app (a UUID, as npm run cli -- apps:list shows it), got "Acme"');
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      removeTempDir(cwd);
    }
  });
});
