import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { SqlExecutor } from '../../database/database';
import { EventStoreSubscription, eventTypeOf, toStoreEvent, type RecordedEvent, type SubscriptionHandler } from '../../event-store';
import { MESSAGE_EVENTS, trackStatus, untrackedMessage, type MessageStatus, type TrackedMessage } from '../../whatsapp/domain';
import { insertStatusChanges, type StatusChange } from '../deliveries/delivery-records';
import { messageEventType } from '../webhook-events';
import { statusChangeBody, type StatusChangeData } from './status-change-payload';

export const STATUS_CHANGE_SUBSCRIPTION = 'webhooks_status_changes';

type MessageState = TrackedMessage;

interface StateRow {
  message_id: string;
  app_id: string;
  request_id: string | null;
  recipient: string | null;
  phone_number: string | null;
  status: MessageStatus;
  provider_message_id: string | null;
  discard_reason: { code: string; reason: string } | null;
  category: string | null;
  template: string | null;
}

/**
 * Turns each rise of a message's status into one delivery per endpoint of its app that wants it,
 * in the transaction that moves this subscription's checkpoint: a rise is recorded once, and
 * never lost. It keeps each message's status as the rules of the domain decide it, so a callback
 * that does not raise it (a repeat, a late `sent`) makes no delivery; every rise is also kept for
 * replay.
 */
@Injectable()
@EventStoreSubscription()
export class StatusChangeSubscription implements SubscriptionHandler {
  readonly subscriptionName = STATUS_CHANGE_SUBSCRIPTION;
  readonly eventTypes = MESSAGE_EVENTS.map((eventClass) => eventTypeOf(eventClass).type);
  /** Each message's events (all in its stream) decide what this does with them. */
  readonly partitionedByStream = true;

  constructor(private readonly config: AppConfig) {}

  async handle(recorded: RecordedEvent[], tx: SqlExecutor): Promise<void> {
    const events = recorded.map((each) => ({ event: toStoreEvent(each), recordedAt: each.createdAt }));
    const messageIds = [...new Set(events.map(({ event }) => (event.data as { messageId: string }).messageId))];
    const states = await this.loadStates(tx, messageIds);
    const touched = new Set<MessageState>();
    const changes: StatusChange[] = [];

    for (const { event, recordedAt } of events) {
      const data = event.data as { appId: string; messageId: string };
      let state = states.get(data.messageId);
      if (!state) {
        state = untrackedMessage(data.appId, data.messageId);
        states.set(data.messageId, state);
      }
      touched.add(state);
      const rise = trackStatus(state, event, recordedAt);
      if (!rise) continue;
      const type = messageEventType(rise.status);
      const change: StatusChangeData = {
        messageId: state.messageId,
        requestId: state.requestId,
        recipient: state.recipient,
        phoneNumber: state.phoneNumber,
        status: rise.status,
        previousStatus: rise.previousStatus,
        providerMessageId: state.providerMessageId,
        at: rise.at,
        discardReason: rise.discardReason,
        category: state.category,
        template: state.template,
      };
      changes.push({ appId: state.appId, messageId: state.messageId, type, at: change.at, body: statusChangeBody(type, change), recordedAt });
    }

    await this.saveStates(tx, [...touched]);
    if (changes.length === 0) return;
    await insertStatusChanges(tx, changes, this.config.get('WEBHOOK_OUT_RETRY_HOURS'));
  }

  async reset(tx: SqlExecutor): Promise<void> {
    // Deliveries already made stay; only what decides the next ones starts again.
    await tx.query('DELETE FROM webhook_message_states');
    await tx.query('DELETE FROM webhook_status_changes');
  }

  private async loadStates(tx: SqlExecutor, messageIds: string[]): Promise<Map<string, MessageState>> {
    const rows = await tx.query<StateRow>('SELECT * FROM webhook_message_states WHERE message_id = ANY ($1::text[])', [messageIds]);
    return new Map(
      rows.map((row) => [
        row.message_id,
        {
          messageId: row.message_id,
          appId: row.app_id,
          requestId: row.request_id,
          recipient: row.recipient,
          phoneNumber: row.phone_number,
          status: row.status,
          providerMessageId: row.provider_message_id,
          discardReason: row.discard_reason,
          category: row.category,
          template: row.template,
        },
      ]),
    );
  }

  private async saveStates(tx: SqlExecutor, states: MessageState[]): Promise<void> {
    const known = states.filter((state) => state.status !== null);
    if (known.length === 0) return;
    await tx.query(
      `INSERT INTO webhook_message_states (message_id, app_id, request_id, recipient, phone_number, status, provider_message_id, discard_reason, category, template)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[], $10::text[])
       ON CONFLICT (message_id) DO UPDATE SET request_id = EXCLUDED.request_id, recipient = EXCLUDED.recipient,
         phone_number = EXCLUDED.phone_number, status = EXCLUDED.status, provider_message_id = EXCLUDED.provider_message_id,
         discard_reason = EXCLUDED.discard_reason, category = EXCLUDED.category, template = EXCLUDED.template`,
      [
        known.map((s) => s.messageId),
        known.map((s) => s.appId),
        known.map((s) => s.requestId),
        known.map((s) => s.recipient),
        known.map((s) => s.phoneNumber),
        known.map((s) => s.status),
        known.map((s) => s.providerMessageId),
        known.map((s) => (s.discardReason ? JSON.stringify(s.discardReason) : null)),
        known.map((s) => s.category),
        known.map((s) => s.template),
      ],
    );
  }
}
