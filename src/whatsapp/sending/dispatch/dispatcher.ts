import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../../config/app-config';
import { AppJobsDispatch } from './app-jobs-dispatch';
import { AppSendPacer } from './app-send-pacer';
import { DispatchJobs, type ClaimedJob } from './dispatch-jobs';
import { DISPATCH_LOG_CONTEXT } from './dispatch-log';

/** Longest wait between two claims while they keep failing (the database is unreachable). */
const MAX_ERROR_BACKOFF_MS = 5000;

/**
 * Sends queued messages to Gupshup. DISPATCH_WORKERS loops per instance each claim up to
 * DISPATCH_BATCH_SIZE due jobs (any number of instances can share the table) and hand each app's
 * jobs to AppJobsDispatch, which calls Gupshup outside any transaction; OutcomeRecorder writes the
 * answers. Retries, the per-app rate limit and lost answers follow docs/dispatch-policy.md.
 */
@Injectable()
export class WhatsAppDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DISPATCH_LOG_CONTEXT);
  private readonly stopping = new AbortController();
  private readonly workers: Promise<void>[] = [];
  /** Idle workers, woken early when new jobs are due now. */
  private readonly idleWorkers = new Set<() => void>();
  private readonly workerCount: number;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;

  constructor(
    config: AppConfig,
    private readonly jobs: DispatchJobs,
    private readonly appJobs: AppJobsDispatch,
    private readonly pacer: AppSendPacer,
  ) {
    // A process whose ROLES leave out dispatch sends nothing; queued jobs wait for one that does.
    this.workerCount = config.runs('dispatch') ? config.get('DISPATCH_WORKERS') : 0;
    this.batchSize = config.get('DISPATCH_BATCH_SIZE');
    this.pollMs = config.get('DISPATCH_POLL_MS');
    this.leaseMs = config.get('DISPATCH_LEASE_MS');
    const timeoutMs = config.get('GUPSHUP_TIMEOUT_MS');
    if (this.workerCount > 0 && this.leaseMs <= timeoutMs + pacer.rateHoldMs) {
      this.logger.warn(
        `DISPATCH_LEASE_MS=${this.leaseMs} is not longer than GUPSHUP_TIMEOUT_MS=${timeoutMs} plus ${pacer.rateHoldMs} ms: ` +
          'a slow but live call may be parked as outcome_unknown before its answer arrives',
      );
    }
  }

  onApplicationBootstrap(): void {
    if (this.workerCount === 0) return;
    for (let i = 0; i < this.workerCount; i++) this.workers.push(this.runWorker());
    const shape = this.pacer.shape;
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
    await Promise.allSettled(this.workers);
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
      else if (claimed < this.batchSize) await this.idle(Math.min(this.pollMs, this.pacer.msUntilLimitEnds()));
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
      excludeAppIds: this.pacer.excludedApps(),
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
    const context = { records, signal: this.stopping.signal, wakeAnotherWorker: () => this.wakeOne() };
    try {
      await Promise.all([...byApp].map(([appId, appJobs]) => this.appJobs.dispatch(appId, appJobs, context)));
    } catch (error) {
      // The outcomes already handed over are still written before the worker goes on.
      await recorded();
      throw error;
    }
    return { claimed: jobs.length, recorded: recorded() };
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
}
