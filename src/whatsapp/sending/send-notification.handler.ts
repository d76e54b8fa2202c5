import { Logger } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { AppsService, CredentialDecryptionError, GupshupProviderConfigService, maskSecret } from '../../apps';
import { CredentialCipher } from '../../apps/providers/credential-cipher';
import { Database, type SqlExecutor } from '../../database/database';
import { InvalidUserError, isE164, UsersService, type User } from '../../users';
import {
  messageStreamId,
  notificationStreamId,
  NotificationRequested,
  WhatsAppMessageDiscarded,
  WhatsAppMessageQueued,
  type WhatsAppMessageEvent,
} from '../domain';
import { appendToStreams } from '../../event-store';
// The files themselves, not the folder's index: that loads the templates module, which imports this one's.
import type { RegisteredTemplate } from '../templates/template-definition';
import { dataProblems, TEMPLATE_DISCARD_CODES, templateForRecipient, templateNotApproved } from '../templates/template-send-plan';
import { TemplateMetrics } from '../templates/template.metrics';
import { TemplatesService } from '../templates/templates.service';
import { recordCancellationKey } from './cancelling/cancellation-keys';
import { DispatchJobs, type DispatchContent, type NewDispatchJob } from './dispatch/dispatch-jobs';
import { action } from './dispatch/dispatch-log';
import { DispatchMetrics } from './dispatch/dispatch-metrics';
import { WhatsAppDispatcher } from './dispatch/dispatcher';
import { overrideApiKeyContext } from './dispatch/request-builder';
import { AcceptanceGates, type GateStop } from './dispatch/send-gates';
import { appIdProblem, InvalidNotificationError, ProviderNotEnabledError, UnknownAppError, UnknownTemplateError } from './errors';
import { bodyHash, checkIdempotencyKey, IdempotencyKeys } from './idempotency';
import { parseNotificationRequest, type NotificationRequest, type RequestedRecipient } from './notification-request';
import { SendWhatsAppNotificationCommand, type SendNotificationResult, type SentMessageResult } from './send-notification.command';

/** The answer stored with an idempotency key and replayed for it. */
const ACCEPTED = 202;

interface PlannedMessage {
  result: SentMessageResult;
  events: WhatsAppMessageEvent[];
  job?: NewDispatchJob;
  /** Discarded by a send gate, which logged it (context `Consent`). */
  gated?: boolean;
}

/** What a committed request did, for its log lines and counts. */
interface Queued {
  result: SendNotificationResult;
  dueNow: boolean;
  /** The messages discarded when the request was accepted; none when an earlier answer is replayed. */
  discarded: PlannedMessage[];
}

/**
 * Queues a notification: validates it, creates or updates inline users, then in one transaction
 * appends NotificationRequested and a WhatsAppMessageQueued per recipient (plus
 * WhatsAppMessageDiscarded for a recipient without a usable phone number), stores what to send
 * and one dispatch job per queued message, and remembers the idempotency key with the answer.
 */
@CommandHandler(SendWhatsAppNotificationCommand)
export class SendWhatsAppNotificationHandler implements ICommandHandler<SendWhatsAppNotificationCommand, SendNotificationResult> {
  private readonly logger = new Logger('SendNotification');

  constructor(
    private readonly db: Database,
    private readonly users: UsersService,
    private readonly providerConfig: GupshupProviderConfigService,
    private readonly cipher: CredentialCipher,
    private readonly jobs: DispatchJobs,
    private readonly idempotencyKeys: IdempotencyKeys,
    private readonly dispatcher: WhatsAppDispatcher,
    private readonly templates: TemplatesService,
    private readonly templateMetrics: TemplateMetrics,
    private readonly gates: AcceptanceGates,
    private readonly dispatchMetrics: DispatchMetrics,
    private readonly apps: AppsService,
  ) {}

  async execute(command: SendWhatsAppNotificationCommand): Promise<SendNotificationResult> {
    const { appId } = command;
    const badAppId = appIdProblem(appId);
    if (badAppId) throw new InvalidNotificationError([badAppId]);
    const request = parseNotificationRequest(command.body);
    const { idempotencyKey } = command.options;
    const key = idempotencyKey === undefined ? undefined : checkIdempotencyKey(idempotencyKey);
    const hash = key === undefined ? '' : bodyHash(command.body);
    if (key !== undefined) {
      const earlier = await this.idempotencyKeys.find<SendNotificationResult>(appId, key, hash);
      if (earlier) return earlier.body;
    }

    let template: RegisteredTemplate | null = null;
    if (request.sendsWhatsApp) {
      if (request.template !== null) template = await this.templateFor(appId, request);
      await this.checkProviderEnabled(appId);
    } else {
      await this.checkAppExists(appId);
    }

    const { result, dueNow, discarded } = await this.db.transaction(async (tx): Promise<Queued> => {
      if (key !== undefined) {
        // Waits for a concurrent request holding the same key, then answers as it did.
        const earlier = await this.idempotencyKeys.claim<SendNotificationResult>(tx, appId, key, hash);
        if (earlier) return { result: earlier.body, dueNow: false, discarded: [] };
      }
      const queued = await this.queue(tx, appId, request, template);
      if (key !== undefined) await this.idempotencyKeys.complete(tx, appId, key, { statusCode: ACCEPTED, body: queued.result });
      return queued;
    });
    if (dueNow) this.dispatcher.wake();
    this.reportDiscarded(appId, result.requestId, discarded);
    return result;
  }

  /**
   * One line and one count per message discarded when its request was accepted, once the request
   * has committed: a gate's discard is logged by its gate (context `Consent`) and only counted here.
   */
  private reportDiscarded(appId: string, requestId: string, discarded: readonly PlannedMessage[]): void {
    for (const { result, gated } of discarded) {
      const code = result.discardReason?.code ?? 'discarded';
      this.dispatchMetrics.outcome('discarded', code);
      if (gated) continue;
      this.logger.warn({
        message: `message discarded when the request was accepted (${code}): ${result.discardReason?.reason ?? code}`,
        appId,
        messageId: result.messageId,
        requestId,
        recipient: result.recipient,
        discardReason: code,
        reason: result.discardReason?.reason,
        ...action('discard'),
      });
    }
  }

  private async checkProviderEnabled(appId: string): Promise<void> {
    let credentials: Awaited<ReturnType<GupshupProviderConfigService['getCredentials']>>;
    try {
      credentials = await this.providerConfig.getCredentials(appId);
    } catch (error) {
      if (error instanceof CredentialDecryptionError) throw new ProviderNotEnabledError(appId, 'credentials_unreadable');
      throw error;
    }
    if (!credentials?.enabled) {
      // An app without a provider may be no app at all (a host passes any id): only then is it looked up.
      await this.checkAppExists(appId);
      throw new ProviderNotEnabledError(appId);
    }
  }

  private async checkAppExists(appId: string): Promise<void> {
    if (!(await this.apps.findById(appId))) throw new UnknownAppError(appId);
  }

  /** The registered template the request names: unknown (400), or data its parameters need missing (400, naming each). */
  private async templateFor(appId: string, request: NotificationRequest): Promise<RegisteredTemplate> {
    const template = await this.templates.find(appId, request.template!);
    if (!template) throw new UnknownTemplateError(request.template!);
    const problems = dataProblems(template, request.data);
    if (problems.length > 0) throw new InvalidNotificationError(problems);
    return template;
  }

  private async queue(
    tx: SqlExecutor,
    appId: string,
    request: NotificationRequest,
    template: RegisteredTemplate | null,
  ): Promise<Queued> {
    const now = new Date();
    const requestId = randomUUID();
    const scheduled = request.sendAt !== null && request.sendAt > now;
    const dueAt = scheduled ? request.sendAt! : now;
    const users = await this.resolveRecipients(tx, appId, request.recipients);

    // override.channels without whatsapp: the request is kept, and no message is made.
    const planned = request.sendsWhatsApp
      ? request.recipients.map((recipient, index) => planMessage(appId, requestId, request, recipient, users[index], template, dueAt, now))
      : [];
    this.countTemplateDiscards(planned);
    const content = this.dispatchContent(appId, requestId, request, template);
    // A message due now that a send gate refuses (a suppressed number, ...) is discarded at once;
    // a scheduled one meets the gates when it is due, as every message does before it is sent.
    if (!scheduled) await this.discardRefused(appId, requestId, content, planned, now);
    const requested = new NotificationRequested({
      appId,
      requestId,
      title: request.title,
      message: request.message,
      data: request.data,
      sendAt: request.sendAt ? request.sendAt.toISOString() : null,
      messageIds: planned.map((message) => message.result.messageId),
      recipients: planned.map((message) => message.result.recipient),
      override: recordedOverride(request),
      requestedAt: now.toISOString(),
      category: request.category,
      template: request.template,
      cancellationKey: request.cancellationKey,
      notification: request.notification,
    });
    // Every new stream in one statement: a fan-out to a thousand users is one round trip, not a thousand.
    await appendToStreams(tx, [
      { streamId: notificationStreamId(requestId), events: [requested], expectedVersion: 'no_stream' },
      ...planned.map((message) => ({ streamId: messageStreamId(message.result.messageId), events: message.events, expectedVersion: 'no_stream' as const })),
    ]);

    if (request.cancellationKey !== null && request.template !== null) {
      await recordCancellationKey(tx, { appId, workflow: request.template, cancellationKey: request.cancellationKey, requestId });
    }
    const jobs = planned.flatMap((message) => (message.job ? [message.job] : []));
    if (jobs.length > 0) {
      await this.jobs.insertRequest(tx, requestId, appId, content);
      await this.jobs.insertJobs(tx, appId, requestId, dueAt, jobs);
    }
    return {
      result: { requestId, messages: planned.map((message) => message.result) },
      dueNow: jobs.length > 0 && !scheduled,
      discarded: planned.filter((message) => message.result.status === 'discarded'),
    };
  }

  /** Turns each planned message that an acceptance gate refuses into a message discarded with the gate's reason. */
  private async discardRefused(appId: string, requestId: string, content: DispatchContent, planned: PlannedMessage[], now: Date): Promise<void> {
    const candidates = planned.flatMap((message) =>
      message.job ? [{ messageId: message.job.messageId, appId, requestId, destination: message.job.destination, attempt: 0, leaseToken: '', content }] : [],
    );
    if (candidates.length === 0) return;
    let stopped: Map<string, GateStop>;
    try {
      stopped = await this.gates.check(candidates);
    } catch (error) {
      // The gates are asked again right before each message is sent: accepting it now loses nothing.
      this.logger.warn({ message: `a send gate failed when the request was accepted (${(error as Error).message}); its messages are checked when they are sent`, appId, requestId });
      return;
    }
    for (const message of planned) {
      const verdict = message.job && stopped.get(message.job.messageId)?.verdict;
      if (!verdict) continue;
      const discardReason = { code: verdict.reason, reason: verdict.detail ?? verdict.reason };
      message.result = { ...message.result, status: 'discarded', discardReason };
      message.gated = true;
      message.events.push(
        new WhatsAppMessageDiscarded({ appId, messageId: message.result.messageId, ...discardReason, source: 'gate', discardedAt: now.toISOString() }),
      );
      delete message.job;
    }
  }

  /** Inline users are created or updated first; every other recipient is looked up. */
  private async resolveRecipients(tx: SqlExecutor, appId: string, recipients: RequestedRecipient[]): Promise<(User | null)[]> {
    const users: (User | null)[] = [];
    for (const recipient of recipients) {
      if (!recipient.profile) {
        users.push(await this.users.get(appId, recipient.identifier, tx));
        continue;
      }
      try {
        users.push(await this.users.upsert(appId, recipient.identifier, recipient.profile, tx));
      } catch (error) {
        if (error instanceof InvalidUserError) {
          throw new InvalidNotificationError([`the user object of recipient ${JSON.stringify(recipient.identifier)}: ${error.message}`]);
        }
        throw error;
      }
    }
    return users;
  }

  private countTemplateDiscards(planned: readonly PlannedMessage[]): void {
    for (const { result } of planned) {
      const code = result.discardReason?.code;
      if (code !== undefined && TEMPLATE_DISCARD_CODES.has(code)) this.templateMetrics.discarded(code, 'accept');
    }
  }

  private dispatchContent(appId: string, requestId: string, request: NotificationRequest, template: RegisteredTemplate | null): DispatchContent {
    const config = request.configOverride ?? {};
    return {
      text: request.text,
      ...(template ? { template: { identifier: template.identifier, gupshupTemplateId: template.gupshupTemplateId } } : {}),
      overrideJson: request.gupshupOverride === null ? null : JSON.stringify(request.gupshupOverride),
      ...(config.SOURCE ? { source: config.SOURCE } : {}),
      ...(config.SRC_NAME ? { srcName: config.SRC_NAME } : {}),
      ...(config.API_KEY ? { apiKeyEncrypted: this.cipher.encrypt(config.API_KEY, overrideApiKeyContext(appId, requestId)) } : {}),
    };
  }
}

function planMessage(
  appId: string,
  requestId: string,
  request: NotificationRequest,
  recipient: RequestedRecipient,
  user: User | null,
  template: RegisteredTemplate | null,
  dueAt: Date,
  now: Date,
): PlannedMessage {
  const messageId = randomUUID();
  // An override destination (one recipient only) is where the message goes: the gates check it,
  // the message shows it, and a failure for it suppresses it, not the user's own number.
  const phoneNumber = user ? (request.destination ?? user.phoneNumber ?? null) : null;
  const usable = isE164(phoneNumber);
  const queued = new WhatsAppMessageQueued({
    appId,
    messageId,
    requestId,
    recipient: recipient.identifier,
    phoneNumber: usable ? phoneNumber : null,
    sendAt: dueAt.toISOString(),
    queuedAt: now.toISOString(),
    category: request.category,
    template: request.template,
  });
  const discarded = (discardReason: { code: string; reason: string }, source: 'recipient' | 'dispatch'): PlannedMessage => ({
    result: { messageId, recipient: recipient.identifier, status: 'discarded', discardReason },
    events: [queued, new WhatsAppMessageDiscarded({ appId, messageId, ...discardReason, source, discardedAt: now.toISOString() })],
  });
  if (!usable) return discarded(unusableRecipientReason(recipient.identifier, user), 'recipient');
  const job: NewDispatchJob = { messageId, destination: phoneNumber.slice(1) };
  if (template) {
    // Known now to be refused by Gupshup: no request is made (the send gate checks again when it is due).
    const notApproved = templateNotApproved(template);
    if (notApproved) return discarded(notApproved, 'dispatch');
    const filled = templateForRecipient(template, request.data, user!);
    if (!filled.ok) return discarded(filled.discard, 'recipient');
    job.template = filled.message;
  }
  return { result: { messageId, recipient: recipient.identifier, status: 'queued' }, events: [queued], job };
}

function unusableRecipientReason(identifier: string, user: User | null): { code: string; reason: string } {
  const who = JSON.stringify(identifier);
  if (!user) {
    return {
      code: 'unknown_recipient',
      reason: `No user ${who} in this app: create it with PUT /v3/users/${encodeURIComponent(identifier)} {"phoneNumber": "+..."}, or send it inline as {"identifier", "phoneNumber"}`,
    };
  }
  if (user.phoneNumber === null || user.phoneNumber === '') {
    return { code: 'no_phone_number', reason: `User ${who} has no phoneNumber: set one with PUT /v3/users/${encodeURIComponent(identifier)}` };
  }
  return {
    code: 'invalid_phone_number',
    reason: `User ${who} has the phone number ${JSON.stringify(user.phoneNumber)}, which is not E.164 (+, country code, 8 to 15 digits in all)`,
  };
}

/** The override as requested, for the event: an API_KEY in `_config` only by its last 4 characters. */
function recordedOverride(request: NotificationRequest): Record<string, unknown> | null {
  if (request.gupshupOverride === null) return null;
  const config = request.configOverride;
  if (!config) return request.gupshupOverride;
  // A short key would be given away by its last 4 characters: then none are shown.
  const shownKey = config.API_KEY ? maskSecret(config.API_KEY.length > 8 ? config.API_KEY.slice(-4) : '') : undefined;
  const shownConfig = { ...config, ...(shownKey ? { API_KEY: shownKey } : {}) };
  return { ...request.gupshupOverride, _config: shownConfig };
}
