/**
 * The least a durable webhook sender can do, for the webhooks floor benchmark: deliveries already
 * queued as rows; rounds of one statement each that record the attempts that ended and claim as
 * many queued rows as there are free slots (64 in flight), group-committed as the service's
 * senders are; each claimed body signed and posted with the service's HTTP client. No per-endpoint
 * limits, no order per message, no attempt log, no retries, no leases: what is left is the work
 * any sender that commits each outcome must do. Runs until `FLOOR_COUNT` outcomes are recorded.
 */
import { Pool } from 'pg';
import { WebhookHttpClient } from '../../src/webhooks/sending/webhook-http-client';
import { WebhookSigner, newWebhookSecret } from '../../src/webhooks/sending/webhook-signing';

const IN_FLIGHT = 64;

const ROUND_SQL = `
  WITH recorded AS (
    UPDATE floor_deliveries SET state = 2, status_code = r.status_code, delivered_at = now()
      FROM unnest($1::bigint[], $2::integer[]) AS r (id, status_code)
     WHERE floor_deliveries.id = r.id AND floor_deliveries.state = 1
    RETURNING 1),
  claimed AS (
    UPDATE floor_deliveries d SET state = 1, attempts = d.attempts + 1
     WHERE d.id = ANY (ARRAY(SELECT q.id FROM floor_deliveries q WHERE q.state = 0 ORDER BY q.id LIMIT $3 FOR UPDATE SKIP LOCKED))
    RETURNING d.id, d.body)
  SELECT id, body, (SELECT count(*) FROM recorded)::integer AS recorded FROM claimed`;

async function main(): Promise<void> {
  const url = process.env.FLOOR_RECEIVER_URL!;
  const total = Number(process.env.FLOOR_COUNT);
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 1, application_name: 'floor-sender' });
  const http = new WebhookHttpClient({ timeoutMs: 2000, allowPrivate: true, connectionsPerEndpoint: IN_FLIGHT });
  const signer = new WebhookSigner(newWebhookSecret());
  await pool.query('SELECT 1');
  // Ready, connected; the benchmark starts its CPU meter and then says go.
  process.stdout.write('ready\n');
  const input = process.stdin;
  await new Promise<void>((resolve) => input.once('data', () => resolve()));
  let outcomes: { id: string; statusCode: number | null }[] = [];
  let inFlight = 0;
  let recorded = 0;
  let wake: (() => void) | undefined;
  const post = async (id: string, body: string) => {
    const at = Date.now();
    const result = await http.post('floor', url, body, { ...signer.sign(id, at, body) });
    outcomes.push({ id, statusCode: result.statusCode });
    wake?.();
  };
  while (recorded < total) {
    const batch = outcomes;
    outcomes = [];
    const limit = IN_FLIGHT - inFlight + batch.length;
    const { rows } = await pool.query<{ id: string; body: string }>(ROUND_SQL, [batch.map((o) => o.id), batch.map((o) => o.statusCode), limit]);
    recorded += batch.length;
    inFlight += rows.length - batch.length;
    for (const row of rows) void post(row.id, row.body);
    if (outcomes.length === 0 && recorded < total) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
  // Done: the benchmark reads the CPU used, then closes stdin.
  process.stdout.write('done\n');
  await new Promise<void>((resolve) => input.once('end', () => resolve()).resume());
  await http.close();
  await pool.end();
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
