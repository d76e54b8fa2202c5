import { readFileSync } from 'node:fs';
import { Pool } from 'pg';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * CPU used by a set of processes between start() and stop(): the service's processes, and the PostgreSQL
 * backends serving one database (server and load generator share this machine's cores, so the
 * cost of each is the figure that survives a busy machine best).
 */
export function cpuMeter(databaseUrl: string, servicePids: number | number[], options: { backendsOf?: string } = {}) {
  const pids = Array.isArray(servicePids) ? servicePids : [servicePids];
  const serviceSeconds = () => pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  // With backendsOf, only the backends whose application_name starts with it (the service's, not the load generator's).
  const backendPids = async () =>
    (
      await pool.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND ($1::text IS NULL OR starts_with(application_name, $1))",
        [options.backendsOf ?? null],
      )
    ).rows.map((r) => r.pid);
  let startService = 0;
  let startEach: number[] = [];
  let startBackends = new Map<number, number>();
  return {
    async start() {
      startService = serviceSeconds();
      startEach = pids.map(processCpuSeconds);
      startBackends = new Map((await backendPids()).map((pid) => [pid, processCpuSeconds(pid)]));
    },
    /** Seconds of CPU used since start() by the service (and by each of its processes, in order) and by the database's backends. */
    async stop(): Promise<{ service: number; perProcess: number[]; database: number }> {
      const service = serviceSeconds() - startService;
      const perProcess = pids.map((pid, index) => processCpuSeconds(pid) - startEach[index]);
      let database = 0;
      for (const pid of new Set([...startBackends.keys(), ...(await backendPids())])) {
        database += Math.max(0, processCpuSeconds(pid) - (startBackends.get(pid) ?? 0));
      }
      await pool.end();
      return { service, perProcess, database };
    },
  };
}
