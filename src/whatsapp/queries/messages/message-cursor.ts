import { BadRequestException } from '@nestjs/common';
import { isInSupportedRange, isStorableText } from '../../../common/input-schemas';

/** Where a page ended: the last message's (queued_at, message_id), the list's sort key. */
export interface MessageCursor {
  queuedAt: string;
  messageId: string;
}

/** Opaque to callers: base64url of the sort key of the last message of the page. */
export function encodeMessageCursor(cursor: MessageCursor): string {
  return Buffer.from(JSON.stringify([cursor.queuedAt, cursor.messageId])).toString('base64url');
}

export function decodeMessageCursor(text: string): MessageCursor {
  const invalid = () =>
    new BadRequestException('cursor is not valid: pass the nextCursor of the previous page unchanged, or leave it out for the first page');
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw invalid();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw invalid();
  const [queuedAt, messageId] = decoded as unknown[];
  if (typeof queuedAt !== 'string' || typeof messageId !== 'string' || !isStorableText(messageId)) throw invalid();
  // A time PostgreSQL has no timestamp for (year 0, or far past 9999) cannot come from a page.
  const ms = Date.parse(queuedAt);
  if (!isInSupportedRange(ms)) throw invalid();
  return { queuedAt: new Date(ms).toISOString(), messageId };
}
