import { Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { GupshupCredentials } from '../../../apps';
import { AppConfig } from '../../../config/app-config';
import { GupshupClient } from '../../gupshup/gupshup-client';
import type { GupshupSendRequest } from '../../gupshup/send-request';
import { AppSendPacer } from './app-send-pacer';
import { ProviderCredentialsCache } from './credentials-cache';
import { DispatchJobs, type ClaimedJob } from './dispatch-jobs';
import { DISPATCH_LOG_CONTEXT, jobFields } from './dispatch-log';
import { answerStatus, DispatchMetrics, gupshupCallLabel } from './dispatch-metrics';
import { decideAttemptOutcome, discardBeforeCall, type RetryPolicy } from './dispatch-outcome';
import { OutcomeRecorder } from './outcome-recorder';
import { RequestBuilderFactory } from './request-builder';
import { SendGates } from './send-gates';

/** Wait before trying jobs again whose credentials could not be read or whose gates failed. */
const CHECK_RETRY_MS = 1000;

/** What the worker that claimed an app's jobs gives their dispatch. */
export interface AppJobsContext {
  /** Each outcome's recording, as it is handed to the recorder. */
  records: Promise<void>[];
  /** Aborted when the instance stops: no further calls start. */
  signal: AbortSignal;
  /** Called when the app is sent at its limit, so that an idle worker takes it on. */
  wakeAnotherWorker(): void;
}

/**
 * One app's claimed jobs, from claim to Gupshup: the app's credentials, the send gates, the
 * requests, then the calls within the app's rate limit, each marked "request started" right
 * before it leaves; the answers go to the OutcomeRecorder.
 */
@Injectable()
export class AppJobsDispatch {
  private readonly logger = new Logger(DISPATCH_LOG_CONTEXT);
  private readonly policy: RetryPolicy;

  constructor(
    config: AppConfig,
    private readonly jobs: DispatchJobs,
    private readonly client: GupshupClient,
    private readonly credentials: ProviderCredentialsCache,
    private readonly requestBuilders: RequestBuilderFactory,
    private readonly gates: SendGates,
    private readonly pacer: AppSendPacer,
    private readonly recorder: OutcomeRecorder,
    private readonly metrics: DispatchMetrics,
  ) {
    this.policy = { maxAttempts: config.get('DISPATCH_MAX_ATTEMPTS'), backoffMs: config.get('DISPATCH_BACKOFF_MS') };
  }

  /** Resolves once every job has been called, discarded or given back; their recordings are in `context.records`. */
  async dispatch(appId: string, claimed: ClaimedJob[], context: AppJobsContext): Promise<void> {
    const credentials = await this.sendableCredentials(appId, claimed, context);
    if (!credentials) return;
    const jobs = await this.passGates(appId, claimed, context);
    if (!jobs) return;
    const requests = this.buildRequests(credentials, jobs, context);

    const calls: Promise<void>[] = [];
    const paced = await this.pacer.pace(appId, [...requests.keys()], (granted, slots) => calls.push(this.startAndCall(granted, slots, requests, context)), context.signal);
    // Not tried: back to the queue without counting an attempt, due when the limiter allows.
    if (paced.untried.length > 0) await this.releaseQuietly(paced.untried, paced.retryInMs);
    // The app is sending at its limit: an idle worker takes it on now (or when the limiter allows)
    // while this one finishes its calls and claims again, so that no slot goes unused meanwhile.
    if (paced.atLimit && !context.signal.aborted) context.wakeAnotherWorker();
    await Promise.all(calls);
  }

  /**
   * The app's credentials when its jobs can go to Gupshup, decided once for all of them before any
   * call. Otherwise (undefined) the jobs are already given back for later or discarded.
   */
  private async sendableCredentials(appId: string, jobs: ClaimedJob[], context: AppJobsContext): Promise<GupshupCredentials | undefined> {
    let credentials: GupshupCredentials | null;
    try {
      credentials = await this.credentials.get(appId);
    } catch (error) {
      this.logger.error({
        message: `cannot read the app's gupshup_whatsapp credentials (${(error as Error).message}); its ${jobs.length} claimed messages are tried again in ${CHECK_RETRY_MS} ms`,
        appId,
        messages: jobs.length,
      });
      await this.releaseQuietly(jobs, CHECK_RETRY_MS);
      return undefined;
    }
    if (!credentials?.enabled) {
      const reason =
        'The gupshup_whatsapp provider was disabled (or removed) for this app after the message was queued; ' +
        'enable it with PUT /v3/channels/whatsapp/providers/gupshup_whatsapp and send the notification again';
      for (const job of jobs) context.records.push(this.recorder.record(job, discardBeforeCall(job, 'provider_not_enabled', reason, new Date()), job.attempt - 1));
      return undefined;
    }
    return credentials;
  }

  /**
   * The jobs every send gate lets through; the others are discarded with the gate's reason. When
   * a gate fails, none of the app's jobs is sent: they go back to the queue for a little while.
   */
  private async passGates(appId: string, jobs: ClaimedJob[], context: AppJobsContext): Promise<ClaimedJob[] | undefined> {
    let stopped;
    try {
      stopped = await this.gates.check(jobs);
    } catch (error) {
      this.logger.error({
        message: `a send gate failed (${(error as Error).message}); the app's ${jobs.length} claimed messages are tried again in ${CHECK_RETRY_MS} ms`,
        appId,
        messages: jobs.length,
      });
      await this.releaseQuietly(jobs, CHECK_RETRY_MS);
      return undefined;
    }
    if (stopped.size === 0) return jobs;
    const now = new Date();
    const passed: ClaimedJob[] = [];
    for (const job of jobs) {
      const stop = stopped.get(job.messageId);
      if (!stop) {
        passed.push(job);
        continue;
      }
      const reason = stop.verdict.detail ?? `Stopped by the ${stop.gate} check before calling Gupshup (${stop.verdict.reason})`;
      context.records.push(this.recorder.record(job, discardBeforeCall(job, stop.verdict.reason, reason, now), job.attempt - 1));
    }
    return passed;
  }

  /** Each job's Gupshup request; a job whose request cannot be built is discarded. */
  private buildRequests(credentials: GupshupCredentials, jobs: ClaimedJob[], context: AppJobsContext): Map<ClaimedJob, GupshupSendRequest> {
    const builder = this.requestBuilders.forApp(credentials);
    const requests = new Map<ClaimedJob, GupshupSendRequest>();
    for (const job of jobs) {
      try {
        requests.set(job, builder.build(job));
      } catch (error) {
        const reason = `The request's _config.API_KEY cannot be decrypted: ${(error as Error).message}`;
        context.records.push(this.recorder.record(job, discardBeforeCall(job, 'credentials_unreadable', reason, new Date()), job.attempt - 1));
      }
    }
    return requests;
  }

  /**
   * Marks the jobs "request started" and calls Gupshup for those marked. A job not marked was
   * withdrawn meanwhile (its discard is recorded already) or its lease was taken over: not sent.
   * If the mark cannot be written, nothing is sent: the jobs go back to the queue when their lease
   * runs out, never started.
   */
  private async startAndCall(jobs: ClaimedJob[], slots: number[], requests: Map<ClaimedJob, GupshupSendRequest>, context: AppJobsContext): Promise<void> {
    let started: Set<string>;
    try {
      started = await this.jobs.markRequestsStarted(jobs, slots);
    } catch (error) {
      this.logger.error({
        message: `cannot mark ${jobs.length} requests started (${(error as Error).message}); not sent now, they are queued again when their lease runs out`,
        appId: jobs[0]?.appId,
        messageIds: jobs.map((job) => job.messageId),
      });
      return;
    }
    const calls: Promise<void>[] = [];
    const notStarted: ClaimedJob[] = [];
    for (const job of jobs) {
      if (started.has(job.messageId)) calls.push(this.call(job, requests.get(job)!, context));
      else {
        notStarted.push(job);
        this.logger.log({ message: `attempt ${job.attempt} not started: the job was withdrawn or taken over, or its app paused, since it was claimed`, ...jobFields(job) });
      }
    }
    // Those held back by a pause go back to the queue untried; releasing leaves withdrawn and
    // taken-over jobs alone (it only touches jobs still in flight under this claim).
    if (notStarted.length > 0) await this.releaseQuietly(notStarted, 0);
    await Promise.all(calls);
  }

  /** Calls Gupshup for one job; resolves with the answer in hand, its recording pushed to `records`. */
  private async call(job: ClaimedJob, request: GupshupSendRequest, context: AppJobsContext): Promise<void> {
    const started = performance.now();
    const startedAt = new Date();
    const outcome = await this.client.send(request);
    const durationMs = performance.now() - started;
    this.metrics.gupshupCall(outcome, durationMs / 1000);
    const decision = decideAttemptOutcome(job, outcome, this.policy, new Date(), Math.random, startedAt);
    const answer = gupshupCallLabel(outcome);
    this.logger.debug({
      message: `attempt ${job.attempt}: Gupshup call ${answer} in ${Math.round(durationMs)} ms` + (outcome.outcome === 'accepted' ? '' : `: ${outcome.message}`),
      ...jobFields(job),
      gupshup: answer,
      ...(answerStatus(outcome) ? { httpStatus: answerStatus(outcome) } : {}),
      ...(outcome.outcome === 'accepted' ? { gupshupMessageId: outcome.messageId } : {}),
      durationMs: Math.round(durationMs),
    });
    context.records.push(this.recorder.record(job, decision));
  }

  private async releaseQuietly(jobs: readonly ClaimedJob[], delayMs: number): Promise<void> {
    try {
      await this.jobs.release(jobs, delayMs);
    } catch (error) {
      this.logger.error({
        message: `cannot give back ${jobs.length} untried jobs (${(error as Error).message}); they are queued again when their lease runs out`,
        appId: jobs[0]?.appId,
        messageIds: jobs.map((job) => job.messageId),
      });
    }
  }
}
