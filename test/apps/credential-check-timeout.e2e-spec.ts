import { execFileSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { PoolClient } from 'pg';
import request from 'supertest';
import { captureLog } from '../support/captured-log';
import { eventually } from '../support/eventually';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { startTestApp, type TestApp } from '../support/test-app';
import { appAuth, createApp, expectErrorBody } from './app-helpers';

/**
 * CREDENTIAL_CHECK_TIMEOUT_MS here: long enough that a check which is not held up ends within it
 * on a loaded machine (one read, one hash), short enough to wait for.
 */
const PATIENCE_MS = 3000;

/** libuv's thread pool, where scrypt runs (UV_THREADPOOL_SIZE, 4 unless set). */
const THREAD_POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

/**
 * A credential check that does not end (its read waits on a lock, its hash on a thread pool kept
 * busy) holds the requests sharing it for CREDENTIAL_CHECK_TIMEOUT_MS only: they are answered 503,
 * a warning says where it was stuck, and the next request checks again.
 */
describe('a stuck check of API credentials', () => {
  const log = captureLog();
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CREDENTIAL_CHECK_TIMEOUT_MS: String(PATIENCE_MS), LOG_FORMAT: 'json', LOG_LEVEL: 'warn' }, logDestination: log.stream });
  });
  afterAll(() => t.close());

  const messages = (credentials: { apiKey: string; apiSecret: string }) => request(t.url).get('/v3/messages').set(appAuth(credentials));
  const stuckWarnings = (stage: string) =>
    log.lines().filter((line) => line.stage === stage && line.message.includes(`credential check has run for over ${PATIENCE_MS} ms`));
  /** The warnings of checks stuck at `stage`, once there are more than `before`. */
  const expectStuck = (stage: string, before = 0) =>
    eventually(() => (stuckWarnings(stage).length > before ? stuckWarnings(stage) : undefined), `a warning of a check stuck ${stage}`);
  /** Once nothing holds the check up, the app's requests go through again (each starts a check of its own until one ends in time). */
  const expectAnswered = (app: { apiKey: string; apiSecret: string }) =>
    eventually(async () => ((await messages(app)).status === 200 ? true : undefined), 'a request of the app to be answered 200');

  it('answers 503 while the app cannot be read, then checks again', async () => {
    const app = await createApp(t, 'Locked out');
    const locker: PoolClient = await t.db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE apps IN ACCESS EXCLUSIVE MODE');
      const answers = await Promise.all(Array.from({ length: 5 }, () => messages(app)));
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expectErrorBody(answer.body, 503);
        expect(answer.body.message).toMatch(/Checking your API credentials is taking too long right now; send the request again shortly/);
        expect(answer.headers['retry-after']).toBe('1');
      }
      // The check was stuck reading the app; the next request starts another rather than wait on it.
      const [warning] = await expectStuck('reading the app');
      expect(warning).toMatchObject({ level: 'warn', pool: { total: expect.any(Number), idle: expect.any(Number), waiting: expect.any(Number) } });
      const before = stuckWarnings('reading the app').length;
      await messages(app).expect(503);
      await expectStuck('reading the app', before);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    await expectAnswered(app);
    await eventually(() => (log.lines().some((line) => /a stuck API credential check ended after/.test(line.message)) ? true : undefined), 'the stuck checks to be logged as ended');
  });

  it('answers 503 while no thread is free to hash the secret, then checks again', async () => {
    const app = await createApp(t, 'No threads');
    // Opening a FIFO for reading waits for a writer, in a thread of the pool: all of them, here.
    const dir = makeTempDir('fifos-');
    const fifos = Array.from({ length: THREAD_POOL_SIZE }, (_, i) => join(dir, `fifo-${i}`));
    for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
    const readers: Promise<FileHandle>[] = fifos.map((fifo) => open(fifo, 'r'));
    try {
      const answer = await messages(app);
      expect(answer.status).toBe(503);
      const warnings = await expectStuck('hashing the secret');
      expect(warnings.some((warning) => warning.checkedAppId === app.id)).toBe(true);
    } finally {
      // A writer for each FIFO lets its reader's open end, and the thread go back to the pool.
      for (const fifo of fifos) closeSync(openSync(fifo, 'w'));
      for (const reader of await Promise.all(readers)) await reader.close();
      removeTempDir(dir);
    }
    await expectAnswered(app);
  });
});
