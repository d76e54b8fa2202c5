import { generateApiKey, generateApiSecret, hashSecret, verifySecret } from '../../src/apps/app-credentials';
import { VerifiedCredentialsCache } from '../../src/apps/auth/verified-credentials-cache';
import { CredentialCipher } from '../../src/apps/providers/credential-cipher';
import { apiKeyFingerprint, resolveGupshupConfig } from '../../src/apps/providers/gupshup-config-rules';
import { AppConfig } from '../../src/config/app-config';

describe('app secrets', () => {
  it('hashes with a fresh salt each time and verifies only the right secret', async () => {
    const secret = generateApiSecret();
    const [a, b] = await Promise.all([hashSecret(secret), hashSecret(secret)]);
    expect(a).not.toBe(b);
    expect(await verifySecret(secret, a)).toBe(true);
    expect(await verifySecret(secret, b)).toBe(true);
    expect(await verifySecret(`${secret}x`, a)).toBe(false);
    expect(await verifySecret('', a)).toBe(false);
  });

  it('draws URL-safe keys and 256-bit secrets', () => {
    const keys = new Set(Array.from({ length: 1000 }, generateApiKey));
    expect(keys.size).toBe(1000);
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Buffer.from(generateApiSecret(), 'base64url')).toHaveLength(32);
  });
});

describe('VerifiedCredentialsCache', () => {
  it('forgets an entry after its TTL and drops the oldest past its size', () => {
    let now = 0;
    const cache = new VerifiedCredentialsCache<string>(1000, 2, () => now);
    const [k1, k2, k3] = ['a', 'b', 'c'].map((s) => VerifiedCredentialsCache.keyOf('key', s));
    cache.set(k1, 'one');
    now = 999;
    expect(cache.get(k1)).toBe('one');
    now = 1000;
    expect(cache.get(k1)).toBeUndefined();
    cache.set(k1, 'one');
    cache.set(k2, 'two');
    cache.set(k3, 'three');
    expect(cache.size).toBe(2);
    expect(cache.get(k1)).toBeUndefined();
    expect(cache.get(k3)).toBe('three');
  });

  it('keys by the pair, so that neither part alone matches', () => {
    expect(VerifiedCredentialsCache.keyOf('ab', 'c')).not.toBe(VerifiedCredentialsCache.keyOf('a', 'bc'));
  });
});

describe('CredentialCipher', () => {
  const cipher = new CredentialCipher(AppConfig.fromEnv({ SECRET_KEY: '0f'.repeat(32), DATABASE_URL: 'postgres://u@127.0.0.1/db' }));

  it('round-trips, with a new IV each time', () => {
    const a = cipher.encrypt('sk_live_123456789', 'app-1');
    expect(a).not.toBe(cipher.encrypt('sk_live_123456789', 'app-1'));
    expect(a).not.toContain('sk_live');
    expect(cipher.decrypt(a, 'app-1')).toBe('sk_live_123456789');
  });

  it('refuses another context, a tampered ciphertext, and another key', () => {
    const stored = cipher.encrypt('sk_live_123456789', 'app-1');
    expect(() => cipher.decrypt(stored, 'app-2')).toThrow(/integrity check/);
    const parts = stored.split('.');
    parts[4] = Buffer.from(Buffer.from(parts[4], 'base64url').map((byte, i) => (i === 0 ? byte ^ 1 : byte))).toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'), 'app-1')).toThrow(/integrity check/);
    const other = new CredentialCipher(AppConfig.fromEnv({ SECRET_KEY: 'f0'.repeat(32), DATABASE_URL: 'postgres://u@127.0.0.1/db' }));
    expect(() => other.decrypt(stored, 'app-1')).toThrow(/another SECRET_KEY/);
  });
});

describe('gupshup_whatsapp config rules', () => {
  it('fingerprints a key by its last 4 characters and a SHA-256 prefix', () => {
    expect(apiKeyFingerprint('abcdefgh1a2b')).toMatch(/^\*\*\*\*1a2b sha256:[0-9a-f]{12}$/);
  });

  it('names every missing key in one message, before format problems', () => {
    expect(resolveGupshupConfig({ enabled: true, config: { SOURCE: '12' } }, null)).toEqual({
      error: 'Enabling gupshup_whatsapp needs config.API_KEY, config.SOURCE and config.SRC_NAME; missing or empty: API_KEY, SRC_NAME; config.SOURCE must be the WhatsApp business number as digits, 8 to 15 of them, a leading + allowed (e.g. 917834811114)',
    });
  });

  it('counts stored keys as present, and a sent empty one as missing', () => {
    const stored = { hasApiKey: true, apiKeyLast4: '1a2b', source: '917834811114', srcName: 'Demo' };
    expect(resolveGupshupConfig({ enabled: true }, stored)).toEqual({ value: { enabled: true, apiKey: undefined, source: '917834811114', srcName: 'Demo' } });
    expect(resolveGupshupConfig({ enabled: true, config: { SOURCE: '' } }, stored).error).toMatch(/missing or empty: SOURCE$/);
  });
});
