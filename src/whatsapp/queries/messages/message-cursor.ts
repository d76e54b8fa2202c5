import { decodeKeysetCursor, encodeKeysetCursor, invalidCursorError } from '../../../common/keyset-cursor';
import { isInSupportedRange, isStorableText } from '../../../common/input-schemas';

/** Where a page ended: the last message's (queued_at, message_id), the list's sort key. */
export interface MessageCursor {
  queuedAt: string;
  messageId: string;
}

/** Opaque to callers: base64url of the sort key of the last message of the page. */
export function encodeMessageCursor(cursor: MessageCursor): string {
  return encodeKeysetCursor([cursor.queuedAt, cursor.messageId]);
}

export function decodeMessageCursor(text: string): MessageCursor {
  const [queuedAt, messageId] = decodeKeysetCursor(text, 2);
  if (typeof queuedAt !== 'string' || typeof messageId !== 'string' || !isStorableText(messageId)) throw invalidCursorError();
  // A time PostgreSQL has no timestamp for (year 0, or far past 9999) cannot come from a page.
  const ms = Date.parse(queuedAt);
  if (!isInSupportedRange(ms)) throw invalidCursorError();
  return { queuedAt: new Date(ms).toISOString(), messageId };
}
