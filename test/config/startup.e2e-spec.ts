import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { portOutsideEphemeralRange } from '../support/ports';
import { GIVE_UP_AFTER_MS } from '../support/eventually';
import { startServiceProcess } from '../support/service-process';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { TEST_SECRET_KEY } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const root = join(__dirname, '..', '..');

function start(env: Record<string, string>) {
  return spawnSync(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: GIVE_UP_AFTER_MS, // only ends a start that hangs
  });
}

function stderrLines(result: { stderr: string }): string[] {
  return result.stderr.trim().split('\n');
}

/** A server on 127.0.0.1 at a port the system chose. */
async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

const closed = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('start-up configuration check', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT must be a port number'],
    [{ GUPSHUP_RATE_LIMIT: '-1' }, 'GUPSHUP_RATE_LIMIT must be a whole number from 0 to 100000'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of error, warn, info, debug'],
    [{ ROLES: 'api,worker' }, 'ROLES must be a comma-separated list of api, dispatch, subscriptions (unknown: worker)'],
    [{ HOST: 'not..a..host' }, 'HOST must be an IP address or a host name'],
  ])('refuses %j with one line naming it, before touching any database', (env, expected) => {
    const result = start(env);
    expect(result.status).toBe(78);
    const lines = stderrLines(result);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(expected);
  });
});

describe('start-up: what cannot be reached or bound', () => {
  let database: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = makeTempDir('startup-data-');
  });
  afterAll(async () => {
    await database.drop();
    removeTempDir(dataDir);
  });

  it('a PORT already in use stops the service with one line naming PORT and HOST, before any worker starts', async () => {
    const taken = await listening();
    try {
      const result = start({ DATABASE_URL: database.url, SECRET_KEY: TEST_SECRET_KEY, DATA_DIR: dataDir, PORT: String(taken.port), LOG_FORMAT: 'json' });
      expect(result.status).toBe(78);
      const lines = stderrLines(result);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`PORT ${taken.port} is already in use on 127.0.0.1: stop what listens there or set PORT`);
      // Checked before the service is built: nothing was started, so nothing had to be stopped.
      expect(result.stdout).not.toContain('Nest application successfully started');
    } finally {
      await closed(taken.server);
    }
  });

  it('an unreachable DATABASE_URL stops the service with one line naming it, its address and the cause, never its password', async () => {
    const { server, port } = await listening();
    await closed(server); // nothing listens there now
    const password = 'Sup3r-s3cret-pw';
    const result = start({ DATABASE_URL: `postgres://notify:${password}@127.0.0.1:${port}/notify`, DATA_DIR: dataDir, LOG_FORMAT: 'json' });
    expect(result.status).toBe(69); // EX_UNAVAILABLE
    const lines = stderrLines(result);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`DATABASE_URL=postgres://notify:****@127.0.0.1:${port}/notify`);
    expect(lines[0]).toContain(`127.0.0.1:${port}`);
    expect(lines[0]).toContain('connection refused');
    expect(result.stderr + result.stdout).not.toContain(password);
  });

  it('an unreachable DATABASE_READ_URL stops the service the same way: one line naming it, its address and the cause, never its password', async () => {
    const replica = await listening();
    await closed(replica.server); // nothing listens there now
    const free = await listening();
    await closed(free.server);
    const password = 'R3plica-s3cret-pw';
    const result = start({
      DATABASE_URL: database.url,
      DATABASE_READ_URL: `postgres://reader:${password}@127.0.0.1:${replica.port}/notify`,
      SECRET_KEY: TEST_SECRET_KEY,
      DATA_DIR: dataDir,
      PORT: String(free.port),
      LOG_FORMAT: 'json',
    });
    expect(result.status).toBe(69); // EX_UNAVAILABLE
    const lines = stderrLines(result);
    expect(lines).toEqual([
      `Cannot connect to the database at DATABASE_READ_URL=postgres://reader:****@127.0.0.1:${replica.port}/notify: connection refused by 127.0.0.1:${replica.port}: check that PostgreSQL runs there and that DATABASE_READ_URL names the right host and port`,
    ]);
    expect(result.stderr + result.stdout).not.toContain(password);
    expect(result.stdout).not.toContain('Nest application successfully started');
  });

  it('a worker (ROLES without api) reads nothing from DATABASE_READ_URL: it starts while the replica is unreachable', async () => {
    const replica = await listening();
    await closed(replica.server);
    const worker = await startServiceProcess({
      port: await portOutsideEphemeralRange(),
      env: { DATABASE_URL: database.url, DATABASE_READ_URL: `postgres://reader@127.0.0.1:${replica.port}/notify`, ROLES: 'dispatch,subscriptions' },
    });
    try {
      const health = (await (await fetch(`${worker.url}/health`)).json()) as { status: string; readReplica?: { status: string } };
      expect(health).toMatchObject({ status: 'ok', readReplica: { status: 'down' } });
    } finally {
      await worker.stop();
    }
  });
});
