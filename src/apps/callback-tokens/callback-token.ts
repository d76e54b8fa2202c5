import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes (256 bits): 43 URL-safe characters, usable as is in a query string. */
export function generateCallbackToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * What is stored and compared: the token's SHA-256 (the token is random, so no salt or slow hash
 * is needed). The one-shot crypto.hash: it runs on every callback, and costs a third of a Hash object.
 */
export function hashCallbackToken(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** Names a token in events and logs without revealing it. */
export function callbackTokenFingerprint(hash: Buffer): string {
  return `sha256:${hash.toString('hex').slice(0, 12)}`;
}

/**
 * Whether `candidate` equals one of `hashes`. Every hash is compared, each in constant time,
 * so the time taken says nothing about which one matched or how much of it.
 */
export function matchesOneOf(candidate: Buffer, hashes: readonly Buffer[]): boolean {
  let matched = false;
  for (const hash of hashes) {
    if (hash.length === candidate.length && timingSafeEqual(hash, candidate)) matched = true;
  }
  return matched;
}
