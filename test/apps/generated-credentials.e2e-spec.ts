import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { resolveAdminToken } from '../../src/apps/admin/admin-token';
import { loadSecretKey } from '../../src/apps/providers/credential-cipher';
import { readOrCreateSecretFile } from '../../src/apps/secret-file';
import { createApp as createService } from '../../src/bootstrap';
import { AppConfig } from '../../src/config/app-config';
import { startupBanner, startupFacts } from '../../src/startup-banner';
import { GupshupProviderConfigService } from '../../src/apps';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { appAuth, gupshupApiKey } from './app-helpers';

const tempDirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-generated-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('Generated credential files', () => {
  it('creates a secret file once, mode 0600, and every later reader gets the same value', () => {
    const path = join(tempDir(), 'nested', 'value');
    let calls = 0;
    const generate = () => `value-${++calls}`;
    expect(readOrCreateSecretFile(path, generate)).toEqual({ value: 'value-1', created: true });
    expect(modeOf(path)).toBe(0o600);
    expect(readOrCreateSecretFile(path, generate)).toEqual({ value: 'value-1', created: false });
    expect(calls).toBe(1);
  });

  it('uses the value of a process that created the file first, while this one was generating its own', () => {
    const path = join(tempDir(), 'raced');
    const result = readOrCreateSecretFile(path, () => {
      writeFileSync(path, 'theirs\n', { mode: 0o600 }); // the other process wins the race here
      return 'mine';
    });
    expect(result).toEqual({ value: 'theirs', created: false });
    expect(readFileSync(path, 'utf8')).toBe('theirs\n');
  });

  describe('secret.key (SECRET_KEY unset)', () => {
    it('generates 32 random bytes as 64 hex digits into {DATA_DIR}/secret.key, mode 0600, and reuses them', () => {
      const dataDir = tempDir();
      const config = AppConfig.fromEnv({ DATA_DIR: dataDir });
      const first = loadSecretKey(config);
      expect(first).toMatchObject({ origin: 'file', path: join(dataDir, 'secret.key'), created: true });
      expect(first.key).toHaveLength(32);
      expect(readFileSync(join(dataDir, 'secret.key'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
      expect(modeOf(join(dataDir, 'secret.key'))).toBe(0o600);
      const second = loadSecretKey(config);
      expect(second.created).toBe(false);
      expect(second.key.equals(first.key)).toBe(true);
      expect(loadSecretKey(AppConfig.fromEnv({ DATA_DIR: tempDir() })).key.equals(first.key)).toBe(false);
    });

    it('uses SECRET_KEY when set, hex or base64, and writes no file', () => {
      const dataDir = tempDir();
      const hex = loadSecretKey(AppConfig.fromEnv({ DATA_DIR: dataDir, SECRET_KEY: 'ab'.repeat(32) }));
      expect(hex).toMatchObject({ origin: 'env', created: false });
      const base64 = loadSecretKey(AppConfig.fromEnv({ DATA_DIR: dataDir, SECRET_KEY: Buffer.from('ab'.repeat(32), 'hex').toString('base64') }));
      expect(base64.key.equals(hex.key)).toBe(true);
      expect(() => statSync(join(dataDir, 'secret.key'))).toThrow();
    });

    it('refuses a damaged key file with a message saying what to do', () => {
      const dataDir = tempDir();
      writeFileSync(join(dataDir, 'secret.key'), 'not a key\n', { mode: 0o600 });
      expect(() => loadSecretKey(AppConfig.fromEnv({ DATA_DIR: dataDir }))).toThrow(/does not hold a 32-byte key.*restore the file, or set SECRET_KEY/);
    });
  });

  describe('admin.token (ADMIN_TOKEN unset)', () => {
    it('is generated into {DATA_DIR}/admin.token, mode 0600, only with the embedded database, and kept', () => {
      const dataDir = tempDir();
      const embedded = AppConfig.fromEnv({ DATA_DIR: dataDir });
      const first = resolveAdminToken(embedded);
      expect(first).toEqual({ kind: 'file', token: expect.stringMatching(/^[\w-]{43}$/), path: join(dataDir, 'admin.token'), created: true });
      expect(modeOf(join(dataDir, 'admin.token'))).toBe(0o600);
      expect(resolveAdminToken(embedded)).toEqual({ ...first, created: false });
    });

    it('is ADMIN_TOKEN when set, and disabled with an external database', () => {
      const dataDir = tempDir();
      expect(resolveAdminToken(AppConfig.fromEnv({ DATA_DIR: dataDir, ADMIN_TOKEN: 'x'.repeat(20) }))).toEqual({ kind: 'env', token: 'x'.repeat(20) });
      expect(resolveAdminToken(AppConfig.fromEnv({ DATA_DIR: dataDir, DATABASE_URL: 'postgres://u@127.0.0.1/db' }))).toEqual({ kind: 'disabled' });
      expect(() => statSync(join(dataDir, 'admin.token'))).toThrow();
    });
  });

  describe('a start with the embedded-database default and nothing configured', () => {
    const dataDir = tempDir();
    let database: TestDatabase;
    beforeAll(async () => (database = await createTestDatabase()));
    afterAll(() => database.drop());

    /**
     * The service as `npm start` runs it with no configuration at all, on a temporary data directory,
     * and the banner main.ts prints once it listens. The test database stands in for the embedded
     * PostgreSQL (which has tests of its own, in test/database/embedded-postgres.e2e-spec.ts), and
     * the config reports the embedded default.
     */
    async function start() {
      const config = AppConfig.fromEnv({ DATA_DIR: dataDir, DATABASE_URL: database.url, LOG_LEVEL: 'error', SUBSCRIPTION_POLL_MS: '50', DISPATCH_POLL_MS: '50' });
      Object.defineProperty(config, 'usesEmbeddedDatabase', { get: () => true });
      const app = await createService(config);
      await app.listen(0, '127.0.0.1');
      const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
      return { app, url, banner: startupBanner(startupFacts(app, config)) };
    }

    it('says where the generated admin token is kept, never the token, with the commands that create an app; keeps it and the secret key across restarts, and says it reused it', async () => {
      const first = await start();
      let apiKey: string;
      let apiSecret: string;
      const gupshupKey = gupshupApiKey('emb1');
      const tokenPath = join(dataDir, 'admin.token');
      try {
        const token = readFileSync(tokenPath, 'utf8').trim();
        const banner = first.banner;
        expect(banner).not.toContain(token);
        expect(banner).toContain(`admin token:     generated now and kept in ${tokenPath} (mode 0600; not printed)`);
        expect(banner).toContain(`whatsapp-notify is listening on ${first.url}`);
        expect(banner).toContain(`${first.url}/docs`);
        expect(banner).toContain(`embedded PostgreSQL on 127.0.0.1:${new URL(database.url).port}, data in ${join(dataDir, 'postgres')}`);
        expect(banner).toContain('Gupshup API:     https://api.gupshup.io');
        const curl = `curl -X POST ${first.url}/admin/apps -H "Authorization: Bearer $(cat ${tokenPath})" -H 'Content-Type: application/json' -d '{"name": "Acme"}'`;
        expect(banner).toContain(curl);
        // The printed header, as a shell expands it, carries the token.
        const header = /-H ("Authorization: Bearer \$\(cat [^)]+\)")/.exec(curl)![1];
        expect(execFileSync('sh', ['-c', `printf '%s' ${header}`], { encoding: 'utf8' })).toBe(`Authorization: Bearer ${token}`);
        expect(banner).toContain(`DATA_DIR=${dataDir} npm run cli -- apps:create Acme`);
        expect(modeOf(join(dataDir, 'secret.key'))).toBe(0o600);

        const created = await request(first.url).post('/admin/apps').set('Authorization', `Bearer ${token}`).send({ name: 'Acme' }).expect(201);
        ({ apiKey, apiSecret } = created.body);
        await request(first.url)
          .put('/v3/channels/whatsapp/providers/gupshup_whatsapp')
          .set(appAuth({ apiKey, apiSecret }))
          .send({ enabled: true, config: { API_KEY: gupshupKey, SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } })
          .expect(200);
      } finally {
        await first.app.close();
      }

      const second = await start();
      try {
        const token = readFileSync(tokenPath, 'utf8').trim();
        expect(second.banner).not.toContain(token);
        expect(second.banner).toContain(`admin token:     reused from ${tokenPath} (generated on an earlier start; not printed)`);
        await request(second.url).get('/admin/apps').set('Authorization', `Bearer ${token}`).expect(200);
        // The same secret.key: the stored Gupshup key still decrypts.
        const [{ id }] = (await request(second.url).get('/admin/apps').set('Authorization', `Bearer ${token}`)).body.data;
        expect(await second.app.get(GupshupProviderConfigService).getCredentials(id)).toMatchObject({ apiKey: gupshupKey });
      } finally {
        await second.app.close();
      }
    });
  });
});
