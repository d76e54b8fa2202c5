import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { buildCallbackBody } from '../../tools/simulator/callback-payloads';
import { GIVE_UP_AFTER_MS } from '../support/eventually';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { TEST_SECRET_KEY, type TestApp } from '../support/test-app';
import { catchUp, createTenant, deliveryEvents, postRawCallback, queueMessage, startTrackingApp } from './tracking-kit';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

/** `npm run cli -- ...args` in a child process, as an operator runs it. */
async function cli(databaseUrl: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dataDir = makeTempDir('cli-data-');
  const env = { ...process.env, DATABASE_URL: databaseUrl, DATA_DIR: dataDir, SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'error' };
  try {
    // The timeout only ends a command that hangs.
    const { stdout, stderr } = await run('npm', ['run', '-s', 'cli', '--', ...args], { cwd: ROOT, env, timeout: GIVE_UP_AFTER_MS });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  } finally {
    removeTempDir(dataDir);
  }
}

describe('npm run cli -- tracking:retranslate', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTrackingApp()));
  afterAll(() => t.close());

  it('translates the recorded callbacks from a time, beside the service, and refuses a time it cannot read', async () => {
    const tenant = await createTenant(t);
    const gupshupId = randomUUID();
    const message = await queueMessage(t, tenant.id, { gupshupId });
    await catchUp(t);
    const ctx = { gupshupMessageId: gupshupId, whatsappMessageId: `wamid.${gupshupId}`, destination: '919985010102', appName: 'DemoAPI', appSource: '917834811114', appId: 'gs', kind: 'session' as const };
    await postRawCallback(t, tenant.apiKey, buildCallbackBody('v2', ctx, { status: 'delivered', occurredAtMs: Date.now() - 1000, omitGsId: false, v3FailedStyle: 'errors' })).expect(200);

    // The service translates nothing here (its subscriptions are driven by the test): the command does.
    const from = new Date(Date.now() - 60 * 60 * 1000).toISOString();
    const done = await cli(t.database.url, 'tracking:retranslate', '--from', from);
    expect(done).toMatchObject({ code: 0 });
    expect(JSON.parse(done.stdout.trim().split('\n').at(-1)!)).toEqual({ from, batches: expect.any(Number) });
    expect((await deliveryEvents(t, message.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered']);

    const refused = await cli(t.database.url, 'tracking:retranslate', '--from', 'last tuesday');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--from must be an ISO 8601 time/);
  });
});
