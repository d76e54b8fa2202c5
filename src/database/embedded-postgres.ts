import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

export interface EmbeddedPostgresOptions {
  /** The cluster's directory, or a symbolic link to it (made by start() when the server's user cannot reach the place, see below). */
  dataDir: string;
  port?: number;
  log?: (line: string) => void;
  /**
   * When another process already runs the server of this data directory: 'refuse' (the default)
   * throws EmbeddedPostgresInUseError; 'share' connects to that server and leaves it running
   * (for short commands beside a running service, which must not outlive it).
   */
  whenInUse?: 'refuse' | 'share';
  /**
   * Used only when running as root: where the server binaries are copied, and new clusters are
   * kept, when the postgres system user cannot reach them where they are. Default: EMBEDDED_POSTGRES_DEFAULTS.
   */
  rootRuntimeDir?: string;
  /** Extra server settings, passed as -c name=value. */
  settings?: Record<string, string>;
  /**
   * Keep the server in this process's group, so that a Ctrl-C in the terminal stops it too. By
   * default it gets a group of its own, and only stop() (or this process exiting) stops it: a
   * service shutting down on Ctrl-C still has its database while it finishes its work.
   */
  sameProcessGroup?: boolean;
}

export const EMBEDDED_POSTGRES_DEFAULTS = {
  /** A place every user can traverse, kept across reboots (unlike /tmp), owned by root. */
  rootRuntimeDir: '/var/lib/whatsapp-notify',
};

/** Thrown by start() when another process runs this data directory's server. */
export class EmbeddedPostgresInUseError extends Error {
  constructor(
    readonly dataDir: string,
    /** The port of the other process's server, when it is up. */
    readonly port: number | undefined,
  ) {
    super(
      `the PostgreSQL data directory ${dataDir} is in use by another process` +
        (port ? ` (its server listens on 127.0.0.1:${port})` : ' (its server is starting or stopping)'),
    );
  }
}

const SUPERUSER = 'postgres';
const PASSWORD = 'postgres';
/** PostgreSQL refuses to run as root: as root, the server runs as this system user. */
const SERVER_SYSTEM_USER = 'postgres';
/** The server's messages are parsed by nobody, but read by people: the same language everywhere. */
const SERVER_ENV = { LC_ALL: 'C', LC_MESSAGES: 'C' };

interface UserIds {
  uid: number;
  gid: number;
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
 * Whether `user` may reach `path`: every directory from / down to it grants it search (x). The
 * server is started without supplementary groups, so only the owner and group bits that name
 * its own uid and gid count.
 */
function canReach(path: string, user: UserIds): boolean {
  for (let current = resolve(path); ; current = dirname(current)) {
    let mode: number;
    let owner: number;
    let group: number;
    try {
      ({ mode, uid: owner, gid: group } = statSync(current));
    } catch {
      return false;
    }
    const searchBit = owner === user.uid ? 0o100 : group === user.gid ? 0o010 : 0o001;
    if ((mode & searchBit) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

function idsOf(userName: string): UserIds | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', userName], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const gid = Number(execFileSync('id', ['-g', userName], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** The postgres system user, created (without a home or a login shell) when there is none. */
function serverSystemUser(log: (line: string) => void): UserIds {
  const existing = idsOf(SERVER_SYSTEM_USER);
  if (existing) return existing;
  try {
    // An existing group of that name is fine (groupadd then exits non-zero and says so).
    execFileSync('groupadd', ['--system', SERVER_SYSTEM_USER], { stdio: 'ignore' });
  } catch {
    // useradd below fails, and says why, when the group is missing after all.
  }
  try {
    execFileSync('useradd', ['--system', '--gid', SERVER_SYSTEM_USER, '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', SERVER_SYSTEM_USER], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    const detail = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(
      `PostgreSQL does not run as root, and no "${SERVER_SYSTEM_USER}" system user could be created to run it (${detail || String(error)}): ` +
        `create one, run as another user, or set DATABASE_URL`,
      { cause: error },
    );
  }
  log(`created the "${SERVER_SYSTEM_USER}" system user to run PostgreSQL (it does not run as root)`);
  const created = idsOf(SERVER_SYSTEM_USER);
  if (!created) throw new Error(`the "${SERVER_SYSTEM_USER}" system user was created but "id" does not find it`);
  return created;
}

interface ServerBinaries {
  /** The directory holding bin/, lib/ and share/. */
  dir: string;
  version: string;
}

/** The binaries of the platform package the embedded-postgres package installed. */
function installedBinaries(): ServerBinaries {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new Error(`no PostgreSQL binaries for ${process.platform}-${process.arch} are installed (package ${name}): set DATABASE_URL to use a PostgreSQL server`);
  }
  const packageDir = join(dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return { dir: join(packageDir, 'native'), version };
}

function usableBy(binaries: ServerBinaries, user: UserIds): boolean {
  return ['bin', 'lib', 'share'].every((sub) => canReach(join(binaries.dir, sub), user));
}

/** Makes `dir` (and, with `recursive`, what it holds) readable and traversable by everyone; files keep their execute bits. */
function openToAll(dir: string, recursive: boolean): void {
  chmodSync(dir, 0o755);
  if (!recursive) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) openToAll(path, true);
    else if (entry.isFile()) {
      const mode = statSync(path).mode;
      chmodSync(path, mode & 0o100 ? 0o755 : 0o644);
    }
  }
}

/** A directory owned by root that every user can traverse, with its missing parents. */
function ensureOpenDirectory(dir: string): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755); // whatever the umask
  }
}

/**
 * Binaries the server's user can run: the installed ones, or, when it cannot reach them (a
 * project in a directory only root may enter), a copy under `runtimeDir`, made once per version.
 */
function binariesFor(user: UserIds, runtimeDir: string, log: (line: string) => void): ServerBinaries {
  const installed = installedBinaries();
  if (usableBy(installed, user)) return installed;
  const copy: ServerBinaries = { dir: join(runtimeDir, `postgresql-${installed.version}`), version: installed.version };
  if (!existsSync(join(copy.dir, 'bin', 'postgres'))) {
    ensureOpenDirectory(runtimeDir);
    // Copied aside, then renamed into place: a copy is whole or absent, whoever else copies at the same time.
    const staging = `${copy.dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      cpSync(installed.dir, staging, { recursive: true, verbatimSymlinks: true });
      openToAll(staging, true);
      renameSync(staging, copy.dir);
      log(`copied the PostgreSQL binaries to ${copy.dir}: the "${SERVER_SYSTEM_USER}" user cannot reach ${installed.dir}`);
    } catch (error) {
      if (!existsSync(join(copy.dir, 'bin', 'postgres'))) throw error;
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  if (!usableBy(copy, user)) {
    throw new Error(`the "${SERVER_SYSTEM_USER}" user, which runs PostgreSQL when this process runs as root, can reach neither ${installed.dir} nor ${copy.dir}`);
  }
  return copy;
}

interface RunningServer {
  pid: number;
  port: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but another user's
  }
}

/** The live server named by the cluster's postmaster.pid (pid on line 1, port on line 4), if any. */
function runningServer(cluster: string): RunningServer | undefined {
  let lines: string[];
  try {
    lines = readFileSync(join(cluster, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined; // a stale file: PostgreSQL replaces it
  return { pid, port: Number.isInteger(port) && port > 0 ? port : 0 };
}

/** Whether process `pid` is a PostgreSQL server started on `cluster` (known on Linux; assumed elsewhere). */
function isServerOn(pid: number, paths: string[]): boolean {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return process.platform !== 'linux';
  }
  return basename(args[0] ?? '') === 'postgres' && args.some((arg) => paths.includes(arg));
}

/**
 * A lock the kernel releases when this process ends, however it ends: a listening Unix socket
 * named after the data directory. On Linux it lives in the abstract namespace, so no file can
 * outlive its holder; elsewhere a socket file that nobody answers on is stale and replaced.
 */
class DirectoryLock {
  private constructor(private readonly server: Server) {}

  static async acquire(key: string): Promise<DirectoryLock | undefined> {
    const name = `whatsapp-notify-postgres-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
    if (process.platform === 'linux') {
      const server = await listenOn(`\0${name}`);
      return server && new DirectoryLock(server);
    }
    const path = join(tmpdir(), `${name}.lock`);
    let server = await listenOn(path);
    if (!server && !(await someoneAnswers(path))) {
      rmSync(path, { force: true });
      server = await listenOn(path);
    }
    return server && new DirectoryLock(server);
  }

  release(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }
}

function listenOn(path: string): Promise<Server | undefined> {
  return new Promise((resolveServer, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolveServer(undefined) : reject(error)));
    server.listen(path, () => {
      server.unref();
      resolveServer(server);
    });
  });
}

function someoneAnswers(path: string): Promise<boolean> {
  return new Promise((answer) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      answer(true);
    });
    socket.once('error', () => answer(false));
  });
}

class PortTakenError extends Error {}

/**
 * A real PostgreSQL server from the embedded-postgres package's binaries, bound to 127.0.0.1.
 * Its data directory is kept between runs; it is initialised only the first time.
 *
 * One process at a time runs a data directory's server: start() takes a lock on the directory
 * that lasts until stop() or this process's end, and another process's start() refuses (or, with
 * whenInUse 'share', uses that server). A server left running by a process that has ended holds
 * no lock: it is stopped, and started again by the new owner.
 *
 * As root, the server runs as the postgres system user (PostgreSQL does not run as root), which
 * must reach the binaries and the cluster. When it cannot (the project or DATA_DIR in a directory
 * only root may enter), the binaries are copied under rootRuntimeDir, and a new cluster is made
 * there too, with `dataDir` a symbolic link to it; nothing else's permissions are changed.
 */
export class EmbeddedPostgresServer {
  private port?: number;
  private child?: ChildProcess;
  private lock?: DirectoryLock;
  private readonly stopOnExit = () => this.child?.kill('SIGINT');
  private readonly log: (line: string) => void;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.log = options.log ?? (() => undefined);
  }

  /** The cluster's real directory once started (where `dataDir` leads). */
  clusterDir?: string;

  async start(): Promise<string> {
    const link = resolve(this.options.dataDir);
    mkdirSync(dirname(link), { recursive: true });
    const lock = await DirectoryLock.acquire(join(realpathSync(dirname(link)), basename(link)));
    if (!lock) return this.useRunningServer(link);
    this.lock = lock;
    try {
      await this.startOwnServer(link);
    } catch (error) {
      this.lock = undefined;
      await lock.release();
      throw error;
    }
    return this.url('postgres');
  }

  url(database: string): string {
    if (!this.port) throw new Error('embedded PostgreSQL is not started');
    return `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabaseIfMissing(database: string): Promise<void> {
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
    const child = this.child;
    this.child = undefined;
    process.removeListener('exit', this.stopOnExit);
    if (child) {
      const exited = new Promise((done) => child.once('exit', done));
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT'); // fast shutdown: open sessions are ended, committed work is kept
        await exited;
      }
    }
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  private useRunningServer(link: string): string {
    const cluster = existsSync(link) ? realpathSync(link) : undefined;
    const running = cluster ? runningServer(cluster) : undefined;
    if (this.options.whenInUse === 'share' && running?.port) {
      // Another process's server: stop() leaves it running, there being no child or lock of ours.
      this.port = running.port;
      this.clusterDir = cluster;
      this.log(`using the PostgreSQL server another process runs on ${link} (port ${running.port})`);
      return this.url('postgres');
    }
    throw new EmbeddedPostgresInUseError(link, running?.port || undefined);
  }

  private async startOwnServer(link: string): Promise<void> {
    const runAs = process.getuid?.() === 0 ? serverSystemUser(this.log) : undefined;
    const runtimeDir = this.options.rootRuntimeDir ?? EMBEDDED_POSTGRES_DEFAULTS.rootRuntimeDir;
    const binaries = runAs ? binariesFor(runAs, runtimeDir, this.log) : installedBinaries();
    const { cluster, linkToIt } = this.clusterFor(link, runAs, runtimeDir);
    this.clusterDir = cluster;
    await this.stopLeftoverServer(cluster, link);
    if (!existsSync(join(cluster, 'PG_VERSION'))) await this.initialise(binaries, cluster, runAs);
    if (linkToIt) {
      symlinkSync(cluster, link);
      this.log(`${link} links to ${cluster}: the "${SERVER_SYSTEM_USER}" user, which runs PostgreSQL, cannot enter ${dirname(link)}`);
    }
    for (let attempt = 1; ; attempt++) {
      const port = this.options.port ?? (await findFreePort());
      try {
        await this.launch(binaries, cluster, port, runAs);
        this.port = port;
        return;
      } catch (error) {
        // A free port found here may be taken by another process before the server binds it.
        if (!(error instanceof PortTakenError) || this.options.port !== undefined || attempt >= 5) throw error;
        this.log(`port ${port} was taken before PostgreSQL could bind it; trying another`);
      }
    }
  }

  /** Where the cluster is, or is to be made, and whether `link` is to be made a link to it once it exists (see the class comment). */
  private clusterFor(link: string, runAs: UserIds | undefined, runtimeDir: string): { cluster: string; linkToIt?: boolean } {
    const entry = lstatSync(link, { throwIfNoEntry: false });
    if (entry?.isSymbolicLink()) {
      const target = resolve(dirname(link), readlinkSync(link));
      if (!existsSync(target)) {
        throw new Error(`${link} links to ${target}, which does not exist: restore that directory, or remove the link to start an empty database`);
      }
      return { cluster: realpathSync(link) };
    }
    if (entry) {
      if (runAs && !canReach(link, runAs)) {
        throw new Error(
          `the "${SERVER_SYSTEM_USER}" user, which runs PostgreSQL when this process runs as root, cannot reach ${link}: ` +
            `move that directory under ${join(runtimeDir, 'postgres')} and leave a symbolic link to it at ${link}`,
        );
      }
      return { cluster: link };
    }
    if (!runAs || canReach(dirname(link), runAs)) return { cluster: link };
    const clusters = join(runtimeDir, 'postgres');
    ensureOpenDirectory(clusters);
    if (!canReach(clusters, runAs)) throw new Error(`the "${SERVER_SYSTEM_USER}" user can reach neither ${dirname(link)} nor ${clusters}`);
    const name = basename(dirname(link)).replace(/^\.+/, '') || 'data';
    return { cluster: join(clusters, `${name}-${randomBytes(6).toString('hex')}`), linkToIt: true };
  }

  /** Stops a server that a process which has ended left running on the cluster (it holds no lock, so its owner is gone). */
  private async stopLeftoverServer(cluster: string, link: string): Promise<void> {
    const leftover = runningServer(cluster);
    if (!leftover) return;
    if (!isServerOn(leftover.pid, [cluster, link])) {
      throw new Error(`${join(cluster, 'postmaster.pid')} names process ${leftover.pid}, which is no PostgreSQL server of this directory: if none runs on it, delete that file`);
    }
    this.log(`stopping the PostgreSQL server (pid ${leftover.pid}) that a process which has ended left running on ${cluster}`);
    process.kill(leftover.pid, 'SIGINT');
    for (let waited = 0; isAlive(leftover.pid); waited += 50) {
      if (waited >= 60_000) throw new Error(`the PostgreSQL server left running on ${cluster} (pid ${leftover.pid}) did not stop: stop it, then start again`);
      await sleep(50);
    }
  }

  /** initdb into a directory beside the cluster, renamed into place once complete: a cluster is whole or absent. */
  private async initialise(binaries: ServerBinaries, cluster: string, runAs: UserIds | undefined): Promise<void> {
    const staging = `${cluster}.initdb-${randomBytes(4).toString('hex')}`;
    const passwordFile = `${staging}.password`;
    mkdirSync(staging, { mode: 0o700 });
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    if (runAs) {
      chownSync(staging, runAs.uid, runAs.gid);
      chownSync(passwordFile, runAs.uid, runAs.gid);
    }
    try {
      await runToEnd(
        join(binaries.dir, 'bin', 'initdb'),
        [
          `--pgdata=${staging}`,
          '--auth=password',
          `--username=${SUPERUSER}`,
          `--pwfile=${passwordFile}`,
          '--encoding=UTF8',
          // The same collation and character classes on every machine, whatever locales it has.
          '--locale=C',
          '--locale-provider=builtin',
          '--builtin-locale=C.UTF-8',
        ],
        runAs,
      );
      renameSync(staging, cluster);
      this.log(`initialised a PostgreSQL cluster in ${cluster}`);
    } finally {
      rmSync(passwordFile, { force: true });
      rmSync(staging, { recursive: true, force: true });
    }
  }

  /** Starts the server and resolves once it accepts connections; rejects if it exits first. */
  private async launch(binaries: ServerBinaries, cluster: string, port: number, runAs: UserIds | undefined): Promise<void> {
    const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...this.options.settings };
    const args = ['-D', cluster, '-p', String(port), ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
    const child = spawn(join(binaries.dir, 'bin', 'postgres'), args, {
      ...runAs,
      env: { ...process.env, ...SERVER_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: !this.options.sameProcessGroup,
    });
    const recent: string[] = [];
    const onOutput = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.log(line.trim());
        recent.push(line.trim());
        if (recent.length > 20) recent.shift();
      }
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    let spawnError: Error | undefined;
    child.once('error', (error) => (spawnError = error));
    let ended = false;
    child.once('exit', () => (ended = true));

    for (;;) {
      if (spawnError) throw new Error(`PostgreSQL could not be started: ${spawnError.message}`);
      if (ended) {
        const output = recent.join(' | ');
        if (/could not bind|Address already in use/i.test(output)) throw new PortTakenError(output);
        throw new Error(`PostgreSQL stopped while starting: ${output || 'no output'}`);
      }
      if (await accepts(port)) break;
      await sleep(50);
    }
    this.child = child;
    process.on('exit', this.stopOnExit);
    child.once('exit', (code, signal) => {
      if (this.child === child) this.log(`PostgreSQL stopped unexpectedly (${signal ?? `exit code ${code}`}): ${recent.join(' | ')}`);
    });
  }
}

async function accepts(port: number): Promise<boolean> {
  const client = new Client({ host: '127.0.0.1', port, user: SUPERUSER, password: PASSWORD, database: 'postgres' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    await client.end().catch(() => undefined);
    return false;
  }
}

/** Runs a command (as `runAs`) and resolves when it succeeds; rejects with the end of its output otherwise. */
function runToEnd(command: string, args: string[], runAs: UserIds | undefined): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { ...runAs, env: { ...process.env, ...SERVER_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', (error) => fail(new Error(`${basename(command)} could not be started: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) done();
      else fail(new Error(`${basename(command)} failed (${signal ?? `exit code ${code}`}): ${output.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}
