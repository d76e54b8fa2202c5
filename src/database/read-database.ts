import { Pool } from 'pg';
import { DEFAULT_SCHEMA } from './data-source-options';
import { Database } from './database';

/**
 * The connections the query routes read through: a replica's (DATABASE_READ_URL) when one is
 * given, the primary's pool otherwise. A replica is behind the primary by its replication lag,
 * so what was just written may not show at once (docs/deployments.md); nothing writes here.
 */
export class ReadDatabase extends Database {
  private constructor(
    pool: Pool,
    /** True when the pool is a replica's, opened (and to be closed) here. */
    readonly isReplica: boolean,
  ) {
    super(pool);
  }

  static onPrimary(primary: Database): ReadDatabase {
    return new ReadDatabase(primary.pool, false);
  }

  /** The replica's own pool, its connections on the service's schema as the primary's are. */
  static onReplica(url: string, size: number, connectTimeoutMs: number, schema: string): ReadDatabase {
    const options = schema === DEFAULT_SCHEMA ? {} : { options: `-c search_path=${schema}` };
    return new ReadDatabase(
      new Pool({ connectionString: url, max: size, connectionTimeoutMillis: connectTimeoutMs, application_name: 'whatsapp-notify (reads)', ...options }),
      true,
    );
  }

  /** How far the replica's replay is behind, in seconds (0 on the primary, or with nothing to replay). */
  async replicationLagSeconds(): Promise<number> {
    if (!this.isReplica) return 0;
    const [row] = await this.query<{ lag: number | null }>(
      // Nothing received but not replayed: caught up, however long ago the last write was.
      `SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                   ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS lag`,
    );
    return Math.max(0, Math.round((row?.lag ?? 0) * 1000) / 1000);
  }

  async close(): Promise<void> {
    if (this.isReplica) await this.pool.end();
  }
}
