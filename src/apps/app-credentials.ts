import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** 24 random bytes: 32 URL-safe characters, usable as is in the callback URL path. */
export function generateApiKey(): string {
  return randomBytes(24).toString('base64url');
}

/** 32 random bytes (256 bits): 43 URL-safe characters. */
export function generateApiSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * scrypt cost: N=2^14, r=8, p=1 uses 16 MiB and tens of milliseconds per hash, the interactive-login
 * setting recommended by scrypt's author. Stored with each hash so that it can be raised later.
 */
const SCRYPT_COST = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

function scrypt(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(secret, salt, keyLength, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64url; a fresh random salt per secret. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scrypt(secret, salt, HASH_BYTES, SCRYPT_COST);
  return ['scrypt', SCRYPT_COST.N, SCRYPT_COST.r, SCRYPT_COST.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

interface ParsedHash {
  cost: ScryptOptions;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): ParsedHash {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) throw new Error('unrecognised secret hash format');
  return { cost: { N: Number(n), r: Number(r), p: Number(p) }, salt: Buffer.from(salt, 'base64url'), hash: Buffer.from(hash, 'base64url') };
}

/** Whether `secret` hashes to `stored`; the hashes are compared in constant time. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const { cost, salt, hash } = parseHash(stored);
  const candidate = await scrypt(secret, salt, hash.length, cost);
  return timingSafeEqual(candidate, hash);
}
