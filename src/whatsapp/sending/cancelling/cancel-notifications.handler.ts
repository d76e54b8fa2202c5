import { BadRequestException, Logger, NotFoundException } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { AppsService } from '../../../apps/apps.service';
import { lowercaseUuid } from '../../../common/input-schemas';
import { Database, type SqlExecutor } from '../../../database/database';
import { EventStore, type StoreEvent } from '../../../event-store';
import { notificationStreamId, NotificationRequested } from '../../domain';
import { DispatchJobs } from '../dispatch/dispatch-jobs';
import { appIdProblem, UnknownAppError } from '../errors';
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

/** The command's appId or target is not acceptable (400); the message names each missing or bad field. */
export class InvalidCancellationError extends BadRequestException {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'InvalidCancellationError';
  }
}

const isText = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/** What is wrong with a target a host built: the REST routes build theirs from a checked path and body. */
function targetProblems(target: unknown): string[] {
  const TARGETS = 'target must be {requestId} or {workflowIdentifier, cancellationKey, recipients?}';
  if (typeof target !== 'object' || target === null || Array.isArray(target)) return [`${TARGETS} (got ${target === undefined ? 'no value' : typeof target})`];
  const given = target as Record<string, unknown>;
  if ('requestId' in given && given.requestId !== undefined) return isText(given.requestId) ? [] : ['target.requestId must be the requestId that POST /v3/notifications or SendWhatsAppNotificationCommand answered'];
  const missing = (['workflowIdentifier', 'cancellationKey'] as const).filter((field) => !isText(given[field]));
  const problems = missing.length > 0 ? [`${TARGETS}: missing ${missing.map((field) => `target.${field}`).join(' and ')}${missing.length === 2 ? ' (or target.requestId)' : ''}`] : [];
  if (given.recipients !== undefined && !(Array.isArray(given.recipients) && given.recipients.every(isText))) problems.push('target.recipients must be a list of user identifiers');
  return problems;
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
    private readonly apps: AppsService,
  ) {}

  async execute({ appId, target }: CancelWhatsAppNotificationsCommand): Promise<CancelNotificationsResult> {
    const problems = [appIdProblem(appId) ?? [], targetProblems(target)].flat();
    if (problems.length > 0) throw new InvalidCancellationError(problems);
    const { requestIds, withdrawn } = await this.db.transaction(async (tx) => {
      const requestIds = 'requestId' in target ? [lowercaseUuid(target.requestId)] : await requestsOfCancellationKey(tx, appId, target.workflowIdentifier, target.cancellationKey);
      const requests = await this.requestsOf(tx, appId, requestIds);
      if (requests.length === 0) {
        // Nothing found may mean no app at all (a host passes any id): only then is it looked up.
        if (!(await this.apps.findById(appId, tx))) throw new UnknownAppError(appId);
        throw new NothingToCancelError(target);
      }
      const only = 'recipients' in target && target.recipients !== undefined ? new Set(target.recipients) : undefined;
      const messageIds = requests.flatMap(({ messageIds, recipients }) => messageIds.filter((_, index) => !only || only.has(recipients[index])));
      const detail =
        'requestId' in target
          ? `Cancelled (POST /v3/notifications/${lowercaseUuid(target.requestId)}/cancel) before it was handed to Gupshup`
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
