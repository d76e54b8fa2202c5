import { Injectable, Logger } from '@nestjs/common';
import type { SqlExecutor } from '../../database/database';
import { EventStore, EventStoreSubscription, toStoreEvent, type RecordedEvent, type StoreEvent, type SubscriptionHandler } from '../../event-store';
import { messageStreamId, WhatsAppDispatchOutcomeUnknown, WhatsAppMessageQueued, WhatsAppMessageSent } from '../domain';
import { OutcomeUnknownResolver } from '../sending';
import { correlationKeyString, findCorrelations, registerCorrelations } from './correlations';
import type { ResolvedReport } from './delivery-report';
import { destinationDigits, forgetStaleDispatches, forgetUnresolvedDispatches, reconcileOrRemember } from './dispatch-reconciliation';
import { takeParkedByGupshupIds, whatsappIdsParkedUnder } from './parked-callbacks';
import { applyResolvedReports } from './report-application';
import { TrackingMetrics } from './tracking.metrics';
import { lockProviderKeys, type ProviderKey } from './tracking-locks';

export const TRACKING_SUBSCRIPTION = 'whatsapp_delivery_tracking';

/**
 * Learns each message's Gupshup id from WhatsAppMessageSent and applies the callbacks that were
 * parked waiting for it, in the batch's transaction (so exactly once, with the checkpoint).
 * Also remembers dispatches whose outcome was lost, for reconciliation by a later callback.
 *
 * Replaying from the start of the log is safe: registering an id twice and applying a report
 * twice are no-ops (correlations keep their first message, events are keyed by a derived id).
 */
@Injectable()
@EventStoreSubscription()
export class TrackingSubscription implements SubscriptionHandler {
  readonly subscriptionName = TRACKING_SUBSCRIPTION;
  readonly eventTypes = ['WhatsAppMessageSent', 'WhatsAppDispatchOutcomeUnknown'];
  private readonly logger = new Logger('DeliveryTracking');

  constructor(
    private readonly store: EventStore,
    private readonly metrics: TrackingMetrics,
    private readonly lostDispatches: OutcomeUnknownResolver,
  ) {}

  async handle(recorded: RecordedEvent[], tx: SqlExecutor): Promise<void> {
    const events: StoreEvent<object>[] = recorded.map(toStoreEvent);
    const sent = events.filter((event): event is WhatsAppMessageSent => event instanceof WhatsAppMessageSent).map((event) => event.data);
    const lost = events.filter((event): event is WhatsAppDispatchOutcomeUnknown => event instanceof WhatsAppDispatchOutcomeUnknown).map((event) => event.data);

    const gupshupKeys: ProviderKey[] = sent.map((data) => ({ appId: data.appId, kind: 'gupshup', providerId: data.providerMessageId }));
    // The WhatsApp ids the parked reports carry are locked up front too, in the same ascending
    // order as everyone else's, since applying those reports registers them.
    const whatsappKeys: ProviderKey[] = (await whatsappIdsParkedUnder(tx, gupshupKeys)).map((key) => ({ ...key, kind: 'whatsapp' }));
    const held = await lockProviderKeys(tx, [...gupshupKeys, ...whatsappKeys]);

    await registerCorrelations(tx, sent.map((data) => ({ appId: data.appId, kind: 'gupshup', providerId: data.providerMessageId, messageId: data.messageId })));
    const owners = await findCorrelations(tx, gupshupKeys);
    for (const data of sent) {
      const owner = owners.get(correlationKeyString({ appId: data.appId, kind: 'gupshup', providerId: data.providerMessageId }));
      if (owner && owner.messageId !== data.messageId) {
        this.logger.warn(`Gupshup id ${data.providerMessageId} of message ${data.messageId} already belongs to message ${owner.messageId}; its callbacks go to the latter`);
      }
    }

    const parked = await takeParkedByGupshupIds(tx, gupshupKeys);
    const resolved: ResolvedReport[] = parked.map((p) => {
      const owner = owners.get(correlationKeyString({ appId: p.appId, kind: 'gupshup', providerId: p.report.gupshupMessageId! }))!;
      return { appId: p.appId, messageId: owner.messageId, gupshupMessageId: p.report.gupshupMessageId, report: p.report, receivedAt: p.receivedAt };
    });
    const application = await applyResolvedReports(tx, resolved, held);
    await forgetUnresolvedDispatches(tx, sent.map((data) => data.messageId));

    let appended = application.appended;
    let unparked = parked.length + application.unparked;
    let reconciled = 0;
    if (lost.length > 0) await forgetStaleDispatches(tx);
    for (const data of lost) {
      const dispatch = await this.lostDispatch(tx, data.messageId, data.appId, data.attempt, data.startedAt);
      if (!dispatch) continue;
      const outcome = await reconcileOrRemember(tx, dispatch, held, (messageId, gupshupId, executor) =>
        this.lostDispatches.settleAsSent(messageId, gupshupId, executor),
      );
      appended = [...appended, ...outcome.appended];
      unparked += outcome.unparked;
      reconciled += outcome.reconciled;
    }
    this.metrics.recordApplied(appended, unparked, reconciled);
  }

  /** The lost dispatch's phone number, unless the message was sent after all (or has no number). */
  private async lostDispatch(tx: SqlExecutor, messageId: string, appId: string, attempt: number, startedAt: string) {
    const stream: StoreEvent<object>[] = await this.store.readStream(messageStreamId(messageId), { tx });
    if (stream.some((event) => event instanceof WhatsAppMessageSent)) return null;
    const queued = stream.find((event): event is WhatsAppMessageQueued => event instanceof WhatsAppMessageQueued);
    const phoneNumber = queued?.data.phoneNumber;
    if (!phoneNumber) return null;
    return { appId, messageId, destination: destinationDigits(phoneNumber), attempt, startedAt: new Date(startedAt) };
  }
}
