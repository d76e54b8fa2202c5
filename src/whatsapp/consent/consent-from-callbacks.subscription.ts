import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { SqlExecutor } from '../../database/database';
import { EventStore, EventStoreSubscription, type RecordedEvent, type StoreEvent, type SubscriptionHandler } from '../../event-store';
import { messageStreamId, WhatsAppMessageQueued, type DeliveryStatusChangedData } from '../domain';
import { uuidV5 } from '../domain/name-based-uuid';
import { parseContactEvents, type ContactEvent } from '../gupshup/contact-events-parser';
import { recordedBody, type GupshupCallbackReceivedData } from '../tracking/receiving/gupshup-callback-received.event';
import { ConsentMetrics } from './consent.metrics';
import { recordCustomerMessage, recordLifting, recordSuppression } from './consent-records';
import { WhatsAppCustomerMessageReceived, WhatsAppNumberSuppressed, type SuppressionReason } from './consent.events';
import { contactNumber } from './contact-number';

export const CONSENT_SUBSCRIPTION = 'whatsapp_consent';

/** Namespace of the ids of consent events derived from the log: the same callback read again stores nothing twice. */
const CONSENT_EVENT_NAMESPACE = '5f0c8a9e-3b7d-4e21-9a6f-2d8c4b1e7a53';

/** Failure codes that say something about the number rather than the message (GUPSHUP.md §2.9). */
const SUPPRESSING_CODES: Readonly<Record<string, SuppressionReason>> = { '1002': 'not_on_whatsapp', '1012': 'opted_out' };

const DAY_MS = 86_400_000;

/** Shows enough of a number to tell it apart in a log, not enough to give it away. */
function shownNumber(phoneNumber: string): string {
  return `${phoneNumber.slice(0, 3)}…${phoneNumber.slice(-4)}`;
}

/**
 * Reads, in log order, the recorded callbacks and the delivery events, and keeps the app's
 * consent up to date: user-events opted-out / opted-in suppress a number or lift that, a
 * failure with code 1002 suppresses it as not_on_whatsapp for NOT_ON_WHATSAPP_SUPPRESSION_DAYS,
 * 1012 as opted_out, and inbound messages record when the number last wrote. Its events and
 * tables are written in the transaction that moves its checkpoint.
 */
@Injectable()
@EventStoreSubscription()
export class ConsentFromCallbacks implements SubscriptionHandler {
  readonly subscriptionName = CONSENT_SUBSCRIPTION;
  readonly eventTypes = ['GupshupCallbackReceived', 'DeliveryStatusChanged'];
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
      } else {
        await this.applyFailure(tx, event.eventId, event.data as unknown as DeliveryStatusChangedData);
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
      if (suppressed) this.logChange('suppressed', 'opted_out', 'user_event', { appId, phoneNumber, callbackEventId });
      return;
    }
    const lifted = await recordLifting(tx, { appId, phoneNumber, reasons: ['opted_out'], at, source: 'user_event', callbackEventId }, eventId('opted-in'));
    for (const reason of lifted) this.logChange('lifted', reason, 'user_event', { appId, phoneNumber, callbackEventId });
  }

  private async applyFailure(tx: SqlExecutor, deliveryEventId: string, data: DeliveryStatusChangedData): Promise<void> {
    const reason = data.providerStatus === 'failed' && data.code ? SUPPRESSING_CODES[data.code] : undefined;
    if (!reason) return;
    const stream: StoreEvent<object>[] = await this.store.readStream(messageStreamId(data.messageId), { tx });
    const queued = stream.find((event): event is WhatsAppMessageQueued => event instanceof WhatsAppMessageQueued);
    const phoneNumber = queued?.data.phoneNumber;
    if (!phoneNumber) return;
    const until = reason === 'not_on_whatsapp' ? new Date(new Date(data.receivedAt).getTime() + this.notOnWhatsAppMs).toISOString() : null;
    const suppressed = await recordSuppression(
      tx,
      new WhatsAppNumberSuppressed(
        {
          appId: data.appId,
          phoneNumber,
          reason,
          since: data.occurredAt,
          until,
          source: 'failed_callback',
          note: `Gupshup code ${data.code}${data.reason ? `: ${data.reason}` : ''}`,
          messageId: data.messageId,
        },
        uuidV5(`${deliveryEventId}:suppressed`, CONSENT_EVENT_NAMESPACE),
      ),
    );
    if (suppressed) this.logChange('suppressed', reason, 'failed_callback', { appId: data.appId, phoneNumber, messageId: data.messageId, code: data.code, until });
  }

  private logChange(change: 'suppressed' | 'lifted', reason: SuppressionReason, source: string, fields: { phoneNumber: string } & Record<string, unknown>): void {
    this.metrics.suppressionChanged(change, reason, source);
    this.logger.log({ message: `number ${change} (${reason}) from a ${source.replace('_', ' ')}`, ...fields, phoneNumber: shownNumber(fields.phoneNumber), reason, source });
  }
}
