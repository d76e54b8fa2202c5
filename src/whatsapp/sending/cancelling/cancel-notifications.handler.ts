import { Logger, NotFoundException } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { Database, type SqlExecutor } from '../../../database/database';
import { EventStore, type StoreEvent } from '../../../event-store';
import { notificationStreamId, NotificationRequested } from '../../domain';
import { DispatchJobs } from '../dispatch/dispatch-jobs';
import { requestsOfCancellationKey } from './cancellation-keys';
import { CancelWhatsAppNotificationsCommand, type CancelNotificationsResult, type CancellationTarget } from './cancel-notifications.command';
import { MESSAGES_CANCELLED } from './cancelling.metrics';

/** The discard code of a cancelled message. */
export const CANCELLED = 'cancelled';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The app has no such request, or no run of the workflow with this cancellation key (404). */
export class NothingToCancelError extends NotFoundException {
  constructor(target: CancellationTarget) {
    super(
      'requestId' in target
        ? `No notification request ${JSON.stringify(target.requestId)} in this app: use the requestId that POST /v3/notifications answered`
        : `No notification of workflow ${JSON.stringify(target.workflowIdentifier)} was sent with cancellationKey ${JSON.stringify(target.cancellationKey)} in this app ` +
            '(the key is notification.workflow.cancellationKey of the send request)',
    );
    this.name = 'NothingToCancelError';
  }
}

/**
 * Discards as `cancelled`, in one transaction, every message of the targeted requests that is not
 * yet handed to Gupshup (DispatchJobs.withdraw: a worker that claimed one does not send it); a
 * message already sent, or discarded before, is left as it is.
 */
@CommandHandler(CancelWhatsAppNotificationsCommand)
export class CancelWhatsAppNotificationsHandler implements ICommandHandler<CancelWhatsAppNotificationsCommand, CancelNotificationsResult> {
  private readonly logger = new Logger('Cancelling');

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly jobs: DispatchJobs,
    @InjectMetric(MESSAGES_CANCELLED) private readonly cancelledCounter: Counter<'by'>,
  ) {}

  async execute({ appId, target }: CancelWhatsAppNotificationsCommand): Promise<CancelNotificationsResult> {
    const { requestIds, withdrawn } = await this.db.transaction(async (tx) => {
      const requestIds = 'requestId' in target ? [target.requestId] : await requestsOfCancellationKey(tx, appId, target.workflowIdentifier, target.cancellationKey);
      const requests = await this.requestsOf(tx, appId, requestIds);
      if (requests.length === 0) throw new NothingToCancelError(target);
      const only = 'recipients' in target && target.recipients !== undefined ? new Set(target.recipients) : undefined;
      const messageIds = requests.flatMap(({ messageIds, recipients }) => messageIds.filter((_, index) => !only || only.has(recipients[index])));
      const detail =
        'requestId' in target
          ? `Cancelled (POST /v3/notifications/${target.requestId}/cancel) before it was handed to Gupshup`
          : `Cancelled with workflow ${JSON.stringify(target.workflowIdentifier)}'s cancellationKey ${JSON.stringify(target.cancellationKey)} before it was handed to Gupshup`;
      const withdrawn = await this.jobs.withdraw(tx, messageIds, { reason: CANCELLED, detail });
      return { requestIds: requests.map((request) => request.requestId), withdrawn };
    });
    const by = 'requestId' in target ? 'request' : 'workflow';
    this.cancelledCounter.inc({ by }, withdrawn.length);
    this.logger.log({
      message: `cancelled ${withdrawn.length} message(s) not yet handed to Gupshup`,
      appId,
      requestIds,
      ...('workflowIdentifier' in target ? { workflow: target.workflowIdentifier, cancellationKey: target.cancellationKey } : {}),
      messageIds: withdrawn,
      cancelled: withdrawn.length,
    });
    return { cancelled: withdrawn.length };
  }

  /** The app's requests among these ids, with their messages and recipients (same order). */
  private async requestsOf(tx: SqlExecutor, appId: string, requestIds: readonly string[]): Promise<NotificationRequested['data'][]> {
    const found: NotificationRequested['data'][] = [];
    for (const requestId of requestIds) {
      if (!UUID.test(requestId)) continue;
      const events: StoreEvent<object>[] = await this.store.readStream(notificationStreamId(requestId), { tx });
      const requested = events.find((event): event is NotificationRequested => event instanceof NotificationRequested);
      if (requested && requested.data.appId === appId) found.push(requested.data);
    }
    return found;
  }
}
