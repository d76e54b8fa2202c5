import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database, SqlExecutor } from '../../database/database';
import type { PartitionedSubscription } from './partitioned-subscription';

/**
 * Shares the partitions of cut subscriptions among the instances that run subscriptions. Each
 * instance is a member, heard from every third of SUBSCRIPTION_LEASE_MS; members are ranked by
 * id and each has a quota (the partitions divided by the members, the remainder to the first
 * ones). An instance renews the leases it holds, gives up those above its quota and takes free
 * or expired ones up to it, and runs exactly the partitions it holds. A crashed instance stops
 * renewing: its member entry and leases run out after SUBSCRIPTION_LEASE_MS and the others take
 * its partitions. Two instances never run one partition at once, whatever the leases say: each
 * batch is processed under the partition's own lock.
 */
export class SubscriptionLeases {
  private readonly logger = new Logger(SubscriptionLeases.name);
  readonly memberId = randomUUID();
  private readonly held = new Map<string, Set<number>>();
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private stopped = false;
  private lastRenewed = Date.now();

  constructor(
    private readonly db: Database,
    private readonly subscriptions: readonly PartitionedSubscription[],
    private readonly leaseMs: number,
  ) {}

  /** The partitions this instance runs, by subscription (for /health and the tests). */
  partitionsHeld(): Record<string, number[]> {
    return Object.fromEntries([...this.held].map(([name, partitions]) => [name, [...partitions].sort((a, b) => a - b)]));
  }

  async start(): Promise<void> {
    await this.renew();
    this.schedule();
  }

  /** Stops the partitions it runs and hands their leases back, so that the others take them at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    await Promise.all(this.subscriptions.map((subscription) => subscription.stop()));
    this.held.clear();
    await this.db
      .transaction(async (tx) => {
        await tx.query('DELETE FROM es_subscription_leases WHERE member_id = $1', [this.memberId]);
        await tx.query('DELETE FROM es_subscription_members WHERE member_id = $1', [this.memberId]);
      })
      .catch((error: Error) => this.logger.warn(`could not hand the subscription leases back (${error.message}): they run out in ${this.leaseMs} ms`));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.round = this.renew().finally(() => this.schedule());
      },
      Math.max(50, Math.floor(this.leaseMs / 3)),
    );
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    let decided: Map<string, Set<number>>;
    try {
      decided = await this.db.transaction((tx) => this.decide(tx));
      this.lastRenewed = Date.now();
    } catch (error) {
      this.logger.warn(`could not renew the subscription leases: ${(error as Error).message}`);
      // Past its leases' end another instance may hold them: stop rather than take turns with it.
      if (Date.now() - this.lastRenewed > this.leaseMs) decided = new Map();
      else return;
    }
    if (this.stopped) return;
    for (const subscription of this.subscriptions) {
      const before = this.held.get(subscription.name) ?? new Set<number>();
      const after = decided.get(subscription.name) ?? new Set<number>();
      const given = [...before].filter((partition) => !after.has(partition));
      const taken = [...after].filter((partition) => !before.has(partition));
      for (const partition of given) await subscription.stop(partition);
      for (const partition of taken) subscription.start(partition);
      if (given.length > 0 || taken.length > 0) {
        this.logger.log({
          message: `subscription ${subscription.name}: runs partitions ${[...after].sort((a, b) => a - b).map((p) => p + 1).join(', ') || 'none'} of ${subscription.count}`,
          subscription: subscription.name,
          memberId: this.memberId,
          taken: taken.map((p) => p + 1),
          given: given.map((p) => p + 1),
        });
      }
      this.held.set(subscription.name, after);
    }
  }

  /** One round, in one transaction: be heard from, forget the silent, renew, give up and take leases. */
  private async decide(tx: SqlExecutor): Promise<Map<string, Set<number>>> {
    const interval = `${this.leaseMs} milliseconds`;
    await tx.query(
      `INSERT INTO es_subscription_members (member_id, description, seen_at) VALUES ($1, $2, now())
       ON CONFLICT (member_id) DO UPDATE SET seen_at = now()`,
      [this.memberId, `${hostname()} pid ${process.pid}`],
    );
    await tx.query(`DELETE FROM es_subscription_members WHERE seen_at < now() - $1::interval`, [interval]);
    const members = await tx.query<{ member_id: string }>('SELECT member_id FROM es_subscription_members ORDER BY member_id');
    const rank = Math.max(0, members.findIndex((member) => member.member_id === this.memberId));
    const decided = new Map<string, Set<number>>();
    for (const subscription of this.subscriptions) {
      const count = subscription.count;
      const quota = Math.floor(count / members.length) + (rank < count % members.length ? 1 : 0);
      // Leases of a partitioning with more parts than this one's.
      await tx.query('DELETE FROM es_subscription_leases WHERE subscription = $1 AND partition >= $2', [subscription.name, count]);
      const renewed = await tx.query<{ partition: number }>(
        `UPDATE es_subscription_leases SET expires_at = now() + $3::interval
          WHERE subscription = $1 AND member_id = $2 AND partition < $4 RETURNING partition`,
        [subscription.name, this.memberId, interval, count],
      );
      const mine = renewed.map((row) => row.partition).sort((a, b) => a - b);
      const kept = new Set(mine.slice(0, quota));
      const givenUp = mine.slice(quota);
      if (givenUp.length > 0) {
        await tx.query('DELETE FROM es_subscription_leases WHERE subscription = $1 AND member_id = $2 AND partition = ANY($3::int[])', [
          subscription.name,
          this.memberId,
          givenUp,
        ]);
      }
      if (kept.size < quota) {
        const taken = await tx.query<{ partition: number }>(
          `INSERT INTO es_subscription_leases (subscription, partition, member_id, expires_at)
           SELECT $1, p, $2, now() + $3::interval
             FROM generate_series(0, $4 - 1) AS p
            WHERE NOT EXISTS (SELECT 1 FROM es_subscription_leases l
                               WHERE l.subscription = $1 AND l.partition = p AND l.expires_at >= now())
            ORDER BY p LIMIT $5
           ON CONFLICT (subscription, partition) DO UPDATE SET member_id = EXCLUDED.member_id, expires_at = EXCLUDED.expires_at
            WHERE es_subscription_leases.expires_at < now()
           RETURNING partition`,
          [subscription.name, this.memberId, interval, count, quota - kept.size],
        );
        for (const row of taken) kept.add(row.partition);
      }
      decided.set(subscription.name, kept);
    }
    return decided;
  }
}
