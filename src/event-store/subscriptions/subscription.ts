import { SetMetadata } from '@nestjs/common';
import type { SqlExecutor } from '../../database/database';
import type { RecordedEvent } from '../event';

/**
 * A test on an event's data, made by the database while it reads the log: `contains`, the data
 * contains this JSON (jsonb's @>: every field given, with that value, arrays holding such an
 * element); `hasKey`, the data has this top-level field.
 */
export type EventDataMatch = { contains: object } | { hasKey: string };

/** What a handler is told about the batch it gets. */
export interface BatchContext {
  /**
   * The batch is (partly) processed a second time: the subscription was rewound (SubscriptionRunner.rewind)
   * to before where it had got. Appends by deterministic id are idempotent anyway; a handler that
   * keeps rows derived from an event may need to replace them rather than add to them.
   */
  replay: boolean;
}

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
   * For some of its event types, the events it wants among them: those whose data passes one of
   * the tests; the others are skipped like events of other types, neither sent nor parsed. Only a
   * way to read less: the handler must still ignore what it does not want, as the tests may let
   * more through (an event written before a field the test relies on existed, say).
   */
  readonly eventFilters?: Readonly<Record<string, readonly EventDataMatch[]>>;
  /**
   * True when what `handle` does with an event depends only on the earlier events of the same
   * stream, never on the log's order between streams: the subscription can then be cut into
   * SUBSCRIPTION_PARTITIONS parts by stream, each with its checkpoint, run by different instances.
   */
  readonly partitionedByStream?: boolean;
  handle(events: RecordedEvent[], tx: SqlExecutor, batch?: BatchContext): Promise<void>;
  /** Clears whatever `handle` built, before a replay from the start of the log. */
  reset?(tx: SqlExecutor): Promise<void>;
}

export const EVENT_STORE_SUBSCRIPTION = Symbol('event-store-subscription');

/** Marks a provider as a subscription handler; the SubscriptionManager finds and runs it. */
export const EventStoreSubscription = (): ClassDecorator => SetMetadata(EVENT_STORE_SUBSCRIPTION, true);
