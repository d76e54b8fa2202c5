import { InvalidQueryError } from './validation';

/**
 * The opaque `cursor` of a keyset-paginated list: base64url of the JSON array of the last row's
 * sort key. Decoding checks only the form; each list checks the parts it reads.
 */
export function encodeKeysetCursor(sortKey: readonly string[]): string {
  return Buffer.from(JSON.stringify(sortKey)).toString('base64url');
}

export function invalidCursorError(): InvalidQueryError {
  return new InvalidQueryError(['cursor is not valid: pass the nextCursor of the previous page unchanged, or leave it out for the first page']);
}

/** The sort key a cursor holds, if it is an array of `parts` values; throws the 400 for anything else. */
export function decodeKeysetCursor(text: string, parts: number): unknown[] {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw invalidCursorError();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursorError();
  }
  if (!Array.isArray(decoded) || decoded.length !== parts) throw invalidCursorError();
  return decoded;
}
