import { newWhatsAppMessageId } from '../../tools/simulator/callback-payloads';
import { postJson, type BenchApp } from './api';
import type { SentMessage } from './callbacks';
import { withPool } from './postgres';

export interface QueueOptions {
  /** Recipients' identifiers are `${prefix}-${n}`. */
  prefix?: string;
  /** The n-th recipient's phone number. */
  phoneNumber?(n: number): string;
  /** The n-th recipient, identifier and phone number (instead of prefix and phoneNumber). */
  recipient?(n: number): { identifier: string; phoneNumber: string };
  perRequest?: number;
  /** Requests in flight to each service URL. */
  inFlightPerUrl?: number;
}

/**
 * Queues `count` messages for `app` through POST /v3/notifications, `perRequest` (1,000) inline
 * recipients a request; with several service URLs, request r goes to the r-th modulo their number.
 */
export async function queueMessages(serviceUrls: string | string[], app: BenchApp, count: number, options: QueueOptions = {}): Promise<void> {
  const urls = Array.isArray(serviceUrls) ? serviceUrls : [serviceUrls];
  const prefix = options.prefix ?? 'bench';
  const phoneNumber = options.phoneNumber ?? ((n: number) => `+9198${String(10_000_000 + n)}`);
  const recipient = options.recipient ?? ((n: number) => ({ identifier: `${prefix}-${n}`, phoneNumber: phoneNumber(n) }));
  const perRequest = options.perRequest ?? 1000;
  const requests = Math.ceil(count / perRequest);
  const send = async (r: number) => {
    const recipients = Array.from({ length: Math.min(perRequest, count - r * perRequest) }, (_, i) => recipient(r * perRequest + i));
    await postJson(`${urls[r % urls.length]}/v3/notifications`, app.headers, { notification: { title: 'Your order shipped', message: 'Track it in the app' }, sendTo: { recipients } }, 202);
  };
  // Each URL's requests in turn, `inFlightPerUrl` at a time.
  await Promise.all(
    urls.flatMap((_, u) =>
      Array.from({ length: options.inFlightPerUrl ?? 2 }, async (_worker, w) => {
        for (let r = u + w * urls.length; r < requests; r += urls.length * (options.inFlightPerUrl ?? 2)) await send(r);
      }),
    ),
  );
}

/** Waits until the message view shows `count` of the app's messages sent (a Gupshup id recorded); throws after `timeoutMs`. */
export async function waitUntilShownSent(databaseUrl: string, appId: string, count: number, timeoutMs: number, logHint: string): Promise<void> {
  await withPool(databaseUrl, async (pool) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await pool.query<{ sent: number }>('SELECT count(*)::int AS sent FROM message_status_view WHERE app_id = $1 AND provider_message_id IS NOT NULL', [appId]);
      if (rows[0].sent >= count) return;
      if (Date.now() > deadline) throw new Error(`only ${rows[0].sent} of ${count} messages shown sent after ${timeoutMs} ms; see ${logHint}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
}

/** The app's messages as the view shows them, in the order they were queued, each with a WhatsApp id for its receipts. */
export async function readSentMessages(databaseUrl: string, appId: string): Promise<SentMessage[]> {
  const { rows } = await withPool(databaseUrl, (pool) =>
    pool.query<{ message_id: string; phone_number: string; provider_message_id: string; sent_at: Date }>(
      'SELECT message_id, phone_number, provider_message_id, sent_at FROM message_status_view WHERE app_id = $1 ORDER BY queued_at, message_id',
      [appId],
    ),
  );
  return rows.map((row) => ({
    messageId: row.message_id,
    phoneNumber: row.phone_number,
    gupshupId: row.provider_message_id,
    whatsappId: newWhatsAppMessageId('v2', row.phone_number.replace(/^\+/, ''), Math.random),
    sentAtMs: row.sent_at.getTime(),
  }));
}
