import { SetMetadata } from '@nestjs/common';
import type { SqlExecutor } from '../../database/database';
import type { RecordedEvent } from '../event';

/**
 * A durable consumer of the global log. `handle` gets each batch inside the transaction that
 * also advances the subscription's checkpoint, so its own writes and the checkpoint commit together:
 * a batch is applied exactly once, or not at all and retried.
 */
export interface SubscriptionHandler {
  /** Stable name: the key of its checkpoint. */
  readonly subscriptionName: string;
  /** Event types it wants; others are skipped (the checkpoint still moves past them). Omit for all. */
  readonly eventTypes?: readonly string[];
  /**
   * True when what `handle` does with an event depends only on the earlier events of the same
   * stream, never on the log's order between streams: the subscription can then be cut into
   * SUBSCRIPTION_PARTITIONS parts by stream, each with its checkpoint, run by different instances.
   */
  readonly partitionedByStream?: boolean;
  handle(events: RecordedEvent[], tx: SqlExecutor): Promise<void>;
  /** Clears whatever `handle` built, before a replay from the start of the log. */
  reset?(tx: SqlExecutor): Promise<void>;
}

export const EVENT_STORE_SUBSCRIPTION = Symbol('event-store-subscription');

/** Marks a provider as a subscription handler; the SubscriptionManager finds and runs it. */
export const EventStoreSubscription = (): ClassDecorator => SetMetadata(EVENT_STORE_SUBSCRIPTION, true);
