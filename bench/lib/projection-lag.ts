import { Pool } from 'pg';

/** The subscription that builds the message views (src/whatsapp/projections). */
export const VIEWS_SUBSCRIPTION = 'whatsapp_message_views';

/**
 * How far a subscription is behind, in seconds: the age of the oldest committed event it has not
 * processed yet (0 when it is caught up). Read straight from the store, like GET /health does.
 */
export async function secondsBehind(pool: Pool, subscription: string): Promise<number> {
  // The checkpoint first, then the log from it with constants: the index on the log's order
  // serves a row comparison with constants, not one with another table's columns.
  const { rows: checkpoint } = await pool.query<{ transaction_id: string; global_position: string }>(
    'SELECT last_transaction_id::text AS transaction_id, last_global_position AS global_position FROM es_subscriptions WHERE name = $1',
    [subscription],
  );
  const after = checkpoint[0] ?? { transaction_id: '0', global_position: '0' };
  // A part of a subscription cut by stream ("name#k/n") reads only its streams, as the service does.
  const part = /#(\d+)\/(\d+)$/.exec(subscription);
  const { rows } = await pool.query<{ behind: number | null }>(
    `SELECT extract(epoch FROM clock_timestamp() - e.created_at)::float8 AS behind
       FROM es_events e
      WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)${part ? ' AND (hashtext(e.stream_id) & 2147483647) % $3 = $4' : ''}
      ORDER BY e.transaction_id, e.global_position LIMIT 1`,
    part ? [after.transaction_id, after.global_position, Number(part[2]), Number(part[1]) - 1] : [after.transaction_id, after.global_position],
  );
  return rows[0]?.behind ?? 0;
}

/** Names of the subscriptions the service has registered (they differ between builds). */
export async function subscriptionNames(databaseUrl: string): Promise<string[]> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    return (await pool.query<{ name: string }>('SELECT name FROM es_subscriptions ORDER BY name')).rows.map((r) => r.name);
  } finally {
    await pool.end();
  }
}

/** Samples the lag of a subscription (of the slowest, given several) every `everyMs` until stopped; returns the samples. */
export function sampleLag(databaseUrl: string, subscriptions: string | readonly string[], everyMs = 200): { stop(): Promise<number[]> } {
  const names = typeof subscriptions === 'string' ? [subscriptions] : subscriptions;
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      let worst = 0;
      for (const name of names) worst = Math.max(worst, await secondsBehind(pool, name));
      samples.push(worst);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await pool.end();
      return samples;
    },
  };
}

/** Waits until every subscription has processed every event committed so far. */
export async function waitForSubscriptions(databaseUrl: string, names: string[], timeoutMs = 600_000): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  const started = Date.now();
  try {
    for (;;) {
      const lags = await Promise.all(names.map((name) => secondsBehind(pool, name)));
      const { rows } = await pool.query<{ missing: number }>('SELECT $1::int - count(*)::int AS missing FROM es_subscriptions WHERE name = ANY($2)', [names.length, names]);
      if (lags.every((lag) => lag === 0) && rows[0].missing === 0) return Date.now() - started;
      if (Date.now() - started > timeoutMs) throw new Error(`subscriptions ${names.join(', ')} not caught up after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await pool.end();
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
