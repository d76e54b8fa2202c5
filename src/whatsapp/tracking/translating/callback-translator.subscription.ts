import { Injectable, Logger } from '@nestjs/common';
import type { SqlExecutor } from '../../../database/database';
import { EventStore, EventStoreSubscription, type BatchContext, type RecordedEvent, type StoreEvent, type SubscriptionHandler } from '../../../event-store';
import { messageStreamId, WhatsAppMessageQueued, WhatsAppMessageSent, type WhatsAppDispatchOutcomeUnknownData, type WhatsAppMessageSentData } from '../../domain';
import type { GupshupCallbackReceivedData } from '../receiving/gupshup-callback-received.event';
import { action, FailedCallbackRetries } from '../../sending';
import { TrackingMetrics } from '../tracking.metrics';
import { destinationDigits, type UnresolvedDispatch } from './lost-dispatches';
import { translateBatch, type TranslatorInput } from './translate-batch';
import { maskedPhoneNumber } from '../../../users';

export const TRANSLATOR_SUBSCRIPTION = 'whatsapp_callback_translation';

/**
 * The one place where callbacks take effect: reads the recorded callbacks together with the
 * sending events, in the log's commit order, and turns them into delivery events (see
 * translateBatch), in the transaction that moves its checkpoint. Rewinding it (the
 * tracking:retranslate command) derives the same events again, and stores only what differs.
 */
@Injectable()
@EventStoreSubscription()
export class CallbackTranslator implements SubscriptionHandler {
  readonly subscriptionName = TRANSLATOR_SUBSCRIPTION;
  readonly eventTypes = ['GupshupCallbackReceived', 'WhatsAppMessageSent', 'WhatsAppDispatchOutcomeUnknown'];
  private readonly logger = new Logger('DeliveryTracking');

  constructor(
    private readonly store: EventStore,
    private readonly metrics: TrackingMetrics,
    private readonly failedCallbacks: FailedCallbackRetries,
  ) {}

  async handle(recorded: RecordedEvent[], tx: SqlExecutor, batch?: BatchContext): Promise<void> {
    const inputs: TranslatorInput[] = [];
    for (const event of recorded) {
      if (event.type === 'GupshupCallbackReceived') {
        inputs.push({ kind: 'callback', eventId: event.eventId, data: event.data as unknown as GupshupCallbackReceivedData });
      } else if (event.type === 'WhatsAppMessageSent') {
        const data = event.data as unknown as WhatsAppMessageSentData;
        inputs.push({ kind: 'sent', appId: data.appId, messageId: data.messageId, gupshupMessageId: data.providerMessageId });
      } else {
        const data = event.data as unknown as WhatsAppDispatchOutcomeUnknownData;
        inputs.push({ kind: 'lost', dispatch: await this.lostDispatch(tx, data) });
      }
    }
    const result = await translateBatch(tx, inputs, (batchTx, failures) => this.failedCallbacks.decide(batchTx, failures), { replay: batch?.replay });

    for (const outcome of result.outcomes) {
      this.metrics.callback(outcome.format, outcome.kind, outcome.outcome);
      if (outcome.outcome === 'invalid') {
        this.logger.warn({ message: 'unreadable callback kept as invalid', appId: outcome.appId, callbackEventId: outcome.callbackEventId, problem: outcome.problem });
      } else if (outcome.outcome === 'parked') {
        // Routine when a callback overtakes its send's record: info, and its ids, so that the line ties to the message later.
        const { appId, callbackEventId, kind, gupshupMessageId, whatsappMessageId, destination } = outcome;
        this.logger.log({ message: 'callback parked: no known message has its id yet', appId, callbackEventId, providerStatus: kind, gupshupMessageId, whatsappMessageId, destination: destination && maskedDestination(destination) });
      }
    }
    // Each parked report's end: the message it waited for, at the parked line's level.
    for (const applied of result.appliedFromParking) {
      const { appId, messageId, callbackEventId, providerStatus, gupshupMessageId, whatsappMessageId, destination, receivedAt } = applied;
      this.logger.log({
        message: `parked callback (${providerStatus}) applied: its message is known now`,
        appId,
        messageId,
        callbackEventId,
        providerStatus,
        gupshupMessageId,
        whatsappMessageId,
        destination: destination && maskedDestination(destination),
        receivedAt: receivedAt.toISOString(),
        ...action('unparked'),
      });
    }
    for (const { appId, messageId, gupshupMessageId } of result.reconciled) {
      this.logger.log({ message: 'lost send answer reconciled from an authenticated callback', appId, messageId, gupshupMessageId, ...action('reconciled') });
    }
    for (const { appId, messageId, report, gupshupMessageId } of result.failuresAfterReceipt) {
      this.logger.warn({
        message: `failed callback (code ${report.code ?? 'none'}) after the message was delivered: kept in its timeline, not sent again`,
        appId,
        messageId,
        gupshupMessageId: report.gupshupMessageId ?? gupshupMessageId,
        code: report.code,
        ...action('ignored'),
      });
    }
    // The failures that ended their message, each logged and counted once: only new events (one
    // after a receipt, logged above, keeps the receipt's status, not `discarded`).
    await this.failedCallbacks.reportDiscards(
      tx,
      result.appended
        .filter((event) => event.data.status === 'discarded' && event.data.retry === undefined)
        .map(({ data }) => ({ appId: data.appId, messageId: data.messageId, gupshupMessageId: data.providerMessageId, code: data.code, reason: data.reason })),
    );
    await this.failedCallbacks.receiptsAfterFailures(tx, result.receiptsAfterFailures);
    this.metrics.recordApplied(result.appended, result.unparked, result.reconciled.length);
  }

  /**
   * Forgets what translating built, before the log is translated again from its start: the
   * correlations, the lost dispatches and the callbacks parked from raw callbacks (all derived
   * from the log, billing reports waiting for their message too; correlations learnt before
   * callbacks were recorded raw are kept, as nothing in
   * the log could teach them again). The delivery events stay; translating again finds them stored.
   */
  async reset(tx: SqlExecutor): Promise<void> {
    await tx.query('DELETE FROM tracking_correlations WHERE derived_from_log');
    await tx.query('DELETE FROM tracking_unresolved_dispatches');
    await tx.query('DELETE FROM parked_callbacks WHERE callback_event_id IS NOT NULL');
    await tx.query('DELETE FROM tracking_waiting_billing');
  }

  /** The lost dispatch's phone number, unless the message was sent after all (or has no number). */
  private async lostDispatch(tx: SqlExecutor, data: WhatsAppDispatchOutcomeUnknownData): Promise<UnresolvedDispatch | null> {
    const stream: StoreEvent<object>[] = await this.store.readStream(messageStreamId(data.messageId), { tx });
    // Sent by this attempt or a later one after all; an earlier attempt's acceptance (a message
    // tried again after a failed callback) says nothing about this one.
    if (stream.some((event) => event instanceof WhatsAppMessageSent && event.data.attempt >= data.attempt)) return null;
    const queued = stream.find((event): event is WhatsAppMessageQueued => event instanceof WhatsAppMessageQueued);
    const phoneNumber = queued?.data.phoneNumber;
    if (!phoneNumber) return null;
    return { appId: data.appId, messageId: data.messageId, destination: destinationDigits(phoneNumber), attempt: data.attempt, startedAt: new Date(data.startedAt) };
  }
}

/** Gupshup's destination (digits, no +), masked as the other lines mask numbers. */
function maskedDestination(destination: string): string {
  return maskedPhoneNumber(destination.startsWith('+') ? destination : `+${destination}`);
}
