import { Injectable, Logger } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppConfig } from '../../config/app-config';
import { readOrCreateSecretFile } from '../secret-file';

export const SECRET_KEY_FILE = 'secret.key';
const KEY_BYTES = 32;

/** SECRET_KEY's two accepted spellings: 64 hex digits, or base64 of 32 bytes. */
export function parseSecretKey(text: string): Buffer | null {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  const decoded = Buffer.from(value, 'base64');
  return decoded.length === KEY_BYTES ? decoded : null;
}

export interface LoadedSecretKey {
  key: Buffer;
  /** Where the key came from: SECRET_KEY, or the generated file. */
  origin: 'env' | 'file';
  path?: string;
  created: boolean;
}

/** SECRET_KEY when set; otherwise 32 random bytes generated once into {DATA_DIR}/secret.key (mode 0600) and reused. */
export function loadSecretKey(config: AppConfig): LoadedSecretKey {
  const fromEnv = config.get('SECRET_KEY');
  if (fromEnv) return { key: parseSecretKey(fromEnv)!, origin: 'env', created: false };
  const path = resolve(config.get('DATA_DIR'), SECRET_KEY_FILE);
  const { value, created } = readOrCreateSecretFile(path, () => randomBytes(KEY_BYTES).toString('hex'));
  const key = parseSecretKey(value);
  if (!key) {
    throw new Error(`${path} does not hold a 32-byte key (64 hex digits): restore the file, or set SECRET_KEY to the key the stored credentials were encrypted with`);
  }
  return { key, origin: 'file', path, created };
}

/**
 * Why the CLI must not generate a key, or undefined when it may (or need not). Beside DATABASE_URL
 * the database holds what the service encrypted under its key: a key made up by a command would
 * leave those secrets unreadable to it, and what it stored unreadable to the service (a callback
 * token the service then replaces, making the URL the command printed stop working).
 */
export function refusalToGenerateSecretKey(config: AppConfig): string | undefined {
  if (!config.runsCommands || config.get('SECRET_KEY') || config.usesEmbeddedDatabase) return undefined;
  const path = resolve(config.get('DATA_DIR'), SECRET_KEY_FILE);
  if (existsSync(path)) return undefined;
  return (
    `SECRET_KEY is unset and ${path} does not exist: run the command with the service's SECRET_KEY ` +
    `(or with its DATA_DIR, when the service keeps a generated key there: DATA_DIR/${SECRET_KEY_FILE}). ` +
    "Beside DATABASE_URL the CLI does not generate a key: what it stored would be unreadable to the service, and the service's secrets to it"
  );
}

export class CredentialDecryptionError extends Error {}

const FORMAT = 'v1';

/**
 * Encrypts provider credentials at rest with AES-256-GCM: a random 96-bit IV per value, and the
 * value's owner (e.g. app and provider) as additional authenticated data, so a ciphertext copied
 * to another app's row does not decrypt. Stored form: `v1.{keyId}.{iv}.{tag}.{ciphertext}`
 * (base64url); the key id names the key without revealing it, so a changed SECRET_KEY is
 * reported as such instead of as corrupt data.
 */
@Injectable()
export class CredentialCipher {
  private readonly key: Buffer;
  readonly keyId: string;
  /** Set when there is no key to use (the CLI beside DATABASE_URL without the service's key): what to set. */
  private readonly missingKey?: string;

  constructor(config: AppConfig) {
    // Commands that need no key (migrations, listings) still run; encrypting or decrypting says what to set.
    this.missingKey = refusalToGenerateSecretKey(config);
    if (this.missingKey) {
      this.key = Buffer.alloc(0);
      this.keyId = 'none';
      return;
    }
    const loaded = loadSecretKey(config);
    this.key = loaded.key;
    this.keyId = createHmac('sha256', this.key).update('credential-cipher key id').digest('base64url').slice(0, 8);
    const logger = new Logger('CredentialCipher');
    if (loaded.origin === 'file') {
      logger.log(`${loaded.created ? 'generated' : 'using'} the credential encryption key in ${loaded.path} (SECRET_KEY is unset)`);
      if (!config.usesEmbeddedDatabase) {
        logger.warn(`SECRET_KEY is unset: every instance sharing this database must use the same key; set SECRET_KEY to the content of ${loaded.path}`);
      }
    }
  }

  encrypt(plaintext: string, context: string): string {
    if (this.missingKey) throw new Error(this.missingKey);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT, this.keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  decrypt(stored: string, context: string): string {
    if (this.missingKey) throw new Error(this.missingKey);
    const [format, keyId, iv, tag, ciphertext] = stored.split('.');
    if (format !== FORMAT || ciphertext === undefined) throw new CredentialDecryptionError('stored credential has an unknown format');
    if (keyId !== this.keyId) {
      throw new CredentialDecryptionError(
        `stored credential was encrypted under another SECRET_KEY (key id ${keyId}, current ${this.keyId}): start the service with the original SECRET_KEY, or configure the provider again`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new CredentialDecryptionError('stored credential failed its integrity check: it was altered or belongs to another record');
    }
  }
}
