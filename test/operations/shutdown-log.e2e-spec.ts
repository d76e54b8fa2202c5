import { once } from 'node:events';
import { portOutsideEphemeralRange } from '../support/ports';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/** The JSON log lines a service process wrote, in order (anything else it wrote is left out). */
function jsonLines(output: string): Record<string, unknown>[] {
  return output.split('\n').flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as unknown;
      return typeof parsed === 'object' && parsed !== null ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

describe('shutdown: the last log line says the service stopped', () => {
  let database: TestDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  it('on SIGTERM, writes "stopped" with the signal and how long the shutdown took, once everything has closed, and exits 0', async () => {
    service = await startServiceProcess({ port: await portOutsideEphemeralRange(), env: { DATABASE_URL: database.url, LOG_LEVEL: 'info', LOG_FORMAT: 'json' } });
    // 'close': the process has exited and everything it wrote has been read.
    const closed = once(service.child, 'close');
    service.child.kill('SIGTERM');
    const [code, signal] = (await closed) as [number | null, NodeJS.Signals | null];

    const lines = jsonLines(service.output());
    const received = lines.findIndex((line) => line.message === 'SIGTERM received: finishing work in flight, then stopping');
    expect(received).toBeGreaterThanOrEqual(0);
    // Nothing after it: the HTTP server, the workers and the database pool closed before it was written.
    expect(lines.at(-1)).toEqual({
      level: 'info',
      time: expect.any(String),
      pid: service.pid,
      hostname: expect.any(String),
      context: 'Main',
      message: 'stopped',
      signal: 'SIGTERM',
      durationMs: expect.any(Number),
    });
    expect(lines.at(-1)!.durationMs).toBeGreaterThanOrEqual(0);
    expect(lines.length - 1).toBeGreaterThan(received);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
