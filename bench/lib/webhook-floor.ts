import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Pool } from 'pg';
import { cpuMeter } from './cpu-usage';

export interface FloorRun {
  deliveries: number;
  /** First receipt to last. */
  rate: number;
  /** CPU seconds per delivery: the sender's process and its PostgreSQL backend. */
  senderCpu: number;
  databaseCpu: number;
}

/**
 * The least durable sender (lib/floor-sender.ts, a process of its own as the service is) posting
 * `bodies` to `url`: a second baseline for the webhooks benchmark, the rate any sender that
 * commits each outcome reaches on this machine. Its queue is a table of its own in the benchmark's
 * database, filled before the clock starts (as the replay's queue is filled before its first
 * receipt), and dropped after. `receiptTimes()` gives the times of what the receiver got at `url`.
 */
export async function runFloorSender(
  pool: Pool,
  databaseUrl: string,
  url: string,
  bodies: readonly string[],
  receiptTimes: () => number[],
): Promise<FloorRun> {
  await pool.query(`
    CREATE TABLE floor_deliveries (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL, state smallint NOT NULL DEFAULT 0,
      attempts integer NOT NULL DEFAULT 0, status_code integer, created_at timestamptz NOT NULL DEFAULT now(), delivered_at timestamptz)`);
  try {
    await pool.query('CREATE INDEX floor_deliveries_queued ON floor_deliveries (id) WHERE state = 0');
    await pool.query('INSERT INTO floor_deliveries (body) SELECT unnest($1::text[])', [bodies]);
    await pool.query('VACUUM ANALYZE floor_deliveries');
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'bench/lib/floor-sender.ts'], {
      env: { ...process.env, DATABASE_URL: databaseUrl, FLOOR_RECEIVER_URL: url, FLOOR_COUNT: String(bodies.length) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    const failed = exited.then(([code]) => Promise.reject(new Error(`the floor sender exited with ${code}`)));
    failed.catch(() => undefined);
    // It says "ready" once connected, and "done" once every outcome is recorded.
    await Promise.race([once(child.stdout!, 'data'), failed]);
    const cpu = cpuMeter(databaseUrl, child.pid!, { backendsOf: 'floor-sender' });
    await cpu.start();
    child.stdin!.write('go\n');
    await Promise.race([once(child.stdout!, 'data'), failed]);
    const used = await cpu.stop();
    child.stdin!.end();
    await exited;
    const times = receiptTimes();
    return {
      deliveries: bodies.length,
      rate: (times.length - 1) / ((times[times.length - 1] - times[0]) / 1000),
      senderCpu: used.service / bodies.length,
      databaseCpu: used.database / bodies.length,
    };
  } finally {
    await pool.query('DROP TABLE IF EXISTS floor_deliveries');
  }
}
