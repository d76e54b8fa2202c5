import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '../../../database/database';
import { EventStoreSubscription, type RecordedEvent, type SubscriptionHandler } from '../../../event-store';
import type { WhatsAppMessageSentData } from '../../domain';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Keeps the job table in step when a message parked as outcome_unknown is found to have been sent
 * by someone other than the dispatcher (the tracking side matching a Gupshup callback to it, or an
 * operator): its WhatsAppMessageSent moves the job to `sent`, so it is neither listed as
 * unresolved nor sent again.
 */
@Injectable()
@EventStoreSubscription()
export class DispatchJobSettlement implements SubscriptionHandler {
  readonly subscriptionName = 'whatsapp_dispatch_job_settlement';
  readonly eventTypes = ['WhatsAppMessageSent'];
  /** Each message's events (all in its stream) decide what this does with them. */
  readonly partitionedByStream = true;

  async handle(events: RecordedEvent[], tx: SqlExecutor): Promise<void> {
    // Only this service's message ids (UUIDs) can have a job; anything else is not ours to settle.
    const sent = events.map((event) => event.data as unknown as WhatsAppMessageSentData).filter((data) => UUID.test(data.messageId));
    if (sent.length === 0) return;
    await tx.query(
      `UPDATE whatsapp_dispatch_jobs j
          SET state = 'sent', provider_message_id = s.provider_message_id, attempts = greatest(j.attempts, s.attempt),
              lease_token = NULL, locked_until = NULL, updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::int[]) AS s (message_id, provider_message_id, attempt)
        WHERE j.message_id = s.message_id::uuid AND j.state = 'outcome_unknown'`,
      [sent.map((data) => data.messageId), sent.map((data) => data.providerMessageId), sent.map((data) => data.attempt)],
    );
  }
}
