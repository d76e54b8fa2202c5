import { chmodSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';
import { portOutsideEphemeralRange } from './ports';
import { exitWithParent } from './exit-with-parent';
import { makeTempDir, removeTempDir } from './temp-dirs';

/**
 * A PostgreSQL server of the test's own (the embedded-postgres binaries, its own cluster and
 * port), which the test may stop and start again while a service uses it. The port stays the
 * same across restarts, so connection strings handed out stay valid.
 */
export class PostgresCluster {
  private server: EmbeddedPostgresServer;
  private running = false;

  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {
    this.server = this.newServer();
  }

  static async start(): Promise<PostgresCluster> {
    const dir = makeTempDir('cluster-');
    // As root the server runs as the postgres user, which must reach its cluster in here.
    chmodSync(dir, 0o755);
    const cluster = new PostgresCluster(dir, await portOutsideEphemeralRange());
    try {
      await cluster.startServer();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  get isRunning(): boolean {
    return this.running;
  }

  url(database: string): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabase(name: string): Promise<string> {
    const client = new Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /** A fast shutdown: open sessions are ended, committed work is kept. */
  async stop(): Promise<void> {
    this.running = false;
    await this.server.stop();
  }

  /** Starts the server again on the same cluster and port. */
  async startServer(): Promise<void> {
    this.server = this.newServer();
    await this.server.start();
    this.running = true;
    const pid = this.postmasterPid();
    if (pid) exitWithParent(pid, 'SIGINT');
  }

  /** Stops the server (if running) and removes the cluster. */
  async destroy(): Promise<void> {
    await this.server.stop().catch(() => undefined);
    this.running = false;
    removeTempDir(this.dir);
  }

  private postmasterPid(): number | undefined {
    if (!this.server.clusterDir) return undefined;
    const pid = Number(readFileSync(join(this.server.clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  private newServer(): EmbeddedPostgresServer {
    return new EmbeddedPostgresServer({
      dataDir: join(this.dir, 'postgres'),
      port: this.port,
      // As root, where a copy of the binaries goes when the postgres user cannot reach the project's (shared by the run).
      rootRuntimeDir: process.env.TEST_TEMP_ROOT ? dirname(process.env.TEST_TEMP_ROOT) : this.dir,
      sameProcessGroup: true,
      settings: { max_connections: '100' },
    });
  }
}
