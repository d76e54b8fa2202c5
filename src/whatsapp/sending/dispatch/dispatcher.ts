import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type GupshupCredentials } from '../../../apps';
import { CredentialCipher } from '../../../apps/providers/credential-cipher';
import { AppConfig } from '../../../config/app-config';
import { Database } from '../../../database/database';
import { messageStreamId, WhatsAppDispatchFailed, WhatsAppMessageDiscarded } from '../../domain';
import { GupshupClient } from '../../gupshup/gupshup-client';
import {
  buildGupshupSendRequest,
  mergeGupshupConfig,
  type GupshupCredentials as GupshupSendCredentials,
  type GupshupSendRequest,
} from '../../gupshup/send-request';
import { IdempotencyKeys } from '../idempotency';
import { appendToStreams } from '../../../event-store';
import { AppRateLimiter } from './app-rate-limiter';
import { ProviderCredentialsCache } from './credentials-cache';
import { DispatchJobs, type ClaimedJob } from './dispatch-jobs';
import { DispatchMetrics, gupshupCallLabel } from './dispatch-metrics';
import { OutcomeRecorder } from './outcome-recorder';
import { SendGates, type SendGateVerdict } from './send-gates';
import { decideAttemptOutcome, discardBeforeCall, outcomeUnknownEvent, type AttemptDecision, type RetryPolicy } from './dispatch-outcome';

/** Longest a worker keeps claimed jobs waiting for the rate limiter before giving them back. */
const MAX_RATE_HOLD_MS = 250;
/** Tries at recording an outcome before leaving the job to its lease (and the outcome_unknown policy). */
const RECORD_ATTEMPTS = 4;
const RECORD_RETRY_MS = 100;
/** Wait before trying jobs again whose credentials could not be read. */
const CREDENTIALS_RETRY_MS = 1000;
/** Leases checked per housekeeping round. */
const PARK_BATCH = 100;
const IDEMPOTENCY_CLEANUP_EVERY_MS = 60_000;
/** Longest wait between two claims while they keep failing (the database is unreachable). */
const MAX_ERROR_BACKOFF_MS = 5000;

/** The ids every dispatch log line carries as fields; `requestId` is the notification request's. */
function jobFields(job: { appId: string; messageId: string; requestId: string; attempt: number }) {
  return { appId: job.appId, messageId: job.messageId, requestId: job.requestId, attempt: job.attempt };
}

/** The `code` label of a retry: what failed, without the message (`http_503`, `timeout`, `network`). */
function failureCode(errorKind: string | undefined, httpStatus: number | undefined): string {
  if (errorKind === 'http' && httpStatus !== undefined) return `http_${httpStatus}`;
  return errorKind ?? 'unknown';
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

/** Where the API_KEY of a request's `_config` is bound when encrypted: its app and request. */
export function overrideApiKeyContext(appId: string, requestId: string): string {
  return `${appId}:${requestId}:gupshup_whatsapp:_config.API_KEY`;
}

/**
 * The Gupshup requests of one app's claimed jobs: a request's `_config` override (decrypted) and
 * Gupshup override (parsed) are worked out once for all its messages, not once per message.
 */
class RequestBuilder {
  private readonly perRequest = new Map<string, { credentials: GupshupSendCredentials; override?: Record<string, unknown> }>();

  constructor(
    private readonly stored: GupshupCredentials,
    private readonly cipher: CredentialCipher,
  ) {}

  build(job: ClaimedJob): GupshupSendRequest {
    const { content } = job;
    let prepared = this.perRequest.get(job.requestId);
    if (!prepared) {
      const configOverride: Record<string, string> = {};
      if (content.source) configOverride.SOURCE = content.source;
      if (content.srcName) configOverride.SRC_NAME = content.srcName;
      if (content.apiKeyEncrypted) {
        configOverride.API_KEY = this.cipher.decrypt(content.apiKeyEncrypted, overrideApiKeyContext(job.appId, job.requestId));
      }
      prepared = {
        credentials: mergeGupshupConfig(this.stored, configOverride),
        override: content.overrideJson === null ? undefined : (JSON.parse(content.overrideJson) as Record<string, unknown>),
      };
      this.perRequest.set(job.requestId, prepared);
    }
    return buildGupshupSendRequest({ credentials: prepared.credentials, destination: job.destination, text: content.text, override: prepared.override });
  }
}

/**
 * Sends queued messages to Gupshup. DISPATCH_WORKERS loops per instance each claim up to
 * DISPATCH_BATCH_SIZE due jobs (any number of instances can share the table), call Gupshup
 * outside any transaction, then record each answer as events and a job update in one
 * transaction. Retries, the per-app rate limit and lost answers follow docs/dispatch-policy.md.
 */
@Injectable()
export class WhatsAppDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WhatsAppDispatcher.name);
  private readonly stopping = new AbortController();
  private readonly workers: Promise<void>[] = [];
  /** Idle workers, woken early when new jobs are due now. */
  private readonly idleWorkers = new Set<() => void>();
  /** Apps the rate limiter turned away, until when: their jobs are not claimed meanwhile. */
  private readonly limitedUntil = new Map<string, number>();
  /**
   * Apps being sent at their limit, by how many workers of this instance. A second worker keeps an
   * app at its limit while the first is between batches; once half the workers are on it, the
   * others leave its jobs alone and serve other apps.
   */
  private readonly servedAtLimit = new Map<string, number>();
  private readonly workersPerLimitedApp: number;
  private readonly rateLimiter: AppRateLimiter;
  private readonly recorder: OutcomeRecorder;
  private readonly policy: RetryPolicy;
  private readonly workerCount: number;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly rateHoldMs: number;
  private housekeepingTimer?: NodeJS.Timeout;
  private housekeepingRun?: Promise<void>;
  private lastIdempotencyCleanup = 0;

  constructor(
    config: AppConfig,
    private readonly db: Database,
    private readonly jobs: DispatchJobs,
    private readonly client: GupshupClient,
    private readonly credentials: ProviderCredentialsCache,
    private readonly cipher: CredentialCipher,
    private readonly idempotencyKeys: IdempotencyKeys,
    private readonly metrics: DispatchMetrics,
    private readonly gates: SendGates,
  ) {
    // A process whose ROLES leave out dispatch sends nothing; queued jobs wait for one that does.
    this.workerCount = config.runs('dispatch') ? config.get('DISPATCH_WORKERS') : 0;
    this.workersPerLimitedApp = Math.max(1, Math.floor(this.workerCount / 2));
    this.batchSize = config.get('DISPATCH_BATCH_SIZE');
    this.pollMs = config.get('DISPATCH_POLL_MS');
    this.leaseMs = config.get('DISPATCH_LEASE_MS');
    this.rateHoldMs = Math.min(MAX_RATE_HOLD_MS, Math.floor(this.leaseMs / 4));
    this.policy = { maxAttempts: config.get('DISPATCH_MAX_ATTEMPTS'), backoffMs: config.get('DISPATCH_BACKOFF_MS') };
    this.rateLimiter = new AppRateLimiter(db, config.get('GUPSHUP_RATE_LIMIT'));
    this.recorder = new OutcomeRecorder(db, jobs);
    const timeoutMs = config.get('GUPSHUP_TIMEOUT_MS');
    if (this.workerCount > 0 && this.leaseMs <= timeoutMs + this.rateHoldMs) {
      this.logger.warn(
        `DISPATCH_LEASE_MS=${this.leaseMs} is not longer than GUPSHUP_TIMEOUT_MS=${timeoutMs} plus ${this.rateHoldMs} ms: ` +
          'a slow but live call may be parked as outcome_unknown before its answer arrives',
      );
    }
  }

  onApplicationBootstrap(): void {
    if (this.workerCount === 0) return;
    for (let i = 0; i < this.workerCount; i++) this.workers.push(this.runWorker());
    this.scheduleHousekeeping();
    const shape = this.rateLimiter.shape;
    this.logger.log(
      `${this.workerCount} dispatch workers started` +
        (shape ? ` (per app: one send every ${Math.round(shape.intervalSeconds * 1000 * 100) / 100} ms, bursts of ${shape.burst})` : ' (no rate limit)'),
    );
  }

  /** Claims due jobs now instead of at the next poll (called after new messages are queued). */
  wake(): void {
    for (const resume of [...this.idleWorkers]) resume();
  }

  private wakeOne(): void {
    const [resume] = this.idleWorkers;
    resume?.();
  }

  /** Stops claiming, waits for the calls in flight and records their answers; untried jobs go back. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    this.wake();
    clearTimeout(this.housekeepingTimer);
    await Promise.allSettled(this.workers);
    await this.housekeepingRun;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /**
   * Claims, calls, and hands the answers to the recorder; the next claim does not wait for them to
   * be written, only for the batch before (so a worker has at most two batches under lease: one
   * being called, one being recorded). The database's commit latency then overlaps the calls
   * instead of adding to every round.
   */
  private async runWorker(): Promise<void> {
    let failures = 0;
    let recording: Promise<void> = Promise.resolve();
    while (!this.stopped) {
      let claimed = 0;
      try {
        const batch = await this.runBatch();
        claimed = batch.claimed;
        await recording;
        recording = batch.recorded;
        failures = 0;
      } catch (error) {
        failures += 1;
        this.logger.error(`dispatch round failed (${failures} in a row): ${(error as Error).message}`);
      }
      // A full batch suggests more is due: claim again at once. While the database fails, back off.
      // An app left out of the claim for its rate limit is claimable again when the limiter allows.
      if (failures > 0) await this.idle(Math.min(MAX_ERROR_BACKOFF_MS, this.pollMs * 2 ** Math.min(failures, 10)));
      else if (claimed < this.batchSize) await this.idle(Math.min(this.pollMs, this.untilRateLimitEnds()));
    }
    await recording;
  }

  /**
   * One claim and everything it took: resolves once every claimed job has been called (or given
   * back), with how many were claimed and a promise of their outcomes being recorded (it never rejects).
   */
  private async runBatch(): Promise<{ claimed: number; recorded: Promise<void> }> {
    const jobs = await this.jobs.claim({
      limit: this.batchSize,
      leaseMs: this.leaseMs,
      leaseToken: randomUUID(),
      excludeAppIds: this.rateLimitedApps(),
    });
    if (jobs.length === 0) return { claimed: 0, recorded: Promise.resolve() };
    const byApp = new Map<string, ClaimedJob[]>();
    for (const job of jobs) {
      const appJobs = byApp.get(job.appId);
      if (appJobs) appJobs.push(job);
      else byApp.set(job.appId, [job]);
    }
    const records: Promise<void>[] = [];
    const recorded = () => Promise.all(records).then(() => undefined);
    try {
      await Promise.all([...byApp].map(([appId, appJobs]) => this.dispatchForApp(appId, appJobs, records)));
    } catch (error) {
      // The outcomes already handed over are still written before the worker goes on.
      await recorded();
      throw error;
    }
    return { claimed: jobs.length, recorded: recorded() };
  }

  /** Calls Gupshup for an app's claimed jobs, within the rate limit; each outcome's recording is pushed to `records`. */
  private async dispatchForApp(appId: string, claimed: ClaimedJob[], records: Promise<void>[]): Promise<void> {
    const credentials = await this.sendableCredentials(appId, claimed, records);
    if (!credentials) return;
    const jobs = await this.passGates(appId, claimed, records);

    const requests = new RequestBuilder(credentials, this.cipher);
    const calls: Promise<void>[] = [];
    const holdUntil = Date.now() + this.rateHoldMs;
    let next = 0;
    let retryInMs = 0;
    let waiting = false;
    try {
      while (next < jobs.length && !this.stopped) {
        const permit = await this.rateLimiter.tryAcquire(appId, jobs.length - next);
        for (let granted = 0; granted < permit.granted && next < jobs.length; granted++) calls.push(this.call(jobs[next++], requests, records));
        if (permit.granted > 0) continue;
        if (Date.now() + permit.retryInMs > holdUntil) {
          retryInMs = permit.retryInMs;
          // Until then every worker of this instance leaves the app's jobs alone and serves other apps.
          this.limitedUntil.set(appId, Date.now() + retryInMs);
          break;
        }
        if (!waiting) {
          // While workers wait for the app's next slot, the others serve other apps.
          waiting = true;
          this.servedAtLimit.set(appId, (this.servedAtLimit.get(appId) ?? 0) + 1);
        }
        await sleep(permit.retryInMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    } finally {
      if (waiting) {
        const serving = (this.servedAtLimit.get(appId) ?? 1) - 1;
        if (serving > 0) this.servedAtLimit.set(appId, serving);
        else this.servedAtLimit.delete(appId);
      }
    }
    // Not tried: back to the queue without counting an attempt, due when the limiter allows.
    if (next < jobs.length) await this.releaseQuietly(jobs.slice(next), retryInMs);
    // The app is sending at its limit: an idle worker takes it on now (or when the limiter allows)
    // while this one finishes its calls and claims again, so that no slot goes unused meanwhile.
    if ((waiting || next < jobs.length) && !this.stopped) this.wakeOne();
    await Promise.all(calls);
  }

  /**
   * The jobs every send gate lets through; the others are discarded with the gate's reason, and
   * all are given back for later when a gate cannot answer now.
   */
  private async passGates(appId: string, jobs: ClaimedJob[], records: Promise<void>[]): Promise<ClaimedJob[]> {
    let verdicts: Map<string, SendGateVerdict>;
    try {
      verdicts = await this.gates.check(jobs);
    } catch (error) {
      this.logger.error({ message: `send gates cannot answer (${(error as Error).message}); ${jobs.length} claimed messages are tried again in ${CREDENTIALS_RETRY_MS} ms`, appId });
      await this.releaseQuietly(jobs, CREDENTIALS_RETRY_MS);
      return [];
    }
    if (verdicts.size === 0) return jobs;
    const now = new Date();
    for (const job of jobs) {
      const verdict = verdicts.get(job.messageId);
      if (verdict) records.push(this.record(job, discardBeforeCall(job, verdict.reason, verdict.detail ?? verdict.reason, now), job.attempt - 1));
    }
    return jobs.filter((job) => !verdicts.has(job.messageId));
  }

  /**
   * Whether an app's claimed jobs can go to Gupshup now, decided once for all of them before any
   * call: the app's credentials, when they can be. Otherwise (undefined) the jobs are already
   * given back for later or discarded, each with its reason logged.
   */
  private async sendableCredentials(appId: string, jobs: ClaimedJob[], records: Promise<void>[]): Promise<GupshupCredentials | undefined> {
    let credentials: GupshupCredentials | null;
    try {
      credentials = await this.credentials.get(appId);
    } catch (error) {
      this.logger.error({
        message: `cannot read the app's gupshup_whatsapp credentials (${(error as Error).message}); its ${jobs.length} claimed messages are tried again in ${CREDENTIALS_RETRY_MS} ms`,
        appId,
        messages: jobs.length,
      });
      await this.releaseQuietly(jobs, CREDENTIALS_RETRY_MS);
      return undefined;
    }
    if (!credentials?.enabled) {
      const reason =
        'The gupshup_whatsapp provider was disabled (or removed) for this app after the message was queued; ' +
        'enable it with PUT /v3/channels/whatsapp/providers/gupshup_whatsapp and send the notification again';
      for (const job of jobs) records.push(this.record(job, discardBeforeCall(job, 'provider_not_enabled', reason, new Date()), job.attempt - 1));
      return undefined;
    }
    return credentials;
  }

  /** Calls Gupshup for one job; resolves with the answer in hand, its recording pushed to `records`. */
  private async call(job: ClaimedJob, requests: RequestBuilder, records: Promise<void>[]): Promise<void> {
    let request: GupshupSendRequest;
    try {
      request = requests.build(job);
    } catch (error) {
      const reason = `The request's _config.API_KEY cannot be decrypted: ${(error as Error).message}`;
      records.push(this.record(job, discardBeforeCall(job, 'credentials_unreadable', reason, new Date()), job.attempt - 1));
      return;
    }
    const started = performance.now();
    const outcome = await this.client.send(request);
    const durationMs = performance.now() - started;
    this.metrics.gupshupCall(outcome, durationMs / 1000);
    const decision = decideAttemptOutcome(job, outcome, this.policy, new Date());
    const answer = gupshupCallLabel(outcome);
    this.logger.debug({
      message: `attempt ${job.attempt}: Gupshup call ${answer} in ${Math.round(durationMs)} ms` + (outcome.outcome === 'accepted' ? '' : `: ${outcome.message}`),
      ...jobFields(job),
      gupshup: answer,
      ...(outcome.httpStatus ? { httpStatus: outcome.httpStatus } : {}),
      ...(outcome.outcome === 'accepted' ? { gupshupMessageId: outcome.messageId } : {}),
      durationMs: Math.round(durationMs),
    });
    records.push(this.record(job, decision));
  }

  /**
   * Records the job update and its events in one transaction (shared with other outcomes, see
   * OutcomeRecorder), retried a few times: Gupshup has answered, and losing that answer would
   * leave the message to the outcome_unknown policy.
   */
  private async record(job: ClaimedJob, decision: AttemptDecision, attempts = job.attempt): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        const applied = await this.recorder.record(job, decision, attempts);
        if (applied) this.reportOutcome(job, decision);
        else {
          this.logger.warn({
            message: `attempt ${job.attempt} ended (${decision.job.state}) after its job was taken over; not recorded`,
            ...jobFields(job),
            outcome: decision.job.state,
          });
        }
        return;
      } catch (error) {
        if (tries >= RECORD_ATTEMPTS) {
          this.logger.error({
            message:
              `cannot record attempt ${job.attempt} (${decision.job.state}): ${(error as Error).message}; ` +
              'when its lease runs out it is parked as outcome_unknown',
            ...jobFields(job),
            outcome: decision.job.state,
          });
          return;
        }
        await sleep(RECORD_RETRY_MS * 2 ** (tries - 1));
      }
    }
  }

  /**
   * The line and the count of a recorded outcome: a send at debug level; a retry (with when it is
   * due) or a discard once each, with the reason.
   */
  private reportOutcome(job: ClaimedJob, decision: AttemptDecision): void {
    const outcome = decision.job;
    const fields = { ...jobFields(job), maxAttempts: this.policy.maxAttempts };
    const ofMax = `attempt ${job.attempt} of ${this.policy.maxAttempts}`;
    const failed = decision.events.find((event) => event instanceof WhatsAppDispatchFailed)?.data;
    const failure = failed ? { errorKind: failed.errorKind, ...(failed.httpStatus !== undefined ? { httpStatus: failed.httpStatus } : {}) } : {};
    switch (outcome.state) {
      case 'sent':
        this.metrics.outcome('sent', 'accepted');
        this.logger.debug({ message: `sent: ${ofMax} accepted by Gupshup as ${outcome.providerMessageId}`, ...fields, gupshupMessageId: outcome.providerMessageId });
        return;
      case 'pending': {
        const retryInMs = Math.max(0, outcome.dueAt.getTime() - Date.now());
        this.metrics.outcome('retry', failureCode(failed?.errorKind, failed?.httpStatus));
        this.logger.warn({
          message: `${ofMax} failed (${outcome.lastError}); next try at ${outcome.dueAt.toISOString()}, in ${formatDelay(retryInMs)}`,
          ...fields,
          reason: outcome.lastError,
          ...failure,
          nextAttemptAt: outcome.dueAt.toISOString(),
          retryInMs,
        });
        return;
      }
      case 'discarded': {
        const discarded = decision.events.find((event) => event instanceof WhatsAppMessageDiscarded)?.data;
        const code = discarded?.code ?? 'discarded';
        const reason = discarded?.reason ?? outcome.lastError;
        this.metrics.outcome('discarded', code);
        this.logger.warn({
          message: `discarded (${code}) ${failed ? `after ${ofMax}` : `before calling Gupshup for ${ofMax}`}: ${reason}`,
          ...fields,
          code,
          reason,
          ...failure,
        });
        return;
      }
    }
  }

  private async releaseQuietly(jobs: ClaimedJob[], delayMs: number): Promise<void> {
    try {
      await this.jobs.release(jobs, delayMs);
    } catch (error) {
      this.logger.error({
        message: `cannot give back ${jobs.length} untried jobs (${(error as Error).message}); they are parked when their lease runs out`,
        appId: jobs[0]?.appId,
        messageIds: jobs.map((job) => job.messageId),
      });
    }
  }

  private rateLimitedApps(): string[] {
    const now = Date.now();
    for (const [appId, until] of this.limitedUntil) if (until <= now) this.limitedUntil.delete(appId);
    const served = [...this.servedAtLimit].filter(([, workers]) => workers >= this.workersPerLimitedApp).map(([appId]) => appId);
    return [...new Set([...this.limitedUntil.keys(), ...served])];
  }

  /** Milliseconds until the first app turned away by the limiter may be claimed again (Infinity: none is). */
  private untilRateLimitEnds(): number {
    let first = Infinity;
    for (const until of this.limitedUntil.values()) first = Math.min(first, until);
    return Math.max(1, first - Date.now());
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const resume = () => {
        clearTimeout(timer);
        this.idleWorkers.delete(resume);
        this.stopping.signal.removeEventListener('abort', resume);
        resolve();
      };
      const timer = setTimeout(resume, ms);
      this.idleWorkers.add(resume);
      this.stopping.signal.addEventListener('abort', resume, { once: true });
    });
  }

  /** Parks jobs whose lease ran out (see parkExpiredLeases) and forgets old idempotency keys, on a timer. */
  private scheduleHousekeeping(): void {
    const everyMs = Math.max(this.pollMs, Math.min(5000, Math.floor(this.leaseMs / 4)));
    this.housekeepingTimer = setTimeout(() => {
      this.housekeepingRun = this.housekeeping().finally(() => {
        this.housekeepingRun = undefined;
        if (!this.stopped) this.scheduleHousekeeping();
      });
    }, everyMs);
  }

  private async housekeeping(): Promise<void> {
    try {
      let parked: number;
      do parked = await this.parkExpiredLeases();
      while (parked === PARK_BATCH && !this.stopped);
      if (Date.now() - this.lastIdempotencyCleanup >= IDEMPOTENCY_CLEANUP_EVERY_MS) {
        this.lastIdempotencyCleanup = Date.now();
        await this.idempotencyKeys.deleteExpired();
      }
    } catch (error) {
      this.logger.error(`dispatch housekeeping failed: ${(error as Error).message}`);
    }
  }

  /**
   * A job still in flight after its lease ended belongs to a worker that stopped between claiming
   * it and recording Gupshup's answer. Gupshup may have accepted the message, so it is not sent
   * again: it is parked as outcome_unknown, with a WhatsAppDispatchOutcomeUnknown event.
   */
  async parkExpiredLeases(): Promise<number> {
    const parked = await this.db.transaction(async (tx) => {
      const expired = await this.jobs.parkExpired(tx, PARK_BATCH);
      const detectedAt = new Date();
      await appendToStreams(
        tx,
        expired.map((job) => ({
          streamId: messageStreamId(job.messageId),
          events: [outcomeUnknownEvent(job, job.attemptStartedAt, detectedAt)],
          expectedVersion: 'any' as const,
        })),
      );
      return expired;
    });
    for (const job of parked) {
      this.metrics.outcome('outcome_unknown', 'lease_expired');
      this.logger.warn({
        message:
          `attempt ${job.attempt}, started ${job.attemptStartedAt.toISOString()}, has no recorded answer and its lease ran out; ` +
          'parked as outcome_unknown and not sent again (npm run cli -- dispatch:unknown lists such messages)',
        ...jobFields(job),
        reason: 'the lease ran out before the answer was recorded',
        attemptStartedAt: job.attemptStartedAt.toISOString(),
      });
    }
    return parked.length;
  }
}
