import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';

/** The PostgreSQL server a benchmark run uses: DATABASE_URL's, or the embedded default. */
export interface BenchPostgres {
  /** 'DATABASE_URL' or 'embedded'. */
  kind: 'DATABASE_URL' | 'embedded';
  /** Connection URL of the server's maintenance database. */
  adminUrl: string;
  version: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  /**
   * Writes out what earlier work left dirty (a CHECKPOINT, then the kernel's page cache), so that
   * a benchmark's commits do not wait behind the previous one's writes to the same disk.
   */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** How reports name the server: "DATABASE_URL PostgreSQL 15.20" or "embedded PostgreSQL 18.1". */
export function serverLabel(postgres: BenchPostgres): string {
  return `${postgres.kind} PostgreSQL ${postgres.version}`;
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
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

/** One connection to a benchmark's database for `work`, closed after it. */
export async function withPool<T>(databaseUrl: string, work: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

/**
 * The machine's server when DATABASE_URL is set, else an embedded PostgreSQL kept under
 * .data/bench-postgres (initialised on the first run, reused afterwards).
 */
export async function openBenchPostgres(): Promise<BenchPostgres> {
  let adminUrl = process.env.DATABASE_URL;
  let embedded: EmbeddedPostgresServer | undefined;
  if (!adminUrl) {
    embedded = new EmbeddedPostgresServer({ dataDir: join(process.cwd(), '.data', 'bench-postgres') });
    adminUrl = await embedded.start();
  }
  const version = await withClient(adminUrl, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v);
  const url = adminUrl;
  return {
    kind: embedded ? 'embedded' : 'DATABASE_URL',
    adminUrl: url,
    version,
    async createDatabase(name) {
      await withClient(url, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.query(`CREATE DATABASE ${name}`);
      });
      return databaseUrl(url, name);
    },
    async dropDatabase(name) {
      await withClient(url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
    async settle() {
      await withClient(url, (c) => c.query('CHECKPOINT'));
      execFileSync('sync');
    },
    async stop() {
      await embedded?.stop();
    },
  };
}
