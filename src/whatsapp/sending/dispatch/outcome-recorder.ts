import type { Database } from '../../../database/database';
import { messageStreamId } from '../../domain';
import { appendToStreams } from '../../../event-store';
import type { ClaimedJob, DispatchJobs } from './dispatch-jobs';
import type { AttemptDecision } from './dispatch-outcome';

/** Outcomes written in one transaction at most. */
const MAX_BATCH = 200;
/** Transactions writing outcomes at the same time. */
const MAX_WRITERS = 2;
/**
 * How long the first outcome after a quiet spell waits for others to share its transaction. Each
 * commit of events wakes every subscription: a rate-limited app's sends, arriving a few
 * milliseconds apart, would otherwise cost a transaction here and one per subscription each.
 */
const OUTCOME_LINGER_MS = 20;

interface Waiting {
  job: ClaimedJob;
  decision: AttemptDecision;
  attempts: number;
  resolve(applied: boolean): void;
  reject(error: unknown): void;
}

/**
 * Writes attempt outcomes (job update and events together) with group commit: an outcome that
 * arrives while the writers are busy joins the next transaction, so a busy dispatcher commits
 * once per batch, with one statement for the jobs and one for the events, instead of a
 * transaction per message; a lone outcome waits OUTCOME_LINGER_MS for company.
 */
export class OutcomeRecorder {
  private waiting: Waiting[] = [];
  private writers = 0;
  private linger: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly jobs: DispatchJobs,
  ) {}

  /** Resolves once committed: true if it applied, false if the claim was no longer the job's. */
  record(job: ClaimedJob, decision: AttemptDecision, attempts: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, decision, attempts, resolve, reject });
      if (this.waiting.length >= MAX_BATCH) this.startWriters();
      else if (!this.linger && this.writers < MAX_WRITERS) this.linger = setTimeout(() => this.startWriters(), OUTCOME_LINGER_MS);
    });
  }

  /** Writes what is waiting, as far as writers are free (outcomes that waited for a busy writer go at once). */
  private startWriters(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    while (this.writers < MAX_WRITERS && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      this.writers += 1;
      void this.write(batch).finally(() => {
        this.writers -= 1;
        this.startWriters();
      });
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    try {
      const applied = await this.db.transaction(async (tx) => {
        const recorded = await this.jobs.recordOutcomes(
          tx,
          batch.map(({ job, decision, attempts }) => ({ job, outcome: decision.job, attempts })),
        );
        await appendToStreams(
          tx,
          batch
            .filter(({ job }) => recorded.has(job.messageId))
            .map(({ job, decision }) => ({ streamId: messageStreamId(job.messageId), events: decision.events, expectedVersion: 'any' as const })),
        );
        return recorded;
      });
      for (const waiting of batch) waiting.resolve(applied.has(waiting.job.messageId));
    } catch (error) {
      if (batch.length === 1) return batch[0].reject(error);
      // One outcome that cannot be written must not fail the others: each goes on its own.
      await Promise.all(batch.map((waiting) => this.write([waiting])));
    }
  }
}
