import type { Pool, PoolClient, QueryConfig, QueryResultRow } from 'pg';

/** Anything that runs SQL: the pool itself, or one transaction's client. */
export interface SqlExecutor {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

export function isRetryableTransactionError(error: unknown): boolean {
  return RETRYABLE_SQLSTATES.has((error as { code?: string })?.code ?? '');
}

/** A connection's lasting 'error' listener: the loss reaches its holder through its next query. */
function connectionLost(): void {}

/** Gives a connection its lasting 'error' listener, once. */
function keepErrorsHeard(client: PoolClient): void {
  if (!client.listeners('error').includes(connectionLost)) client.on('error', connectionLost);
}

/** Statement names by SQL text; bounded, so that SQL built at run time cannot grow it forever. */
const statementNames = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 2000;

/**
 * A query with parameters goes out as a named prepared statement: each connection parses and
 * plans it once, then only binds and executes it. The service's SQL texts are a fixed set, and
 * planning them (the larger ones especially) was a noticeable share of the database's time.
 */
export function preparedQuery(sql: string, params: readonly unknown[] | undefined): QueryConfig | string {
  if (!params) return sql;
  let name = statementNames.get(sql);
  if (name === undefined) {
    if (statementNames.size >= MAX_NAMED_STATEMENTS) return { text: sql, values: params as unknown[] };
    name = `s${statementNames.size + 1}`;
    statementNames.set(sql, name);
  }
  return { name, text: sql, values: params as unknown[] };
}

class ClientExecutor implements SqlExecutor {
  constructor(private readonly client: PoolClient) {}
  async query<R extends QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    return (await this.client.query<R>(preparedQuery(sql, params))).rows;
  }
}

/**
 * Plain SQL over the application's connection pool. Hot paths (event appends, projections,
 * dispatch) use it directly; TypeORM owns the schema and its migrations.
 */
export class Database implements SqlExecutor {
  constructor(readonly pool: Pool) {
    // A connection the server drops while idle in the pool must not crash the process; the
    // pool replaces it. (pg emits 'error' and an unhandled one would be thrown.)
    if (pool.listenerCount('error') === 0) pool.on('error', () => undefined);
    // Nor one dropped while lent out between two statements, whoever holds it: each connection
    // keeps a listener of its own, and its holder still learns of the loss from its next query
    // (the pool then closes it). Connections made before this pool was handed over are given one
    // when they are next lent.
    pool.on('connect', keepErrorsHeard);
    pool.on('acquire', keepErrorsHeard);
  }

  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    return (await this.pool.query<R>(preparedQuery(sql, params))).rows;
  }

  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * Serialization failures and deadlocks are retried from the start (a new transaction), so
   * `work` must do nothing outside the database that cannot be done twice.
   */
  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>, maxAttempts = 5): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transactionOnce(work);
      } catch (error) {
        if (attempt >= maxAttempts || !isRetryableTransactionError(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }

  private async transactionOnce<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // Dropped between two statements: the next query fails and the error reaches the caller
    // (the connection's own listener keeps the 'error' event from being thrown).
    const client = await this.pool.connect();
    /** Set when the connection cannot even roll back: it is closed rather than lent again. */
    let unusable: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(new ClientExecutor(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (unusable = rollbackError));
      throw error;
    } finally {
      // A connection the server ended during a statement looks usable to the pool (pg reports
      // the end to that statement only); lent again, it would fail whoever got it next.
      client.release(unusable);
    }
  }

  /** A client of its own, for work that must stay on one session (advisory locks, LISTEN). */
  async withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  }
}
