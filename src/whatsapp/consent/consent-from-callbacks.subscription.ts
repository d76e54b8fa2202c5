import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { SqlExecutor } from '../../database/database';
import { EventStore, EventStoreSubscription, type RecordedEvent, type StoreEvent, type SubscriptionHandler } from '../../event-store';
import { messageStreamId, WhatsAppMessageQueued, type DeliveryFailureOvertakenData, type DeliveryStatusChangedData } from '../domain';
import { uuidV5 } from '../domain/name-based-uuid';
import { parseContactEvents, type ContactEvent } from '../gupshup/contact-events-parser';
import { recordedBody, type GupshupCallbackReceivedData } from '../tracking/receiving/gupshup-callback-received.event';
import { ConsentMetrics } from './consent.metrics';
import { recordCustomerMessage, recordLifting, recordSuppression, type SuppressionOutcome } from './consent-records';
import { WhatsAppCustomerMessageReceived, WhatsAppNumberSuppressed, type SuppressionReason } from './consent.events';
import { contactNumber } from './contact-number';
import { maskedPhoneNumber } from '../../users';

export const CONSENT_SUBSCRIPTION = 'whatsapp_consent';

/** Namespace of the ids of consent events derived from the log: the same callback read again stores nothing twice. */
const CONSENT_EVENT_NAMESPACE = '5f0c8a9e-3b7d-4e21-9a6f-2d8c4b1e7a53';

/** Failure codes that say something about the number rather than the message (GUPSHUP.md §2.9). */
const SUPPRESSING_CODES: Readonly<Record<string, SuppressionReason>> = { '1002': 'not_on_whatsapp', '1012': 'opted_out' };

const DAY_MS = 86_400_000;


/**
 * Reads, in log order, the recorded callbacks and the delivery events, and keeps the app's
 * consent up to date: user-events opted-out / opted-in suppress a number or lift that, a
 * failure with code 1002 suppresses it as not_on_whatsapp for NOT_ON_WHATSAPP_SUPPRESSION_DAYS,
 * 1012 as opted_out, and inbound messages record when the number last wrote. A failure of a
 * message that has a delivered or read receipt (received before the failure, or already recorded
 * when the failure is read) suppresses nothing: the number demonstrably is on WhatsApp. Its events
 * and tables are written in the transaction that moves its checkpoint.
 */
@Injectable()
@EventStoreSubscription()
export class ConsentFromCallbacks implements SubscriptionHandler {
  readonly subscriptionName = CONSENT_SUBSCRIPTION;
  readonly eventTypes = ['GupshupCallbackReceived', 'DeliveryStatusChanged', 'DeliveryFailureOvertaken'];
  /**
   * What can bear on consent: v2 user-events and inbound messages, v3 callbacks holding messages
   * (a body kept as text is read to find out), failures. The log holds mostly status callbacks.
   */
  readonly eventFilters = {
    GupshupCallbackReceived: [
      { contains: { body: { type: 'user-event' } } },
      { contains: { body: { type: 'message' } } },
      { contains: { body: { entry: [{ changes: [{ value: { messages: [{}] } }] }] } } },
      { hasKey: 'bodyText' },
    ],
    DeliveryStatusChanged: [{ contains: { providerStatus: 'failed' } }],
  };
  private readonly logger = new Logger('Consent');
  private readonly notOnWhatsAppMs: number;

  constructor(
    config: AppConfig,
    private readonly store: EventStore,
    private readonly metrics: ConsentMetrics,
  ) {
    this.notOnWhatsAppMs = config.get('NOT_ON_WHATSAPP_SUPPRESSION_DAYS') * DAY_MS;
  }

  async handle(events: RecordedEvent[], tx: SqlExecutor): Promise<void> {
    for (const event of events) {
      if (event.type === 'GupshupCallbackReceived') {
        const data = event.data as unknown as GupshupCallbackReceivedData;
        const receivedAt = new Date(data.receivedAt);
        const contactEvents = parseContactEvents(recordedBody(data), receivedAt);
        for (const [index, contactEvent] of contactEvents.entries()) {
          await this.applyContactEvent(tx, data.appId, event.eventId, index, contactEvent, receivedAt);
        }
      } else if (event.type === 'DeliveryStatusChanged') {
        await this.applyFailure(tx, event.eventId, event.data as unknown as DeliveryStatusChangedData);
      } else {
        await this.applyOvertakenFailure(tx, event.eventId, event.data as unknown as DeliveryFailureOvertakenData);
      }
    }
  }

  private async applyContactEvent(tx: SqlExecutor, appId: string, callbackEventId: string, index: number, event: ContactEvent, receivedAt: Date): Promise<void> {
    const phoneNumber = contactNumber(event.phone);
    if (!phoneNumber) {
      this.logger.warn({ message: `a ${event.kind} callback names no usable phone number; ignored`, appId, callbackEventId });
      return;
    }
    const eventId = (what: string) => uuidV5(`${callbackEventId}:${index}:${what}`, CONSENT_EVENT_NAMESPACE);
    const at = event.occurredAt.toISOString();
    if (event.kind === 'inbound_message') {
      await recordCustomerMessage(
        tx,
        new WhatsAppCustomerMessageReceived({ appId, phoneNumber, at, receivedAt: receivedAt.toISOString(), callbackEventId }, eventId('inbound')),
      );
      return;
    }
    if (event.kind === 'opted_out') {
      const suppressed = await recordSuppression(
        tx,
        new WhatsAppNumberSuppressed({ appId, phoneNumber, reason: 'opted_out', since: at, until: null, source: 'user_event', callbackEventId }, eventId('opted-out')),
      );
      this.logSuppression(suppressed, 'opted_out', 'user_event', { appId, phoneNumber, callbackEventId, since: at });
      return;
    }
    const lifted = await recordLifting(tx, { appId, phoneNumber, reasons: ['opted_out'], at, source: 'user_event', callbackEventId }, eventId('opted-in'));
    for (const reason of lifted) this.logChange('lifted', reason, 'user_event', { appId, phoneNumber, callbackEventId });
  }

  /**
   * A receipt came after the 1002 that had suppressed the number as not on WhatsApp: the message
   * reached the phone, so the number is on WhatsApp and that suppression is lifted, as of the later
   * of the failure's instant and the receipt's (a 1002 of another message dated after it still
   * suppresses). A 1012 stays: a receipt does not show the person wants the app's messages, and
   * consent errs on the side of not sending.
   */
  private async applyOvertakenFailure(tx: SqlExecutor, eventId: string, data: DeliveryFailureOvertakenData): Promise<void> {
    const reason = !data.failure.retried && data.failure.code ? SUPPRESSING_CODES[data.failure.code] : undefined;
    if (reason !== 'not_on_whatsapp') return;
    const phoneNumber = await this.phoneNumberOf(tx, data.messageId);
    if (!phoneNumber) return;
    const at = new Date(Math.max(earlierOf(data.failure.occurredAt, data.failure.receivedAt), earlierOf(data.receipt.occurredAt, data.receipt.receivedAt)));
    const lifted = await recordLifting(
      tx,
      { appId: data.appId, phoneNumber, reasons: [reason], at: at.toISOString(), source: 'receipt', messageId: data.messageId },
      uuidV5(`${eventId}:lifted`, CONSENT_EVENT_NAMESPACE),
    );
    for (const liftedReason of lifted) {
      this.logChange('lifted', liftedReason, 'receipt', { appId: data.appId, phoneNumber, messageId: data.messageId, code: data.failure.code, receiptStatus: data.receipt.providerStatus });
    }
  }

  private async phoneNumberOf(tx: SqlExecutor, messageId: string): Promise<string | null | undefined> {
    const stream: StoreEvent<object>[] = await this.store.readStream(messageStreamId(messageId), { tx });
    const queued = stream.find((event): event is WhatsAppMessageQueued => event instanceof WhatsAppMessageQueued);
    return queued?.data.phoneNumber;
  }

  private async applyFailure(tx: SqlExecutor, deliveryEventId: string, data: DeliveryStatusChangedData): Promise<void> {
    // A failure sent back for another try ends nothing, and says nothing final about the number.
    const reason = data.providerStatus === 'failed' && data.code && !data.retry ? SUPPRESSING_CODES[data.code] : undefined;
    if (!reason) return;
    const phoneNumber = await this.phoneNumberOf(tx, data.messageId);
    if (!phoneNumber) return;
    // Decided by the translator in log order (afterReceipt), not from the stream as it is when this
    // subscription reads it: a lagging run, a caught-up one and a rebuild decide alike.
    if (data.afterReceipt) {
      this.logger.log({
        message: `failure code ${data.code} of a message the phone acknowledged: the number is not suppressed`,
        appId: data.appId,
        messageId: data.messageId,
        phoneNumber: maskedPhoneNumber(phoneNumber),
        code: data.code,
      });
      return;
    }
    // `since` and `until` count from one instant: the failure's own time, as opt-outs do (their
    // lifting compares provider times), but never later than its receipt, so a skewed or forged
    // provider clock cannot stretch the suppression.
    const at = new Date(earlierOf(data.occurredAt, data.receivedAt));
    const until = reason === 'not_on_whatsapp' ? new Date(at.getTime() + this.notOnWhatsAppMs).toISOString() : null;
    const suppressed = await recordSuppression(
      tx,
      new WhatsAppNumberSuppressed(
        {
          appId: data.appId,
          phoneNumber,
          reason,
          since: at.toISOString(),
          until,
          source: 'failed_callback',
          note: `Gupshup code ${data.code}${data.reason ? `: ${data.reason}` : ''}`,
          messageId: data.messageId,
        },
        uuidV5(`${deliveryEventId}:suppressed`, CONSENT_EVENT_NAMESPACE),
      ),
    );
    this.logSuppression(suppressed, reason, 'failed_callback', { appId: data.appId, phoneNumber, messageId: data.messageId, code: data.code, since: at.toISOString(), until });
  }

  /**
   * A suppression recorded is a change; one older than the number's latest lifting of its reason is
   * not applied, and says so (an operator asking why a number that opted out is still sent to).
   */
  private logSuppression(result: SuppressionOutcome, reason: SuppressionReason, source: string, fields: { phoneNumber: string; since: string } & Record<string, unknown>): void {
    if (result.outcome === 'recorded') this.logChange('suppressed', reason, source, fields);
    if (result.outcome !== 'lifted_later') return;
    this.metrics.suppressionChanged('skipped', reason, source);
    this.logger.log({
      message: `suppression (${reason}) from a ${source.replace('_', ' ')} dated ${fields.since} is older than the number's lifting at ${result.liftedAt}: not applied`,
      ...fields,
      phoneNumber: maskedPhoneNumber(fields.phoneNumber),
      reason,
      source,
      liftedAt: result.liftedAt,
    });
  }

  private logChange(change: 'suppressed' | 'lifted', reason: SuppressionReason, source: string, fields: { phoneNumber: string } & Record<string, unknown>): void {
    this.metrics.suppressionChanged(change, reason, source);
    this.logger.log({ message: `number ${change} (${reason}) from a ${source.replace('_', ' ')}`, ...fields, phoneNumber: maskedPhoneNumber(fields.phoneNumber), reason, source });
  }
}

/** Of a provider's time and when it was received, the earlier, in ms. */
function earlierOf(occurredAt: string, receivedAt: string): number {
  return Math.min(Date.parse(occurredAt), Date.parse(receivedAt));
}
