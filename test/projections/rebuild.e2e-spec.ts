import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EventStore } from '../../src/event-store';
import { foldMessageView, messageStreamId } from '../../src/whatsapp/domain';
import {
  MESSAGE_STATUS_COLUMNS,
  messageViewFromRow,
  ProjectionRebuilder,
  RebuildProjectionsCommand,
  UnknownProjectionError,
  type MessageStatusRow,
} from '../../src/whatsapp/projections';
import { GIVE_UP_AFTER_MS } from '../support/eventually';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { startTestApp, TEST_ADMIN_TOKEN, TEST_SECRET_KEY, type TestApp } from '../support/test-app';
import { appendRandomWorkload } from './random-workload';
import { snapshotViews, waitForProjections } from './whatsapp-test-data';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

describe('projections:rebuild', () => {
  let t: TestApp;
  let liveSnapshot: Record<string, string[]>;

  beforeAll(async () => {
    // Small live batches and small rebuild batches: both cross many batch boundaries.
    t = await startTestApp({ env: { SUBSCRIPTION_BATCH_SIZE: '37', PROJECTION_REBUILD_BATCH_SIZE: '211' } });
    await appendRandomWorkload(t.db, t.app.get(EventStore), {
      appIds: ['app-a', 'app-b', 'app-c'],
      messages: 250,
      writers: 8,
      seed: 20260301,
      startDay: '2026-03-01T00:00:00.000Z',
    });
    await waitForProjections(t);
    liveSnapshot = await snapshotViews(t.db);
  });
  afterAll(() => t?.close());

  it('built live every message view exactly as the domain folds its stream', async () => {
    const rows = await t.db.query<MessageStatusRow>(`SELECT ${MESSAGE_STATUS_COLUMNS} FROM message_status_view m`);
    expect(rows).toHaveLength(250);
    const store = t.app.get(EventStore);
    for (const row of rows) {
      const events = await store.readStream(messageStreamId(row.message_id));
      expect(messageViewFromRow(row)).toEqual(foldMessageView(events));
      expect(Number(row.last_stream_position)).toBe(events.length);
    }
    // The workload reached every status and the summaries add up to the messages.
    const [counts] = await t.db.query<{ statuses: number; mismatched: number }>(
      `SELECT (SELECT count(DISTINCT status) FROM message_status_view)::int AS statuses,
              (SELECT count(*) FROM notification_summary_view s
                WHERE s.message_count <> (SELECT count(*) FROM message_status_view m WHERE m.request_id = s.request_id)
                   OR s.queued + s.sent + s.delivered + s.seen + s.discarded <> s.message_count)::int AS mismatched`,
    );
    expect(counts).toEqual({ statuses: 5, mismatched: 0 });
  });

  it('rebuilding from zero with the service method gives the same views as the live subscription', async () => {
    const results = await t.app.get(ProjectionRebuilder).rebuild();
    expect(results).toEqual([expect.objectContaining({ projection: 'whatsapp_message_views', events: expect.any(Number) })]);
    expect(results[0].events).toBeGreaterThan(250);
    // No assertion on results[0].batches: the live subscription may take some of the turns.
    expect(await snapshotViews(t.db)).toEqual(liveSnapshot);
  });

  it('a projection can be named by one of its tables, and an unknown name is refused', async () => {
    await expect(t.app.get(ProjectionRebuilder).rebuild('whatsapp_daily_stats')).resolves.toHaveLength(1);
    expect(await snapshotViews(t.db)).toEqual(liveSnapshot);
    await expect(t.app.get(ProjectionRebuilder).rebuild('nope')).rejects.toThrow(UnknownProjectionError);
  });

  it('the command reports an unknown name on stderr with exit code 2, and rebuilds nothing', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await t.app.get(RebuildProjectionsCommand).run(['no_such_view']);
      expect(process.exitCode).toBe(2);
      expect(stderr).toHaveBeenCalledWith(expect.stringContaining('No projection named "no_such_view"; known: whatsapp_message_views'));
    } finally {
      stderr.mockRestore();
      process.exitCode = undefined;
    }
    expect(await snapshotViews(t.db)).toEqual(liveSnapshot);
  });

  it('npm run cli -- projections:rebuild, beside the running service, gives the same views', async () => {
    const dataDir = makeTempDir('cli-');
    const env = {
      ...process.env,
      DATABASE_URL: t.database.url,
      DATA_DIR: dataDir,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      SECRET_KEY: TEST_SECRET_KEY,
    };
    // The timeout only ends a command that hangs.
    const cli = (...args: string[]) => run(process.execPath, ['-r', '@swc-node/register', 'src/cli.ts', ...args], { cwd: ROOT, env, timeout: GIVE_UP_AFTER_MS });
    const { stdout } = await cli('projections:rebuild', 'message_status_view').finally(() => removeTempDir(dataDir));
    const lines = stdout.split('\n');
    const report = lines.find((line) => line.startsWith('{"projection"'));
    expect(JSON.parse(report ?? 'null')).toMatchObject({ projection: 'whatsapp_message_views', events: expect.any(Number) });
    // Not a terminal: progress lines as it goes, before the report.
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    expect(at(/^whatsapp_message_views: reading \d+ events, stream by stream$/)).toBe(0);
    expect(at(/^whatsapp_message_views: (\d+) of \1 events read \(100%\)$/)).toBeGreaterThan(0);
    expect(at(/^whatsapp_message_views: every stream read; catching up with the events committed since the rebuild began$/)).toBeGreaterThan(at(/of \d+ events read/));
    expect(lines.indexOf(report!)).toBeGreaterThan(at(/catching up/));
    await waitForProjections(t);
    expect(await snapshotViews(t.db)).toEqual(liveSnapshot);
  });
});
