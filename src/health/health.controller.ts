import { Controller, Get, HttpCode, HttpStatus, Res, type OnModuleDestroy } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Database } from '../database/database';
import { ReadDatabase } from '../database/read-database';
import { SubscriptionManager, type SubscriptionLag } from '../event-store';
import { healthReportSchema } from './health-report.dto';

export interface HealthReport {
  status: 'ok' | 'error' | 'shutting_down';
  database: 'up' | 'down';
  projectionLag: Record<string, SubscriptionLag>;
  /** With DATABASE_READ_URL: how far the replica the query routes read is behind. */
  readReplica?: { status: 'up' | 'down'; lagSeconds?: number; error?: string };
  /**
   * With SUBSCRIPTION_PARTITIONS > 1, on an instance that runs subscriptions: the parts of each
   * cut subscription it runs now, numbered from 1 as in their checkpoints' names.
   */
  subscriptionPartitions?: Record<string, number[]>;
  error?: string;
}

@ApiTags('Operations')
@Controller('health')
export class HealthController implements OnModuleDestroy {
  /**
   * Set as the shutdown begins (Nest's first hook), while the dispatcher and the subscriptions
   * drain and requests in flight finish: load balancers and orchestrators send new work elsewhere.
   */
  private shuttingDown = false;

  constructor(
    private readonly db: Database,
    private readonly readDb: ReadDatabase,
    private readonly subscriptions: SubscriptionManager,
  ) {}

  onModuleDestroy(): void {
    this.shuttingDown = true;
  }

  /** 200 while the database answers; 503, with the reason, when it does not or while the service shuts down. */
  @Get()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Whether the service can do its work: the database answers; how far behind each projection is' })
  @ApiResponse({ status: HttpStatus.OK, description: 'Healthy', standardSchema: healthReportSchema })
  @ApiResponse({ status: HttpStatus.SERVICE_UNAVAILABLE, description: 'Not healthy: the report says why', standardSchema: healthReportSchema })
  async health(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    if (this.shuttingDown) {
      reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      const database = await this.db.query('SELECT 1').then(() => 'up' as const, () => 'down' as const);
      return { status: 'shutting_down', database, projectionLag: {}, error: 'the service is shutting down' };
    }
    try {
      await this.db.query('SELECT 1');
      const report: HealthReport = { status: 'ok', database: 'up', projectionLag: await this.subscriptions.lag() };
      const held = this.subscriptions.partitionsHeld();
      if (Object.keys(held).length > 0) {
        report.subscriptionPartitions = Object.fromEntries(Object.entries(held).map(([name, partitions]) => [name, partitions.map((index) => index + 1)]));
      }
      if (this.readDb.isReplica) report.readReplica = await this.replicaReport();
      return report;
    } catch (error) {
      reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'error', database: 'down', projectionLag: {}, error: `database unreachable: ${(error as Error).message}` };
    }
  }

  /** The replica being down fails the reads, not the service: it is reported, and /health stays 200. */
  private async replicaReport(): Promise<NonNullable<HealthReport['readReplica']>> {
    try {
      return { status: 'up', lagSeconds: await this.readDb.replicationLagSeconds() };
    } catch (error) {
      return { status: 'down', error: `read replica unreachable: ${(error as Error).message}` };
    }
  }
}
