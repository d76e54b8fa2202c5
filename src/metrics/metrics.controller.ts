import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyReply } from 'fastify';
import { ProjectionMetrics } from './projection-metrics';
import { ScrapeTimeMetrics } from './scrape-time-metrics';

/** PrometheusModule's /metrics, with the gauges that are read from the database refreshed first. */
@ApiTags('Operations')
@Controller()
export class MetricsController extends PrometheusController {
  constructor(
    private readonly projectionMetrics: ProjectionMetrics,
    private readonly scrapeTimeMetrics: ScrapeTimeMetrics,
  ) {
    super();
  }

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics: Node process, HTTP requests, Gupshup calls, dispatch outcomes and jobs, callbacks, projection lag, messages per status' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format', schema: { type: 'string' } })
  async index(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    await Promise.all([this.projectionMetrics.refresh(), this.scrapeTimeMetrics.refresh()]);
    return super.index(reply);
  }
}
