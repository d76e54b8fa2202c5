import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit, type Provider } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { appStreamId, ProviderPauseSource, type ProviderPause } from '../../../apps';
import { Database, type SqlExecutor } from '../../../database/database';
import { appendToStreams } from '../../../event-store';
import { ScrapeTimeMetrics } from '../../../metrics/scrape-time-metrics';
import { action, DISPATCH_LOG_CONTEXT } from '../dispatch/dispatch-log';
import { WhatsAppDispatchPaused, WhatsAppDispatchResumed, type WhatsAppDispatchPausedData } from './dispatch-pause.events';

export const DISPATCH_PAUSED_APPS = 'whatsapp_dispatch_paused_apps';
export const DISPATCH_PAUSES = 'whatsapp_dispatch_pauses_total';
export const DISPATCH_RESUMES = 'whatsapp_dispatch_resumes_total';

export const dispatchPauseMetricProviders: Provider[] = [
  makeGaugeProvider({ name: DISPATCH_PAUSED_APPS, help: "Apps whose WhatsApp dispatch is paused by an account-level failure (read from the database at scrape time)" }),
  makeCounterProvider({ name: DISPATCH_PAUSES, help: 'Apps paused by an account-level failure, by failure code (1003, 4001, ...)', labelNames: ['code'] }),
  makeCounterProvider({ name: DISPATCH_RESUMES, help: 'Paused apps resumed with POST .../gupshup_whatsapp/resume' }),
];

/** What pauses an app: an account-level failure of one of its messages. */
export type PauseCause = Omit<WhatsAppDispatchPausedData, 'since'>;

interface PauseRow {
  app_id: string;
  since: Date;
  code: string;
  reason: string;
}

/** Longest reason kept: Gupshup's are a sentence. */
const MAX_REASON_LENGTH = 500;

/** Held messages marked and logged per statement: a larger backlog takes several. */
const HELD_PER_STATEMENT = 1000;
const HELD_STATEMENTS_PER_PASS = 4;

interface HeldRow {
  message_id: string;
  app_id: string;
  request_id: string;
  attempts: number;
  paused_since: Date;
  code: string;
}

/**
 * Due pending jobs of paused apps not yet logged as held by their app's current pause (the
 * message that paused it has the pause's own line), marked with that pause in the statement that
 * returns them: a job is returned once per pause, also with several instances at it. The pause's
 * `since` is compared in the database, at its full precision.
 */
const MARK_HELD_SQL = `
  WITH held AS (
    SELECT j.message_id, p.since, p.code
      FROM whatsapp_dispatch_jobs j
      JOIN whatsapp_dispatch_pauses p ON p.app_id = j.app_id
     WHERE j.state = 'pending' AND j.due_at <= now()
       AND j.held_by_pause_since IS DISTINCT FROM p.since
       AND j.message_id IS DISTINCT FROM p.message_id
     LIMIT $1
     FOR UPDATE OF j SKIP LOCKED)
  UPDATE whatsapp_dispatch_jobs j
     SET held_by_pause_since = held.since
    FROM held
   WHERE j.message_id = held.message_id
  RETURNING j.message_id, j.app_id, j.request_id, j.attempts, held.since AS paused_since, held.code`;

/**
 * Paused apps: an account-level failure (wallet empty, rate-limited by Gupshup) stops the app's
 * whole WhatsApp dispatch, since every further request would fail the same way and count
 * against the number's quality. The row in `whatsapp_dispatch_pauses` is what every instance's
 * claim reads (a paused app's jobs are not claimed, nor started if claimed just before), and
 * `WhatsAppDispatchPaused` / `WhatsAppDispatchResumed` on the app's stream are its history.
 */
@Injectable()
export class DispatchPauses implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(DISPATCH_LOG_CONTEXT);
  private removeRefresh?: () => void;

  constructor(
    private readonly db: Database,
    private readonly providerPauses: ProviderPauseSource,
    private readonly scrapeTime: ScrapeTimeMetrics,
    @InjectMetric(DISPATCH_PAUSED_APPS) private readonly pausedApps: Gauge,
    @InjectMetric(DISPATCH_PAUSES) private readonly pauses: Counter<'code'>,
    @InjectMetric(DISPATCH_RESUMES) private readonly resumes: Counter,
  ) {}

  onModuleInit(): void {
    this.providerPauses.useReader((appId, executor) => this.find(appId, executor));
    this.removeRefresh = this.scrapeTime.add(() => this.refreshGauge());
  }

  onModuleDestroy(): void {
    this.removeRefresh?.();
  }

  /**
   * Pauses the apps of `causes`, in the caller's transaction; an app already paused stays paused
   * as it was (the first failure names the pause). Returns the pauses this call made: the caller
   * passes them to `reportPaused` once committed.
   */
  async pause(tx: SqlExecutor, causes: readonly PauseCause[]): Promise<WhatsAppDispatchPausedData[]> {
    const firstPerApp = new Map<string, PauseCause>();
    for (const cause of causes) if (!firstPerApp.has(cause.appId)) firstPerApp.set(cause.appId, cause);
    if (firstPerApp.size === 0) return [];
    const list = [...firstPerApp.values()].map((cause) => ({ ...cause, reason: cause.reason.slice(0, MAX_REASON_LENGTH) }));
    const rows = await tx.query<PauseRow>(
      `INSERT INTO whatsapp_dispatch_pauses (app_id, code, reason, message_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[])
       ON CONFLICT (app_id) DO NOTHING
       RETURNING app_id, since, code, reason`,
      [list.map((c) => c.appId), list.map((c) => c.code), list.map((c) => c.reason), list.map((c) => c.messageId)],
    );
    const paused = rows.map((row): WhatsAppDispatchPausedData => {
      const cause = firstPerApp.get(row.app_id)!;
      return { ...cause, reason: row.reason, since: row.since.toISOString() };
    });
    await appendToStreams(
      tx,
      paused.map((data) => ({ streamId: appStreamId(data.appId), events: [new WhatsAppDispatchPaused(data)], expectedVersion: 'any' as const })),
    );
    return paused;
  }

  /** The log line and the count of pauses that committed. */
  reportPaused(paused: readonly WhatsAppDispatchPausedData[]): void {
    for (const pause of paused) {
      this.pauses.inc({ code: pause.code });
      this.logger.warn({
        message: `WhatsApp dispatch paused for the app: account-level failure ${pause.code} (${pause.reason}); its messages stay queued until POST /v3/channels/whatsapp/providers/gupshup_whatsapp/resume`,
        appId: pause.appId,
        messageId: pause.messageId,
        code: pause.code,
        reason: pause.reason,
        learntFrom: pause.learntFrom,
        ...action('paused'),
      });
    }
  }

  /**
   * One line per message a pause holds (info, `action: paused`), once per message and pause: due
   * while its app is paused, it is left out of every claim, and without this line only the message
   * that met the failure would be named. Run by the dispatch housekeeping; returns how many it logged.
   */
  async reportHeld(): Promise<number> {
    // Nothing paused, the usual case: one look at a table of a few rows.
    const [anyPause] = await this.db.query('SELECT 1 FROM whatsapp_dispatch_pauses LIMIT 1');
    if (!anyPause) return 0;
    let logged = 0;
    // A few statements a pass: a large paused backlog is named over the next passes, and the
    // housekeeping (lease renewals, shutdown) does not wait behind it.
    for (let statement = 0; statement < HELD_STATEMENTS_PER_PASS; statement++) {
      const rows = await this.db.query<HeldRow>(MARK_HELD_SQL, [HELD_PER_STATEMENT]);
      for (const row of rows) {
        const pausedSince = row.paused_since.toISOString();
        this.logger.log({
          message: `held: the app's dispatch is paused (since ${pausedSince}, code ${row.code}); the message stays queued until it is resumed`,
          appId: row.app_id,
          messageId: row.message_id,
          requestId: row.request_id,
          attempt: row.attempts + 1,
          code: row.code,
          pausedSince,
          ...action('paused'),
        });
      }
      logged += rows.length;
      if (rows.length < HELD_PER_STATEMENT) break;
    }
    return logged;
  }

  /** Resumes the app's dispatch: its held messages are claimed again. Returns the pause lifted, or null when it was not paused. */
  async resume(appId: string): Promise<ProviderPause | null> {
    const lifted = await this.db.transaction(async (tx) => {
      const [row] = await tx.query<PauseRow>('DELETE FROM whatsapp_dispatch_pauses WHERE app_id = $1 RETURNING app_id, since, code, reason', [appId]);
      if (!row) return null;
      const resumedAt = new Date().toISOString();
      await appendToStreams(tx, [
        {
          streamId: appStreamId(appId),
          events: [new WhatsAppDispatchResumed({ appId, pausedSince: row.since.toISOString(), code: row.code, resumedAt })],
          expectedVersion: 'any',
        },
      ]);
      return toPause(row);
    });
    if (lifted) {
      this.resumes.inc();
      this.logger.log({ message: `WhatsApp dispatch resumed for the app (paused since ${lifted.since} by ${lifted.code})`, appId, code: lifted.code, pausedSince: lifted.since, ...action('resumed') });
    }
    return lifted;
  }

  async find(appId: string, executor: SqlExecutor = this.db): Promise<ProviderPause | null> {
    const [row] = await executor.query<PauseRow>('SELECT app_id, since, code, reason FROM whatsapp_dispatch_pauses WHERE app_id = $1', [appId]);
    return row ? toPause(row) : null;
  }

  private async refreshGauge(): Promise<void> {
    try {
      const [row] = await this.db.query<{ count: string }>('SELECT count(*) FROM whatsapp_dispatch_pauses');
      this.pausedApps.set(Number(row.count));
    } catch (error) {
      this.logger.warn(`paused apps count unavailable: ${(error as Error).message}`);
    }
  }
}

function toPause(row: PauseRow): ProviderPause {
  return { since: row.since.toISOString(), code: row.code, reason: row.reason };
}
