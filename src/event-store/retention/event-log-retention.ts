import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import type { PoolClient } from 'pg';
import { AppConfig } from '../../config/app-config';
import { Database } from '../../database/database';
import { SubscriptionManager } from '../subscriptions/subscription-manager';
import { exportLogPartition } from './log-archive';
import { coverLogPartitions, quoteIdent, listLogPartitions, logPartitionParents, type LogPartition } from './log-partitions';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
/** Partitions are created this many spans ahead of now, so that a stopped service finds them there. */
const SPANS_AHEAD = 3;
/** One instance at a time retires partitions (a session-level advisory lock). */
const RETIRE_LOCK = 'es_log_retention';

/** How long the events of one kind of stream (a range-partitioned child of es_events) are kept. */
export interface LogRetentionPolicy {
  /** The partitioned child of es_events, e.g. es_events_messages. */
  parent: string;
  /** Days after which a partition whose events are all older goes; 0 keeps them for ever. */
  days: number;
  /** The setting that gave `days`, named in logs. */
  setting: string;
}

export interface RetiredPartition {
  parent: string;
  tableName: string;
  from: string | null;
  to: string;
  events: number;
  file: string | null;
}

/**
 * Keeps es_events' range partitions ahead of time (every process, at start and then regularly)
 * and retires those past their kind's retention (one process that runs subscriptions): once every
 * subscription has read all of a partition, it is detached, exported to
 * EVENT_ARCHIVE_DIR/<parent>/<partition>.ndjson.gz, and dropped with the rows of the streams that
 * ended in it. Kinds register their policy (register()); a kind without one is never retired.
 */
@Injectable()
export class EventLogRetention implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('EventLogRetention');
  private readonly policies = new Map<string, LogRetentionPolicy>();
  private coverTimer?: NodeJS.Timeout;
  private retireTimer?: NodeJS.Timeout;
  private firstRetire?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly subscriptions: SubscriptionManager,
  ) {}

  register(policy: LogRetentionPolicy): void {
    this.policies.set(policy.parent, policy);
  }

  policy(parent: string): LogRetentionPolicy | undefined {
    return this.policies.get(parent);
  }

  spanDays(): number {
    return this.config.get('EVENT_LOG_PARTITION_DAYS');
  }

  archiveDir(): string {
    return this.config.get('EVENT_ARCHIVE_DIR') ?? join(this.config.get('DATA_DIR'), 'event-archive');
  }

  // Before any module appends: the partitions for now must be there.
  async onModuleInit(): Promise<void> {
    await this.cover();
  }

  onApplicationBootstrap(): void {
    const coverEvery = Math.min(15 * 60 * 1000, (this.spanDays() * DAY_MS) / SPANS_AHEAD);
    this.coverTimer = setInterval(() => this.track(this.cover()), coverEvery);
    this.coverTimer.unref();
    if (!this.config.get('SUBSCRIPTIONS_ENABLED') || !this.config.runs('subscriptions')) return;
    this.retireTimer = setInterval(() => this.track(this.retire()), HOUR_MS);
    this.retireTimer.unref();
    this.firstRetire = setTimeout(() => this.track(this.retire()), 30_000);
    this.firstRetire.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.coverTimer);
    clearInterval(this.retireTimer);
    clearTimeout(this.firstRetire);
    await this.running;
  }

  private track(work: Promise<unknown>): void {
    this.running = work.catch((error: Error) => this.logger.warn({ message: `event log partitions: ${error.message}` }));
  }

  /** Creates the partitions missing between `now` and SPANS_AHEAD spans after it; returns how many. */
  async cover(now = new Date()): Promise<number> {
    const span = this.spanDays();
    const until = new Date(now.getTime() + SPANS_AHEAD * span * DAY_MS);
    let created = 0;
    for (const parent of await logPartitionParents(this.db)) {
      const count = await this.db.transaction(async (tx) => {
        // Attaching waits for the parent's lock: better to try again later than to stall appends behind it.
        await tx.query(`SET LOCAL lock_timeout = '5s'`);
        return coverLogPartitions(tx, parent, span, now, until);
      });
      if (count > 0) this.logger.log({ message: 'event log partitions created', parent, partitions: count, until: until.toISOString() });
      created += count;
    }
    return created;
  }

  /**
   * Retires every partition past its kind's retention as of `now` (and kept by no loaded archive).
   * A partition some subscription has not read whole waits for a later run. Returns what went.
   */
  async retire(now = new Date()): Promise<RetiredPartition[]> {
    const retired: RetiredPartition[] = [];
    await this.db.withClient(async (session) => {
      const [{ locked }] = (await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [RETIRE_LOCK])).rows;
      if (!locked) return;
      try {
        for (const policy of this.policies.values()) {
          if (policy.days <= 0) continue;
          const before = new Date(now.getTime() - policy.days * DAY_MS);
          const due = (await listLogPartitions(this.db, { parent: policy.parent })).filter(
            (partition) => partition.to.getTime() <= before.getTime() && (!partition.keepUntil || partition.keepUntil.getTime() <= Date.now()),
          );
          for (const partition of due) {
            const outcome = await this.retireOne(session, partition, policy);
            if (outcome) retired.push(outcome);
          }
        }
      } finally {
        await session.query('SELECT pg_advisory_unlock(hashtext($1))', [RETIRE_LOCK]);
      }
    });
    return retired;
  }

  private async retireOne(session: PoolClient, partition: LogPartition, policy: LogRetentionPolicy): Promise<RetiredPartition | undefined> {
    const table = quoteIdent(partition.tableName);
    const fields = { parent: partition.parent, partition: partition.tableName, from: partition.from?.toISOString() ?? null, to: partition.to.toISOString() };
    if (partition.state === 'attached') {
      const unreadBy = await this.unreadBy(partition.tableName);
      if (unreadBy) {
        this.logger.log({ message: 'event log partition due for retirement waits for a subscription', ...fields, subscription: unreadBy });
        return undefined;
      }
      // CONCURRENTLY: appends and reads of the parent go on; it waits for transactions that may
      // still write into the partition (one that began before its end).
      await session.query(`ALTER TABLE ${quoteIdent(partition.parent)} DETACH PARTITION ${table} CONCURRENTLY`).catch(async (error: Error) => {
        // An interrupted concurrent detach leaves the partition pending: finish it.
        if (!/pending detach|FINALIZE/i.test(error.message)) throw error;
        await session.query(`ALTER TABLE ${quoteIdent(partition.parent)} DETACH PARTITION ${table} FINALIZE`);
      });
      await this.db.query(`UPDATE es_log_partitions SET state = 'detached' WHERE id = $1`, [partition.id]);
    }
    // Written by a transaction that began before the partition's end but committed after the check above.
    const lateUnreadBy = await this.unreadBy(partition.tableName);
    if (lateUnreadBy) {
      await session.query(
        `ALTER TABLE ${quoteIdent(partition.parent)} ATTACH PARTITION ${table} FOR VALUES FROM (${partition.from ? `'${partition.from.toISOString()}'` : 'MINVALUE'}) TO ('${partition.to.toISOString()}')`,
      );
      await this.db.query(`UPDATE es_log_partitions SET state = 'attached' WHERE id = $1`, [partition.id]);
      this.logger.log({ message: 'event log partition attached again: a subscription has not read it whole', ...fields, subscription: lateUnreadBy });
      return undefined;
    }
    const [{ events }] = await this.db.query<{ events: string }>(`SELECT count(*) AS events FROM ${table}`);
    let file: string | null = null;
    if (Number(events) > 0) {
      file = join(this.archiveDir(), partition.parent, `${partition.tableName}.ndjson.gz`);
      await exportLogPartition(this.db, partition, file);
      await this.db.query(`UPDATE es_log_partitions SET exported_file = $2, exported_events = $3, exported_at = now() WHERE id = $1`, [partition.id, file, events]);
    }
    const streams = await this.db.transaction(async (tx) => {
      // A stream whose last event is in this partition (or an earlier one) has no event left.
      const [gone] = await tx.query<{ n: number }>(
        `WITH gone AS (DELETE FROM es_streams s
                        WHERE s.stream_id IN (SELECT DISTINCT e.stream_id FROM ${table} e) AND s.updated_at < $1
                        RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [partition.to],
      );
      await tx.query(`DROP TABLE ${table}`);
      await tx.query(`UPDATE es_log_partitions SET state = 'dropped', dropped_at = now() WHERE id = $1`, [partition.id]);
      return gone.n;
    });
    this.logger.log({
      message: 'event log partition retired',
      ...fields,
      events: Number(events),
      streamsRemoved: streams,
      file,
      setting: policy.setting,
      retentionDays: policy.days,
    });
    return { parent: partition.parent, tableName: partition.tableName, from: fields.from, to: fields.to, events: Number(events), file };
  }

  /**
   * The first checkpoint of a known subscription that has not read every event of `table`, if any.
   * A partition of a cut subscription ("name#i/n") reads only its streams (see partitionCondition).
   */
  private async unreadBy(tableName: string): Promise<string | undefined> {
    const names = this.subscriptions.names().flatMap((name) => this.subscriptions.runner(name).checkpointNames());
    if (names.length === 0) return undefined;
    const rows = await this.db.query<{ name: string }>(
      `SELECT s.name FROM es_subscriptions s
         CROSS JOIN LATERAL (SELECT substring(s.name FROM '#(\\d+)/\\d+$')::int AS part, substring(s.name FROM '#\\d+/(\\d+)$')::int AS parts) p
        WHERE s.name = ANY ($1::text[])
          AND EXISTS (SELECT 1 FROM ${quoteIdent(tableName)} e
                       WHERE (e.transaction_id, e.global_position) > (s.last_transaction_id, s.last_global_position)
                         AND (p.parts IS NULL OR (hashtext(e.stream_id) & 2147483647) % p.parts = p.part - 1))
        LIMIT 1`,
      [names],
    );
    // A subscription with no checkpoint yet has read nothing.
    const known = await this.db.query<{ name: string }>('SELECT name FROM es_subscriptions WHERE name = ANY ($1::text[])', [names]);
    const missing = names.find((name) => !known.some((row) => row.name === name));
    if (missing) {
      const [{ any }] = await this.db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${quoteIdent(tableName)}) AS any`);
      if (any) return missing;
    }
    return rows[0]?.name;
  }
}
