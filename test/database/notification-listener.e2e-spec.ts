import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { NotificationListener } from '../../src/database/notification-listener';
import { eventually } from '../support/eventually';
import { createStoreFixture, type StoreFixture } from '../support/sql';

/** A listener whose log lines are kept, on a channel of its own. */
function recordingLogger(): { logger: Logger; lines: { level: string; message: unknown }[] } {
  const lines: { level: string; message: unknown }[] = [];
  const logger = new Logger('test');
  logger.log = (message: unknown) => void lines.push({ level: 'log', message });
  logger.warn = (message: unknown) => void lines.push({ level: 'warn', message });
  return { logger, lines };
}

describe('database: a LISTEN connection that is lost', () => {
  let fixture: StoreFixture;
  beforeAll(async () => (fixture = await createStoreFixture(4)));
  afterAll(() => fixture?.close());

  const listeningPids = async (channel: string) =>
    (
      await fixture.db.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = $1 AND state = 'idle' AND pid <> pg_backend_pid()",
        [`LISTEN ${channel}`],
      )
    ).map((row) => row.pid);

  it('listens again after its backend is terminated, says so, and hears what comes next', async () => {
    const channel = `test_${randomBytes(6).toString('hex')}`;
    const heard: string[] = [];
    let resumed = 0;
    const { logger, lines } = recordingLogger();
    const listener = new NotificationListener(
      fixture.pool,
      { channel, announces: 'test notices', meanwhile: 'polling only', onNotification: (payload) => heard.push(payload), onResumed: () => resumed++, retryMaxMs: 200 },
      logger,
    );
    try {
      await listener.start();
      expect(listener.listening).toBe(true);
      await fixture.db.query('SELECT pg_notify($1, $2)', [channel, 'before']);
      await eventually(() => (heard.includes('before') ? true : undefined), 'the first notice');

      const [pid] = await listeningPids(channel);
      expect(pid).toEqual(expect.any(Number));
      await fixture.db.query('SELECT pg_terminate_backend($1)', [pid]);

      // Listening again on a new connection: a notice sent now is heard.
      const [newPid] = await eventually(async () => {
        const pids = await listeningPids(channel);
        return pids.length === 1 && pids[0] !== pid && listener.listening ? pids : undefined;
      }, 'a new LISTEN connection');
      expect(newPid).not.toBe(pid);
      await fixture.db.query('SELECT pg_notify($1, $2)', [channel, 'after']);
      await eventually(() => (heard.includes('after') ? true : undefined), 'the notice after the loss');
      expect(resumed).toBe(1);
      expect(lines).toEqual([
        { level: 'warn', message: expect.objectContaining({ channel, message: expect.stringMatching(new RegExp(`^LISTEN ${channel} unavailable \\(.+\\): polling only until it is back$`)) }) },
        { level: 'log', message: { message: 'listening for test notices again', channel } },
      ]);
    } finally {
      await listener.stop();
    }
    expect(listener.listening).toBe(false);
    // Stopped: its connection went back to the pool without the LISTEN.
    await eventually(async () => ((await listeningPids(channel)).length === 0 ? true : undefined), 'no connection left listening');
  });

  it('when nobody wants it any more, does not listen again until started', async () => {
    const channel = `test_${randomBytes(6).toString('hex')}`;
    let wanted = false;
    let asked = 0;
    const whetherWanted = () => {
      asked++;
      return wanted;
    };
    const { logger } = recordingLogger();
    const listener = new NotificationListener(fixture.pool, { channel, announces: 'test notices', meanwhile: 'nothing', onNotification: () => undefined, wanted: whetherWanted, retryMaxMs: 50 }, logger);
    try {
      await listener.start();
      const [pid] = await listeningPids(channel);
      await fixture.db.query('SELECT pg_terminate_backend($1)', [pid]);
      await eventually(() => (listener.listening ? undefined : true), 'the loss to be seen');
      // Its retry came, asked, and went without listening.
      await eventually(() => (asked > 0 ? true : undefined), 'the retry to ask whether it is wanted');
      expect(listener.listening).toBe(false);
      expect(await listeningPids(channel)).toEqual([]);
      wanted = true;
      await listener.start();
      expect(listener.listening).toBe(true);
      expect(await listeningPids(channel)).toHaveLength(1);
    } finally {
      await listener.stop();
    }
  });
});
