import { createHash } from 'node:crypto';
import { callbackTokenFingerprint, generateCallbackToken, hashCallbackToken, matchesOneOf } from './callback-token';

describe('callback tokens', () => {
  it('are 256 random bits, URL-safe, different every time', () => {
    const tokens = Array.from({ length: 100 }, generateCallbackToken);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('are hashed with SHA-256 and named by the start of the hash only', () => {
    const token = generateCallbackToken();
    const hash = hashCallbackToken(token);
    expect(hash.equals(createHash('sha256').update(token).digest())).toBe(true);
    expect(callbackTokenFingerprint(hash)).toBe(`sha256:${hash.toString('hex').slice(0, 12)}`);
    expect(callbackTokenFingerprint(hash)).not.toContain(token);
  });

  it('match one of several hashes, and nothing else', () => {
    const [current, previous, other] = [generateCallbackToken(), generateCallbackToken(), generateCallbackToken()];
    const working = [hashCallbackToken(current), hashCallbackToken(previous)];
    expect(matchesOneOf(hashCallbackToken(current), working)).toBe(true);
    expect(matchesOneOf(hashCallbackToken(previous), working)).toBe(true);
    expect(matchesOneOf(hashCallbackToken(other), working)).toBe(false);
    expect(matchesOneOf(hashCallbackToken(current), [])).toBe(false);
    expect(matchesOneOf(Buffer.alloc(5), working)).toBe(false);
  });
});
