import type { SqlExecutor } from '../../database/database';

/**
 * The channel on which the message views' projection announces, with the commit of each batch,
 * which messages it changed: live readers (the dashboard's server-sent events) LISTEN here once per
 * process, instead of each of their clients reading the views in a loop.
 */
export const MESSAGE_VIEWS_CHANGED_CHANNEL = 'whatsapp_message_views_changed';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a message id is a UUID (36 characters). */
const MAX_PAYLOAD_CHARS = 7000;

export interface MessageViewsChanged {
  appId: string;
  messageIds: string[];
}

/** `appId messageId,messageId,...`: one payload per app, split so that each fits. */
export function messageViewsChangedPayloads(changed: Iterable<{ appId: string; messageId: string }>): string[] {
  const byApp = new Map<string, string[]>();
  for (const { appId, messageId } of changed) {
    let ids = byApp.get(appId);
    if (!ids) byApp.set(appId, (ids = []));
    ids.push(messageId);
  }
  const payloads: string[] = [];
  for (const [appId, ids] of byApp) {
    let current: string[] = [];
    let length = appId.length + 1;
    for (const id of ids) {
      if (current.length > 0 && length + id.length + 1 > MAX_PAYLOAD_CHARS) {
        payloads.push(`${appId} ${current.join(',')}`);
        current = [];
        length = appId.length + 1;
      }
      current.push(id);
      length += id.length + 1;
    }
    if (current.length > 0) payloads.push(`${appId} ${current.join(',')}`);
  }
  return payloads;
}

export function parseMessageViewsChanged(payload: string): MessageViewsChanged | null {
  const space = payload.indexOf(' ');
  if (space <= 0) return null;
  return { appId: payload.slice(0, space), messageIds: payload.slice(space + 1).split(',').filter(Boolean) };
}

/** Queued with the transaction: listeners hear it only once the batch is committed, and never if it rolls back. */
export async function notifyMessageViewsChanged(tx: SqlExecutor, changed: Iterable<{ appId: string; messageId: string }>): Promise<void> {
  const payloads = messageViewsChangedPayloads(changed);
  if (payloads.length === 0) return;
  await tx.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [MESSAGE_VIEWS_CHANGED_CHANNEL, payloads]);
}
