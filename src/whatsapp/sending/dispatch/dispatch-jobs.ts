import { Injectable } from '@nestjs/common';
import { Database, type SqlExecutor } from '../../../database/database';
import { appendToStreams } from '../../../event-store';
import { messageStreamId, WhatsAppMessageDiscarded } from '../../domain';
import type { GupshupTemplateMessage } from '../../gupshup/send-request';
import { dispatchEventId } from './dispatch-outcome';
import type { SendGateVerdict } from './send-gates';

/**
 * What one notification request asks Gupshup to send, stored once for all its messages.
 * An API_KEY given in `_config` is kept only encrypted (CredentialCipher).
 */
export interface DispatchContent {
  text: string;
  /**
   * `override.gupshup_whatsapp` without `_config`, as JSON text: jsonb would reorder the keys of
   * the objects that go to Gupshup as JSON text, and they are to go as they were given.
   */
  overrideJson: string | null;
  source?: string;
  srcName?: string;
  apiKeyEncrypted?: string;
  /** The registered template the request named: its messages are template messages (each job holds its filled parameters). */
  template?: { identifier: string; gupshupTemplateId: string };
}

/**
 * A job's life: `pending` (waiting for due_at) → `in_flight` (claimed under a lease; marked
 * "request started" in `attempt_started_at` right before Gupshup is called) → `sent` |
 * `discarded` | back to `pending` for a retry. When the lease runs out with no answer recorded:
 * back to `pending` if the request never started, else `outcome_unknown` (docs/dispatch-policy.md).
 */
export type DispatchJobState = 'pending' | 'in_flight' | 'sent' | 'discarded' | 'outcome_unknown';

/**
 * Locks a message's job until `tx` ends and tells whether it is parked as outcome_unknown. Whoever
 * settles such a job (the callback translator, an operator's resend) takes this lock first, so
 * that one of them acts on what the other committed: a parked message is settled as sent, or sent
 * again, never both.
 */
export async function lockOutcomeUnknownJob(tx: SqlExecutor, messageId: string): Promise<boolean> {
  const rows = await tx.query<{ state: DispatchJobState }>('SELECT state FROM whatsapp_dispatch_jobs WHERE message_id = $1 FOR UPDATE', [messageId]);
  return rows[0]?.state === 'outcome_unknown';
}

export interface NewDispatchJob {
  messageId: string;
  /** Digits only, no "+". */
  destination: string;
  /** A template message: the template with this recipient's parameters filled. */
  template?: GupshupTemplateMessage;
}

export interface ClaimedJob {
  messageId: string;
  appId: string;
  requestId: string;
  destination: string;
  /** The number of the attempt this claim is for (1 for the first call). */
  attempt: number;
  leaseToken: string;
  content: DispatchContent;
  /** Set for a template message (see NewDispatchJob.template). */
  template?: GupshupTemplateMessage;
}

export interface ExpiredJob {
  messageId: string;
  appId: string;
  requestId: string;
  attempt: number;
  /** When its request to Gupshup started; null: it never did, and the job went back to the queue. */
  attemptStartedAt: Date | null;
}

/** What a lease expiry round did: jobs given back to the queue, and jobs parked as outcome_unknown. */
export interface ExpiredLeases {
  requeued: ExpiredJob[];
  parked: (ExpiredJob & { attemptStartedAt: Date })[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface DispatchJobRow {
  messageId: string;
  appId: string;
  requestId: string;
  destination: string;
  state: DispatchJobState;
  dueAt: Date;
  attempts: number;
  lockedUntil: Date | null;
  attemptStartedAt: Date | null;
  providerMessageId: string | null;
  lastError: string | null;
  updatedAt: Date;
}

/** How an attempt ended, as the job row records it. */
export type JobOutcome =
  | { state: 'sent'; providerMessageId: string }
  | { state: 'pending'; dueAt: Date; lastError: string }
  | { state: 'discarded'; lastError: string }
  /** The request may have reached Gupshup: never called again by itself (docs/dispatch-policy.md). */
  | { state: 'outcome_unknown'; lastError: string };

export interface RecordedOutcome {
  job: ClaimedJob;
  outcome: JobOutcome;
  /** Calls made so far, this one included when it was made. */
  attempts: number;
}

interface JobRow {
  message_id: string;
  app_id: string;
  request_id: string;
  destination: string;
  state: DispatchJobState;
  due_at: Date;
  attempts: number;
  locked_until: Date | null;
  attempt_started_at: Date | null;
  provider_message_id: string | null;
  last_error: string | null;
  updated_at: Date;
}

function toRow(row: JobRow): DispatchJobRow {
  return {
    messageId: row.message_id,
    appId: row.app_id,
    requestId: row.request_id,
    destination: row.destination,
    state: row.state,
    dueAt: row.due_at,
    attempts: row.attempts,
    lockedUntil: row.locked_until,
    attemptStartedAt: row.attempt_started_at,
    providerMessageId: row.provider_message_id,
    lastError: row.last_error,
    updatedAt: row.updated_at,
  };
}

const CLAIM_SQL = `
  WITH due AS (
    SELECT message_id FROM whatsapp_dispatch_jobs
     WHERE state = 'pending' AND due_at <= now() AND NOT (app_id = ANY ($4::text[]))
       AND NOT EXISTS (SELECT 1 FROM whatsapp_dispatch_pauses p WHERE p.app_id = whatsapp_dispatch_jobs.app_id)
     ORDER BY due_at
     LIMIT $1
     FOR UPDATE SKIP LOCKED)
  UPDATE whatsapp_dispatch_jobs j
     SET state = 'in_flight', lease_token = $2, locked_until = now() + make_interval(secs => $3::float8 / 1000),
         attempt_started_at = NULL, updated_at = now()
    FROM due, whatsapp_dispatch_requests r
   WHERE j.message_id = due.message_id AND r.request_id = j.request_id
  RETURNING j.message_id, j.app_id, j.request_id, j.destination, j.attempts, r.content, j.template`;

/** The outbox of Gupshup calls: plain SQL on `whatsapp_dispatch_requests` and `whatsapp_dispatch_jobs`. */
@Injectable()
export class DispatchJobs {
  constructor(private readonly db: Database) {}

  async insertRequest(tx: SqlExecutor, requestId: string, appId: string, content: DispatchContent): Promise<void> {
    await tx.query('INSERT INTO whatsapp_dispatch_requests (request_id, app_id, content) VALUES ($1, $2, $3)', [
      requestId,
      appId,
      JSON.stringify(content),
    ]);
  }

  /** One multi-row insert for all the messages of a request. */
  async insertJobs(tx: SqlExecutor, appId: string, requestId: string, dueAt: Date, jobs: readonly NewDispatchJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await tx.query(
      `INSERT INTO whatsapp_dispatch_jobs (message_id, app_id, request_id, destination, due_at, template)
       SELECT j.message_id, $1, $2, j.destination, $3, j.template FROM unnest($4::uuid[], $5::text[], $6::jsonb[]) AS j (message_id, destination, template)`,
      [
        appId,
        requestId,
        dueAt,
        jobs.map((job) => job.messageId),
        jobs.map((job) => job.destination),
        jobs.map((job) => (job.template ? JSON.stringify(job.template) : null)),
      ],
    );
  }

  /**
   * Takes up to `limit` due jobs, oldest due first, skipping rows other workers hold, and marks
   * them in flight under a lease in the same statement, committed before it returns: nobody else
   * can take them until the lease runs out. Jobs of `excludeAppIds` (rate-limited now) and of
   * paused apps (whatsapp_dispatch_pauses) are left.
   * Their requests are not started yet (see markRequestsStarted).
   */
  async claim(options: { limit: number; leaseMs: number; leaseToken: string; excludeAppIds: readonly string[] }): Promise<ClaimedJob[]> {
    const rows = await this.db.transaction(async (tx) => {
      // The partial index on due_at gives the order. Statistics taken while the queue was nearly
      // empty make the planner expect a handful of due jobs and sort them all instead, which for a
      // backlog of thousands means sorting the whole backlog on every claim.
      await tx.query('SET LOCAL enable_sort = off');
      return tx.query<Pick<JobRow, 'message_id' | 'app_id' | 'request_id' | 'destination' | 'attempts'> & { content: DispatchContent; template: GupshupTemplateMessage | null }>(CLAIM_SQL, [
        options.limit,
        options.leaseToken,
        options.leaseMs,
        options.excludeAppIds,
      ]);
    });
    return rows.map((row) => ({
      messageId: row.message_id,
      appId: row.app_id,
      requestId: row.request_id,
      destination: row.destination,
      attempt: row.attempts + 1,
      leaseToken: options.leaseToken,
      content: row.content,
      ...(row.template ? { template: row.template } : {}),
    }));
  }

  /** Gives claimed jobs back untried (rate limit, shutdown): due again after `delayMs`, no attempt counted. */
  async release(jobs: readonly ClaimedJob[], delayMs: number): Promise<void> {
    if (jobs.length === 0) return;
    await this.db.query(
      `UPDATE whatsapp_dispatch_jobs
          SET state = 'pending', due_at = now() + make_interval(secs => $3::float8 / 1000),
              lease_token = NULL, locked_until = NULL, attempt_started_at = NULL, updated_at = now()
        WHERE message_id = ANY ($1::uuid[]) AND lease_token = ANY ($2::uuid[]) AND state = 'in_flight'`,
      [jobs.map((job) => job.messageId), [...new Set(jobs.map((job) => job.leaseToken))], delayMs],
    );
  }

  /**
   * Records how claimed attempts ended, in one statement inside the caller's transaction (with
   * their events). An outcome applies only while its claim is still the job's: in flight, or
   * parked as outcome_unknown by a lease that ran out while the call was still going (the answer
   * then settles it). `attempts` is the number of calls made so far (the claimed attempt, unless
   * it ended before calling). Returns the message ids whose outcome applied.
   */
  async recordOutcomes(tx: SqlExecutor, outcomes: readonly RecordedOutcome[]): Promise<Set<string>> {
    if (outcomes.length === 0) return new Set();
    const rows = await tx.query<{ message_id: string }>(
      `UPDATE whatsapp_dispatch_jobs j
          SET state = o.state, attempts = o.attempts, due_at = coalesce(o.due_at, j.due_at),
              provider_message_id = coalesce(o.provider_message_id, j.provider_message_id),
              last_error = coalesce(o.last_error, j.last_error), lease_token = NULL, locked_until = NULL, updated_at = now()
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::timestamptz[], $6::text[], $7::text[])
              AS o (message_id, lease_token, state, attempts, due_at, provider_message_id, last_error)
        WHERE j.message_id = o.message_id AND j.lease_token = o.lease_token AND j.state IN ('in_flight', 'outcome_unknown')
       RETURNING j.message_id`,
      [
        outcomes.map(({ job }) => job.messageId),
        outcomes.map(({ job }) => job.leaseToken),
        outcomes.map(({ outcome }) => outcome.state),
        outcomes.map(({ attempts }) => attempts),
        outcomes.map(({ outcome }) => (outcome.state === 'pending' ? outcome.dueAt : null)),
        outcomes.map(({ outcome }) => (outcome.state === 'sent' ? outcome.providerMessageId : null)),
        outcomes.map(({ outcome }) => (outcome.state === 'sent' ? null : outcome.lastError)),
      ],
    );
    return new Set(rows.map((row) => row.message_id));
  }

  /**
   * Marks claimed jobs "request started", right before their Gupshup calls, in one statement that
   * commits on its own. Only jobs still held by their claim, not withdrawn, and of an app whose
   * dispatch is not paused are marked; the others must not be sent. Returns the message ids marked.
   * `rateSlots` (epoch ms, one per job, or none without a rate limit) are kept beside them.
   */
  async markRequestsStarted(jobs: readonly ClaimedJob[], rateSlots: readonly number[] = []): Promise<Set<string>> {
    if (jobs.length === 0) return new Set();
    const rows = await this.db.query<{ message_id: string }>(
      `UPDATE whatsapp_dispatch_jobs j
          SET attempt_started_at = now(), rate_slot_at = to_timestamp(s.slot_ms / 1000), updated_at = now()
         FROM unnest($1::uuid[], $3::float8[]) AS s (message_id, slot_ms)
        WHERE j.message_id = ANY ($1::uuid[]) AND j.message_id = s.message_id
          AND j.lease_token = ANY ($2::uuid[]) AND j.state = 'in_flight' AND j.attempt_started_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM whatsapp_dispatch_pauses p WHERE p.app_id = j.app_id)
       RETURNING j.message_id`,
      [jobs.map((job) => job.messageId), [...new Set(jobs.map((job) => job.leaseToken))], jobs.map((_, i) => rateSlots[i] ?? null)],
    );
    return new Set(rows.map((row) => row.message_id));
  }

  /**
   * Discards, in the caller's transaction, the jobs of `messageIds` whose Gupshup request has not
   * started (pending, or claimed but not yet marked started), appending WhatsAppMessageDiscarded
   * (source `dispatch`, code = the reason) to each message. A worker holding one of them then
   * fails to mark it started and does not send it. Returns the message ids withdrawn; the others
   * (sent, started, already closed, unknown) are left as they are.
   */
  async withdraw(tx: SqlExecutor, messageIds: readonly string[], reason: string | SendGateVerdict): Promise<string[]> {
    const ids = [...new Set(messageIds.filter((id) => UUID.test(id)))];
    if (ids.length === 0) return [];
    const verdict = typeof reason === 'string' ? { reason } : reason;
    const detail = verdict.detail ?? `withdrawn before its request to Gupshup started (${verdict.reason})`;
    const rows = await tx.query<{ message_id: string; app_id: string; attempts: number }>(
      `UPDATE whatsapp_dispatch_jobs
          SET state = 'discarded', last_error = $2, lease_token = NULL, locked_until = NULL, updated_at = now()
        WHERE message_id = ANY ($1::uuid[]) AND (state = 'pending' OR (state = 'in_flight' AND attempt_started_at IS NULL))
       RETURNING message_id, app_id, attempts`,
      [ids, detail],
    );
    const discardedAt = new Date().toISOString();
    await appendToStreams(
      tx,
      rows.map((row) => ({
        streamId: messageStreamId(row.message_id),
        events: [
          new WhatsAppMessageDiscarded(
            { appId: row.app_id, messageId: row.message_id, code: verdict.reason, reason: detail, source: 'dispatch', discardedAt },
            dispatchEventId(row.message_id, row.attempts + 1, 'discarded'),
          ),
        ],
        expectedVersion: 'any' as const,
      })),
    );
    return rows.map((row) => row.message_id);
  }

  /**
   * Ends, in the caller's transaction, up to `limit` leases that ran out while in flight: their
   * worker stopped (or stalled) between claiming and recording. A job whose request never started
   * goes back to `pending`, due now, with no attempt counted. One whose request started is parked
   * as `outcome_unknown`, since Gupshup may have the message; its lease token stays, so that a
   * worker still alive can yet record the real answer.
   */
  async expireLeases(tx: SqlExecutor, limit: number): Promise<ExpiredLeases> {
    const rows = await tx.query<{ message_id: string; app_id: string; request_id: string; attempts: number; attempt_started_at: Date | null }>(
      `WITH expired AS (
         SELECT message_id FROM whatsapp_dispatch_jobs
          WHERE state = 'in_flight' AND locked_until < now()
          ORDER BY locked_until
          LIMIT $1
          FOR UPDATE SKIP LOCKED)
       UPDATE whatsapp_dispatch_jobs j
          SET state = CASE WHEN j.attempt_started_at IS NULL THEN 'pending' ELSE 'outcome_unknown' END,
              due_at = CASE WHEN j.attempt_started_at IS NULL THEN now() ELSE j.due_at END,
              lease_token = CASE WHEN j.attempt_started_at IS NULL THEN NULL ELSE j.lease_token END,
              locked_until = NULL, updated_at = now(),
              last_error = CASE WHEN j.attempt_started_at IS NULL THEN j.last_error
                                ELSE 'the lease ran out before the answer of attempt ' || (j.attempts + 1) || ' was recorded' END
         FROM expired
        WHERE j.message_id = expired.message_id
       RETURNING j.message_id, j.app_id, j.request_id, j.attempts, j.attempt_started_at`,
      [limit],
    );
    const expired = rows.map((row) => ({
      messageId: row.message_id,
      appId: row.app_id,
      requestId: row.request_id,
      attempt: row.attempts + 1,
      attemptStartedAt: row.attempt_started_at,
    }));
    return {
      requeued: expired.filter((job) => job.attemptStartedAt === null),
      parked: expired.filter((job): job is ExpiredJob & { attemptStartedAt: Date } => job.attemptStartedAt !== null),
    };
  }

  async find(messageId: string, executor: SqlExecutor = this.db): Promise<DispatchJobRow | undefined> {
    const [row] = await executor.query<JobRow>('SELECT * FROM whatsapp_dispatch_jobs WHERE message_id = $1', [messageId]);
    return row ? toRow(row) : undefined;
  }

  /** Jobs parked as outcome_unknown, oldest first; `appId` narrows to one app. */
  async listOutcomeUnknown(options: { appId?: string; limit?: number } = {}): Promise<DispatchJobRow[]> {
    const rows = await this.db.query<JobRow>(
      `SELECT * FROM whatsapp_dispatch_jobs
        WHERE state = 'outcome_unknown' AND ($1::text IS NULL OR app_id = $1)
        ORDER BY attempt_started_at
        LIMIT $2`,
      [options.appId ?? null, options.limit ?? 100],
    );
    return rows.map(toRow);
  }

  /**
   * Settles a parked job as sent (Gupshup's id learnt from a callback or from Gupshup's logs), in
   * the caller's transaction. Returns the job as updated (its `attempts` is the parked attempt),
   * or undefined when it was not parked.
   */
  async settleOutcomeUnknownAsSent(tx: SqlExecutor, messageId: string, providerMessageId: string): Promise<DispatchJobRow | undefined> {
    const [row] = await tx.query<JobRow>(
      `UPDATE whatsapp_dispatch_jobs
          SET state = 'sent', attempts = attempts + 1, provider_message_id = $2, lease_token = NULL, updated_at = now()
        WHERE message_id = $1 AND state = 'outcome_unknown'
       RETURNING *`,
      [messageId, providerMessageId],
    );
    return row ? toRow(row) : undefined;
  }

  /** An operator's decision to send a parked job again: due now, as a new attempt. */
  async requeueOutcomeUnknown(tx: SqlExecutor, messageId: string): Promise<DispatchJobRow | undefined> {
    const [row] = await tx.query<JobRow>(
      `UPDATE whatsapp_dispatch_jobs
          SET state = 'pending', attempts = attempts + 1, due_at = now(), lease_token = NULL, locked_until = NULL, updated_at = now()
        WHERE message_id = $1 AND state = 'outcome_unknown'
       RETURNING *`,
      [messageId],
    );
    return row ? toRow(row) : undefined;
  }
}
