import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { AppConfig } from '../../config/app-config';
import { readOrCreateSecretFile } from '../secret-file';

export const ADMIN_TOKEN_FILE = 'admin.token';

export type AdminTokenSource =
  | { kind: 'env'; token: string }
  /** `created`: this start generated the file; false when it reused one kept from an earlier start (or made by another process). */
  | { kind: 'file'; token: string; path: string; created: boolean }
  | { kind: 'disabled' };

/** 32 random bytes, URL-safe: 43 characters. */
export function generateAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * ADMIN_TOKEN when set. Otherwise, with the embedded database (the zero-configuration local
 * setup) a token generated once into {DATA_DIR}/admin.token and reused on every start; with an
 * external database the admin API stays off.
 */
export function resolveAdminToken(config: AppConfig): AdminTokenSource {
  const fromEnv = config.get('ADMIN_TOKEN');
  if (fromEnv) return { kind: 'env', token: fromEnv };
  if (!config.usesEmbeddedDatabase) return { kind: 'disabled' };
  const path = resolve(config.get('DATA_DIR'), ADMIN_TOKEN_FILE);
  const { value, created } = readOrCreateSecretFile(path, generateAdminToken);
  if (value.length < 16) throw new Error(`${path} must hold an admin token of at least 16 characters: delete the file to generate a new one, or set ADMIN_TOKEN`);
  return { kind: 'file', token: value, path, created };
}

/** Where the admin token comes from; the start-up banner says so (never the token itself). */
@Injectable()
export class AdminToken {
  readonly source: AdminTokenSource;

  constructor(config: AppConfig) {
    this.source = resolveAdminToken(config);
  }
}
