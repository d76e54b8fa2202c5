import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { eventTypeOf, type StoreEvent } from '../../src/event-store/event';
import { streamTypeOf } from '../../src/event-store/append-to-streams';
import {
  NotificationRequested,
  WhatsAppMessageDiscarded,
  WhatsAppMessageQueued,
  WhatsAppMessageSent,
  messageStreamId,
  notificationStreamId,
} from '../../src/whatsapp/domain';
import { deliveryStatusChanged } from '../../src/whatsapp/domain/delivery-event-id';

export type LoadedStatus = 'queued' | 'sent' | 'delivered' | 'seen' | 'discarded';

export interface LoadedMessage {
  messageId: string;
  requestId: string;
  recipient: string;
  phoneNumber: string;
  /** Gupshup's id of the send (absent for a message still queued or discarded at once). */
  gupshupId?: string;
  /** Meta's id, which Gupshup's v2 callbacks carry as payload.id. */
  whatsappId?: string;
  sentAt?: Date;
}

export interface StreamEvents {
  streamId: string;
  events: StoreEvent<object>[];
}

/**
 * The events the product itself would have recorded for one request of `count` messages that
 * reached `status`, built with the domain's own event classes so that their shape is the real one.
 */
export function requestStreams(appId: string, count: number, status: (index: number) => LoadedStatus, start: Date): { streams: StreamEvents[]; messages: LoadedMessage[] } {
  const requestId = randomUUID();
  const streams: StreamEvents[] = [];
  const messages: LoadedMessage[] = [];
  const at = (ms: number) => new Date(start.getTime() + ms).toISOString();
  for (let i = 0; i < count; i++) {
    const messageId = randomUUID();
    const recipient = `user-${i}`;
    const phoneNumber = `+9199${String(10_000_000 + i).padStart(8, '0')}`;
    const message: LoadedMessage = { messageId, requestId, recipient, phoneNumber };
    const events: StoreEvent<object>[] = [
      new WhatsAppMessageQueued({ appId, messageId, requestId, recipient, phoneNumber, sendAt: at(0), queuedAt: at(0) }),
    ];
    const wanted = status(i);
    if (wanted === 'discarded') {
      events.push(new WhatsAppMessageDiscarded({ appId, messageId, code: '1002', reason: 'Number Does Not Exist On WhatsApp', source: 'provider', discardedAt: at(900) }));
    } else if (wanted !== 'queued') {
      message.gupshupId = randomUUID();
      message.whatsappId = `gBEGkZmZ${randomUUID().replace(/-/g, '').slice(0, 20)}`;
      message.sentAt = new Date(start.getTime() + 300);
      events.push(new WhatsAppMessageSent({ appId, messageId, providerMessageId: message.gupshupId, attempt: 1, sentAt: at(300) }));
      const report = (providerStatus: 'sent' | 'delivered' | 'read', ms: number) =>
        deliveryStatusChanged({
          appId,
          messageId,
          providerStatus,
          providerMessageId: message.gupshupId!,
          whatsappMessageId: message.whatsappId!,
          occurredAt: at(ms),
          receivedAt: at(ms + 150),
          format: 'v2',
        });
      if (wanted === 'delivered' || wanted === 'seen') events.push(report('delivered', 2_000));
      if (wanted === 'seen') events.push(report('read', 60_000));
    }
    streams.push({ streamId: messageStreamId(messageId), events });
    messages.push(message);
  }
  const requested = new NotificationRequested({
    appId,
    requestId,
    title: 'Your order shipped',
    message: 'Track it in the app',
    data: {},
    sendAt: null,
    messageIds: messages.map((m) => m.messageId),
    recipients: messages.map((m) => m.recipient),
    override: null,
    requestedAt: at(0),
  });
  streams.unshift({ streamId: notificationStreamId(requestId), events: [requested] });
  return { streams, messages };
}

/**
 * Writes whole new streams straight into the event store's tables, many thousand events per
 * statement: the product's es_append takes one stream lock per stream, which is right for live
 * traffic and needlessly slow for loading millions of events before a benchmark.
 */
export async function loadStreams(pool: Pool, streams: readonly StreamEvents[]): Promise<number> {
  const rows = streams.flatMap(({ streamId, events }) =>
    events.map((event, index) => {
      const type = eventTypeOf(event.constructor as never);
      return {
        stream_id: streamId,
        stream_position: index + 1,
        event_id: event.eventId,
        event_type: type.type,
        schema_version: type.schemaVersion,
        data: event.data,
        metadata: event.metadata,
      };
    }),
  );
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO es_streams (stream_id, stream_type, version)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])`,
      [streams.map((s) => s.streamId), streams.map((s) => streamTypeOf(s.streamId)), streams.map((s) => s.events.length)],
    );
    await client.query(
      `INSERT INTO es_events (stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
       SELECT stream_id, stream_position, event_id, event_type, schema_version, data, metadata
         FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (stream_id text, stream_position bigint, event_id uuid, event_type text,
                                                           schema_version integer, data jsonb, metadata jsonb))
              WITH ORDINALITY AS r(stream_id, stream_position, event_id, event_type, schema_version, data, metadata, n)
        ORDER BY n`,
      [JSON.stringify(rows)],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  return rows.length;
}

/**
 * Loads `requests` requests of `perRequest` messages each, two loaders at a time, and returns
 * the messages and how many events were written.
 */
export async function loadRequests(
  databaseUrl: string,
  appId: string,
  options: { requests: number; perRequest: number; status: (index: number) => LoadedStatus; keepMessages?: boolean },
): Promise<{ messages: LoadedMessage[]; events: number }> {
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const messages: LoadedMessage[] = [];
  let events = 0;
  try {
    const start = Date.now() - options.requests * 60_000;
    let next = 0;
    const worker = async () => {
      for (let r = next++; r < options.requests; r = next++) {
        const request = requestStreams(appId, options.perRequest, (i) => options.status(r * options.perRequest + i), new Date(start + r * 60_000));
        const written = await loadStreams(pool, request.streams);
        events += written;
        if (options.keepMessages !== false) messages.push(...request.messages);
      }
    };
    await Promise.all([worker(), worker()]);
  } finally {
    await pool.end();
  }
  return { messages, events };
}
