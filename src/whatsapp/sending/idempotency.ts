import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Database, type SqlExecutor } from '../../database/database';
import { IdempotencyKeyConflictError, InvalidNotificationError } from './errors';

/** How long a key is remembered (API.md: "within 24 h"). */
export const IDEMPOTENCY_WINDOW_HOURS = 24;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export interface StoredResponse<T> {
  statusCode: number;
  body: T;
}

/**
 * JSON text with object keys sorted at every level, so that two bodies that differ only in key
 * order (or in whitespace) are the same request. Values that JSON drops (undefined, functions)
 * are dropped here too.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON(): unknown }).toJSON());
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const fields = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${fields.join(',')}}`;
}

export function bodyHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** Printable ASCII, spaces inside only. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/** A key the client chose: printable, without control characters, at most 255 characters. */
export function checkIdempotencyKey(key: string): string {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new InvalidNotificationError([
      `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters (a UUID is a good choice)`,
    ]);
  }
  return key;
}

interface KeyRow {
  body_hash: string;
  status_code: number | null;
  /** The JSON text of the first answer, replayed as it was. */
  response: string | null;
}

/**
 * Idempotency keys of POST /v3/notifications, one row per (app, key). The row is written in the
 * transaction that queues the messages: a concurrent request with the same key waits on the
 * primary key until that transaction ends, then finds the row and replays it; it never sends.
 */
@Injectable()
export class IdempotencyKeys {
  constructor(private readonly db: Database) {}

  /** The stored response for the key, if it is still remembered; 409 if it was for another body. */
  async find<T>(appId: string, key: string, hash: string, executor: SqlExecutor = this.db): Promise<StoredResponse<T> | undefined> {
    const [row] = await executor.query<KeyRow>(
      'SELECT body_hash, status_code, response FROM whatsapp_idempotency_keys WHERE app_id = $1 AND key = $2 AND expires_at > now()',
      [appId, key],
    );
    return row ? this.replay<T>(row, key, hash) : undefined;
  }

  /**
   * Claims the key inside `tx`. Returns undefined when this transaction now owns it (the caller
   * does the work, then `complete`s it); returns the first response when another request already
   * did; throws 409 when that request had a different body.
   */
  async claim<T>(tx: SqlExecutor, appId: string, key: string, hash: string): Promise<StoredResponse<T> | undefined> {
    // A key past its window is free again: forget the old use before claiming it.
    await tx.query('DELETE FROM whatsapp_idempotency_keys WHERE app_id = $1 AND key = $2 AND expires_at <= now()', [appId, key]);
    const inserted = await tx.query(
      `INSERT INTO whatsapp_idempotency_keys (app_id, key, body_hash, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(hours => $4))
       ON CONFLICT (app_id, key) DO NOTHING
       RETURNING 1`,
      [appId, key, hash, IDEMPOTENCY_WINDOW_HOURS],
    );
    if (inserted.length === 1) return undefined;
    const existing = await this.find<T>(appId, key, hash, tx);
    if (!existing) throw new Error(`idempotency key row for "${key}" vanished while claiming it`);
    return existing;
  }

  async complete<T>(tx: SqlExecutor, appId: string, key: string, response: StoredResponse<T>): Promise<void> {
    await tx.query('UPDATE whatsapp_idempotency_keys SET status_code = $3, response = $4 WHERE app_id = $1 AND key = $2', [
      appId,
      key,
      response.statusCode,
      JSON.stringify(response.body),
    ]);
  }

  /** Forgets keys past their window, a bounded number at a time; returns how many. */
  async deleteExpired(limit = 1000): Promise<number> {
    const rows = await this.db.query(
      `DELETE FROM whatsapp_idempotency_keys WHERE ctid IN (
         SELECT ctid FROM whatsapp_idempotency_keys WHERE expires_at <= now() LIMIT $1)
       RETURNING 1`,
      [limit],
    );
    return rows.length;
  }

  private replay<T>(row: KeyRow, key: string, hash: string): StoredResponse<T> {
    if (row.body_hash !== hash) throw new IdempotencyKeyConflictError(key);
    if (row.status_code === null || row.response === null) throw new Error(`idempotency key "${key}" has no stored response`);
    return { statusCode: row.status_code, body: JSON.parse(row.response) as T };
  }
}
