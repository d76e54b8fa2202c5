import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { Database } from '../../database/database';
import { OutcomeUnknownResolver } from '../sending';
import { parseGupshupCallback, type DeliveryReport, type ParsedCallback } from '../gupshup/callback-parser';
import { writeCallbackBatch, writeKnownCallbackBatch, type CallbackSubmission, type SubmissionResult } from './callback-batch';
import { isDatabaseUnavailable } from './database-errors';
import { checkReport } from './delivery-report';
import { GroupCommitBatcher } from './group-commit-batcher';
import { recordInvalidCallbacks } from './parked-callbacks';
import { TrackingMetrics, type CallbackFormatLabel } from './tracking.metrics';

export type DecodedBody = { ok: true; json: unknown; text: string } | { ok: false; problem: string };

/**
 * The request body as JSON, whatever content type it was sent with (Gupshup sends
 * application/json; a JSON body sent as text/plain is accepted as well).
 */
export function decodeCallbackBody(body: unknown): DecodedBody {
  const bytes = Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body) : Buffer.alloc(0);
  // A UTF-8 byte order mark is not JSON, but some senders put one.
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') return { ok: false, problem: 'The callback body is empty: send the Gupshup event as a JSON object' };
  try {
    return { ok: true, json: JSON.parse(text), text };
  } catch (error) {
    return { ok: false, problem: `The callback body is not valid JSON (${(error as Error).message}): send the Gupshup event as a JSON object` };
  }
}

export type IngestionResult =
  | { kind: 'stored'; reports: number }
  | { kind: 'ignored'; what: string }
  | { kind: 'invalid'; problem: string };

/**
 * Turns a callback into what the webhook stores, and stores it with group commit: callbacks that
 * arrive together are written in one transaction, and each request is answered once its own
 * transaction has committed.
 */
@Injectable()
export class CallbackIngestionService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('DeliveryTracking');
  private readonly batcher: GroupCommitBatcher<CallbackSubmission, SubmissionResult>;

  constructor(
    private readonly db: Database,
    private readonly metrics: TrackingMetrics,
    private readonly lostDispatches: OutcomeUnknownResolver,
    config: AppConfig,
  ) {
    this.batcher = new GroupCommitBatcher<CallbackSubmission, SubmissionResult>(
      {
        commitBatch: (submissions) => this.commit(submissions),
        retryItemsAlone: (error) => !isDatabaseUnavailable(error),
      },
      {
        maxWaitMs: config.get('WEBHOOK_BATCH_MAX_WAIT_MS'),
        maxBatchSize: config.get('WEBHOOK_BATCH_MAX_SIZE'),
        // Few batches at a time: callbacks that arrive meanwhile gather into bigger batches, and
        // the database's cost per callback (round trips, commits) falls as batches grow.
        maxConcurrentBatches: Math.min(config.get('WEBHOOK_BATCH_CONCURRENCY'), Math.max(1, config.get('DATABASE_POOL_SIZE') - 2)),
      },
    );
  }

  /**
   * Stores what a callback body says for this app. Resolves once it is committed; rejects when
   * it could not be stored (see isTransientDatabaseError for which failures are worth a retry).
   * `authenticated`: the callback carried the app's token (not the legacy URL); only such a
   * callback may settle a dispatch whose outcome is unknown.
   */
  async ingest(appId: string, json: unknown, rawBody: string, receivedAt: Date, authenticated: boolean): Promise<IngestionResult> {
    const parsed = parseGupshupCallback(json, receivedAt);
    const format = formatOf(json);
    if (parsed.kind === 'ignored') {
      this.metrics.callback(format, ignoredKind(parsed.what), 'ignored');
      return { kind: 'ignored', what: parsed.what };
    }
    const submission = toSubmission(appId, parsed, rawBody, receivedAt, authenticated);
    const result = await this.batcher.submit(submission);
    submission.reports.forEach((report, index) => this.metrics.callback(report.format, report.providerStatus, result.outcomes[index]));
    if (submission.problems.length > 0) this.metrics.callback(format, 'invalid', 'invalid');
    if (parsed.kind === 'invalid') return { kind: 'invalid', problem: parsed.message };
    return { kind: 'stored', reports: submission.reports.length };
  }

  /**
   * Last resort for a callback whose reports could not be written for a reason of their own:
   * its body is kept as invalid, for an operator, rather than refused (Gupshup would retry it forever).
   */
  async recordUnstorable(appId: string, rawBody: string, receivedAt: Date, problem: string): Promise<void> {
    await this.db.transaction((tx) => recordInvalidCallbacks(tx, [{ appId, problem, rawBody, receivedAt }]));
    this.metrics.callback('unknown', 'invalid', 'invalid');
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.batcher.flush();
  }

  private async commit(submissions: CallbackSubmission[]): Promise<SubmissionResult[]> {
    const batch =
      (await writeKnownCallbackBatch(this.db, submissions)) ??
      (await this.db.transaction((tx) =>
        writeCallbackBatch(tx, submissions, (messageId, gupshupId, executor) => this.lostDispatches.settleAsSent(messageId, gupshupId, executor)),
      ));
    this.metrics.batch(submissions.length);
    this.metrics.recordApplied(batch.appended, batch.unparked, batch.reconciled);
    if (batch.reconciled > 0) this.logger.log(`reconciled ${batch.reconciled} message(s) whose send answer was lost, from their callbacks`);
    return batch.results;
  }
}

function toSubmission(
  appId: string,
  parsed: Exclude<ParsedCallback, { kind: 'ignored' }>,
  rawBody: string,
  receivedAt: Date,
  authenticated: boolean,
): CallbackSubmission {
  if (parsed.kind === 'invalid') return { appId, receivedAt, rawBody, authenticated, reports: [], problems: [parsed.message] };
  const reports: DeliveryReport[] = [];
  const problems = [...(parsed.skipped ?? [])];
  for (const report of parsed.reports) {
    const checked = checkReport(report, receivedAt);
    if (checked.ok) reports.push(checked.report);
    else problems.push(checked.problem);
  }
  return { appId, receivedAt, rawBody, authenticated, reports, problems };
}

function formatOf(json: unknown): CallbackFormatLabel {
  if (typeof json !== 'object' || json === null) return 'unknown';
  const body = json as Record<string, unknown>;
  if (body.object === 'whatsapp_business_account') return 'v3';
  if (typeof body.type === 'string') return 'v2';
  return 'unknown';
}

/** The kind named by the parser's description of an ignored callback, e.g. "v2 user-event sandbox-start" → user-event. */
function ignoredKind(what: string): string {
  const words = what.split(/[ ,]+/);
  if (words[1] === 'message-event') return words[2] ?? 'other';
  if (words[0] === 'v3' && words[1] === 'messages') return 'message';
  return words[1] ?? 'other';
}
