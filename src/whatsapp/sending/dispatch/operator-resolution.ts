import { Injectable } from '@nestjs/common';
import { EventStoreSubscription, type RecordedEvent, type SubscriptionHandler } from '../../../event-store';
import { StoreEvent, StoredEventType } from '../../../event-store/event';
import { DispatchMetrics } from './dispatch-metrics';

export interface WhatsAppDispatchResolvedByOperatorData {
  appId: string;
  messageId: string;
  /** The parked attempt the operator decided about. */
  attempt: number;
  /** `resend`: queued again as a new attempt; `settle`: recorded as sent with `gupshupMessageId`. */
  resolution: 'resend' | 'settle';
  gupshupMessageId?: string;
  resolvedAt: string;
}

/**
 * An operator settled a message parked as outcome_unknown (dispatch:resend, dispatch:settle).
 * Stream: the message's. Not a status change: the views and webhooks skip it. Recorded so that the
 * service counts the decision, whichever short-lived process (the CLI) made it.
 */
@StoredEventType('WhatsAppDispatchResolvedByOperator', 1)
export class WhatsAppDispatchResolvedByOperator extends StoreEvent<WhatsAppDispatchResolvedByOperatorData> {}

/**
 * Counts operators' decisions in the service's /metrics, from their events: the CLI that made them
 * has exited before any scrape. Each event is counted once, by the instance running its partition.
 */
@Injectable()
@EventStoreSubscription()
export class OperatorResolutionCounter implements SubscriptionHandler {
  readonly subscriptionName = 'whatsapp_dispatch_operator_resolutions';
  readonly eventTypes = ['WhatsAppDispatchResolvedByOperator'];
  readonly partitionedByStream = true;

  constructor(private readonly metrics: DispatchMetrics) {}

  handle(events: RecordedEvent[]): Promise<void> {
    for (const event of events) {
      const { resolution } = event.data as unknown as WhatsAppDispatchResolvedByOperatorData;
      if (resolution === 'resend') this.metrics.outcome('retry', 'operator_resend');
      else if (resolution === 'settle') this.metrics.outcome('sent', 'operator_settled');
    }
    return Promise.resolve();
  }
}
