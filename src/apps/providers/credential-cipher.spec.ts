import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../../config/app-config';
import { CredentialCipher } from './credential-cipher';

describe('CredentialCipher: the CLI beside DATABASE_URL', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = mkdtempSync(join(tmpdir(), 'cipher-'))));
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = () => ({ DATABASE_URL: 'postgres://notify@db.internal/notify', DATA_DIR: dataDir });

  it('generates no key: encrypting and decrypting say what to set, and no file is written', () => {
    const cipher = new CredentialCipher(AppConfig.fromEnv(env()).forCommands());
    expect(() => cipher.encrypt('token', 'ctx')).toThrow(`SECRET_KEY is unset and ${join(dataDir, 'secret.key')} does not exist: run the command with the service's SECRET_KEY`);
    expect(() => cipher.decrypt('v1.x.y.z.w', 'ctx')).toThrow(/SECRET_KEY is unset/);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it("uses SECRET_KEY, or the key the service generated into its DATA_DIR", () => {
    const withKey = new CredentialCipher(AppConfig.fromEnv({ ...env(), SECRET_KEY: 'ab'.repeat(32) }).forCommands());
    expect(withKey.decrypt(withKey.encrypt('token', 'ctx'), 'ctx')).toBe('token');
    writeFileSync(join(dataDir, 'secret.key'), `${'cd'.repeat(32)}\n`, { mode: 0o600 });
    const fromFile = new CredentialCipher(AppConfig.fromEnv(env()).forCommands());
    expect(fromFile.decrypt(fromFile.encrypt('token', 'ctx'), 'ctx')).toBe('token');
  });

  it('the service itself still generates its key on first start', () => {
    const service = new CredentialCipher(AppConfig.fromEnv(env()));
    expect(service.decrypt(service.encrypt('token', 'ctx'), 'ctx')).toBe('token');
    expect(readdirSync(dataDir)).toEqual(['secret.key']);
  });
});
