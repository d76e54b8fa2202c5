import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { createApp } from '../../src/bootstrap';
import { AppConfig } from '../../src/config/app-config';
import { EMBEDDED_POSTGRES_DEFAULTS, EmbeddedPostgresInUseError, EmbeddedPostgresServer, type EmbeddedPostgresOptions } from '../../src/database/embedded-postgres';
import { eventually } from '../support/eventually';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { TEST_ADMIN_TOKEN, TEST_SECRET_KEY } from '../support/test-app';

const ROOT = resolve(__dirname, '..', '..');
const asRoot = process.getuid?.() === 0;

async function query<R>(url: string, sql: string): Promise<R[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as R[];
  } finally {
    await client.end();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The embedded server's own data directory, in a directory only its owner may enter (as a
 * project cloned under /root is). As root, what the postgres user cannot reach goes to
 * `runtime` (standing in for /var/lib/whatsapp-notify).
 */
function privateDataDir(): { home: string; runtime: string; dataDir: string } {
  const home = makeTempDir('private-');
  chmodSync(home, 0o700);
  const runtime = makeTempDir('runtime-');
  chmodSync(runtime, 0o755);
  return { home, runtime, dataDir: join(home, 'data', 'postgres') };
}

describe('the embedded PostgreSQL of a data directory', () => {
  const { home, runtime, dataDir } = privateDataDir();
  const started: EmbeddedPostgresServer[] = [];
  const server = (options: Partial<EmbeddedPostgresOptions> = {}) => {
    const created = new EmbeddedPostgresServer({ dataDir, rootRuntimeDir: runtime, ...options });
    started.push(created);
    return created;
  };
  afterEach(async () => {
    for (const each of started.splice(0).reverse()) await each.stop();
  });
  afterAll(() => {
    removeTempDir(home);
    removeTempDir(runtime);
  });

  it('keeps its data across restarts, found again from the data directory, in a directory others cannot enter', async () => {
    const first = server();
    const url = await first.start();
    await query(url, 'CREATE TABLE kept (note text)');
    await query(url, "INSERT INTO kept VALUES ('before the restart')");
    expect(await query(url, "SELECT current_setting('server_encoding') AS encoding")).toEqual([{ encoding: 'UTF8' }]);
    await first.stop();

    const again = server();
    expect(await query(await again.start(), 'SELECT note FROM kept')).toEqual([{ note: 'before the restart' }]);
    // Nobody's permissions were changed to let the server in.
    expect(statSync(home).mode & 0o777).toBe(0o700);
    if (asRoot) {
      // The postgres user cannot enter `home`: the cluster is where it can, and the data directory leads there.
      expect(lstatSync(dataDir).isSymbolicLink()).toBe(true);
      expect(realpathSync(dataDir).startsWith(join(runtime, 'postgres'))).toBe(true);
      expect(again.clusterDir).toBe(realpathSync(dataDir));
    }
  });

  it('refuses a second owner with one line naming the running server; the first keeps working, and the directory is free once it stops', async () => {
    const first = server();
    const url = await first.start();
    const port = new URL(url).port;
    await query(url, "CREATE TABLE refused (note text); INSERT INTO refused VALUES ('written by the first')");

    const refused = await server()
      .start()
      .then(
        () => undefined,
        (error: Error) => error,
      );
    expect(refused).toBeInstanceOf(EmbeddedPostgresInUseError);
    expect(refused?.message).toBe(`the PostgreSQL data directory ${dataDir} is in use by another process (its server listens on 127.0.0.1:${port})`);
    expect(await query(url, 'SELECT 1 AS up')).toEqual([{ up: 1 }]);

    await first.stop();
    expect(await query(await server().start(), 'SELECT note FROM refused')).toEqual([{ note: 'written by the first' }]);
  });

  it('lets a short command share the running server, and leaves it running when the command ends', async () => {
    const owner = server();
    const url = await owner.start();
    const command = server({ whenInUse: 'share' });
    expect(await command.start()).toBe(url);
    await command.stop();
    expect(await query(url, 'SELECT 1 AS up')).toEqual([{ up: 1 }]);
  });

  it('takes over the server of a process that was killed, with its data', async () => {
    // Another process starts the server, then dies without stopping it.
    const script = `
      const { EmbeddedPostgresServer } = require('./src/database/embedded-postgres');
      new EmbeddedPostgresServer({ dataDir: process.env.DATA_DIR, rootRuntimeDir: process.env.RUNTIME_DIR })
        .start()
        .then((url) => console.log('READY ' + url), (error) => { console.error(error.message); process.exit(1); });
      setInterval(() => undefined, 1000);`;
    const owner = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, RUNTIME_DIR: runtime },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    owner.stdout.on('data', (chunk) => (output += chunk));
    owner.stderr.on('data', (chunk) => (output += chunk));
    const url = await eventually(() => {
      if (owner.exitCode !== null) throw new Error(`the owner process exited: ${output}`);
      return /READY (\S+)/.exec(output)?.[1];
    }, 'the other process to start the server');
    const leftPid = Number(readFileSync(join(realpathSync(dataDir), 'postmaster.pid'), 'utf8').split('\n')[0]);
    owner.kill('SIGKILL');
    await once(owner, 'exit');
    // Still running, with no owner.
    await query(url, "CREATE TABLE left_behind (note text); INSERT INTO left_behind VALUES ('written while its owner was gone')");

    const successor = server();
    expect(await query(await successor.start(), 'SELECT note FROM left_behind')).toEqual([{ note: 'written while its owner was gone' }]);
    expect(isAlive(leftPid)).toBe(false);
  });
});

describe('two services on one DATA_DIR, with the embedded default', () => {
  const { home, runtime } = privateDataDir();
  const dataDir = join(home, 'data');
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => {
    removeTempDir(home);
    removeTempDir(runtime);
  });

  it('the second refuses to start, in one line saying what to do instead; once the first stops, it starts on the same data', async () => {
    // As root, copies of the server binaries go to the test's directory, not to /var/lib.
    jest.replaceProperty(EMBEDDED_POSTGRES_DEFAULTS, 'rootRuntimeDir', runtime);
    const config = AppConfig.fromEnv({ DATA_DIR: dataDir, ADMIN_TOKEN: TEST_ADMIN_TOKEN, SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'error' });
    const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
    // The refusal is asserted below; the services' own log lines would only be noise here.
    const quiet = { log: () => undefined, error: () => undefined, warn: () => undefined };
    const first = await createApp(config, { logger: quiet });
    let firstRunning = true;
    try {
      await first.listen(0, '127.0.0.1');
      const created = await request(first.getHttpServer()).post('/admin/apps').set(admin).send({ name: 'Kept' }).expect(201);

      const refused = await createApp(config, { logger: quiet }).then(
        async (unexpected) => {
          await unexpected.close();
          return undefined;
        },
        (error: Error) => error,
      );
      expect(refused?.message).toMatch(/^another instance is already running on DATA_DIR=\S+ \(its embedded PostgreSQL is on 127\.0\.0\.1:\d+\): /);
      expect(refused?.message).toContain('give this instance another DATA_DIR, or point every instance at one PostgreSQL server with DATABASE_URL');
      expect(refused?.message).not.toContain('\n');
      await request(first.getHttpServer()).get('/health').expect(200);

      await first.close();
      firstRunning = false;
      const second = await createApp(config, { logger: quiet });
      try {
        await second.listen(0, '127.0.0.1');
        const listed = await request(second.getHttpServer()).get('/admin/apps').set(admin).expect(200);
        expect(listed.body.data).toEqual([expect.objectContaining({ id: created.body.id, name: 'Kept' })]);
      } finally {
        await second.close();
      }
    } finally {
      if (firstRunning) await first.close();
    }
  });
});
