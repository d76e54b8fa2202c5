import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SecretFile {
  value: string;
  /** True when this call generated the file. */
  created: boolean;
}

/**
 * Reads a generated credential from `path`, or creates it (mode 0600) with `generate()` when the
 * file does not exist yet. Creation is atomic: the value is written to a private temporary file
 * that is then hard-linked into place, which fails if another process (a second instance, the
 * CLI) created the file first; that process's value is read and used instead. So every process
 * sharing the data directory ends up with the same value, and none ever reads a half-written file.
 */
export function readOrCreateSecretFile(path: string, generate: () => string): SecretFile {
  const existing = readIfPresent(path);
  if (existing !== undefined) return { value: existing, created: false };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const value = generate();
  writeFileSync(temporary, `${value}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, path);
    return { value, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { value: readFileSync(path, 'utf8').trim(), created: false };
  } finally {
    unlinkSync(temporary);
  }
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
