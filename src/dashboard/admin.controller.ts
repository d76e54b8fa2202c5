import { Controller, Get, HttpStatus, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { appListSchema } from '../apps/admin/create-app.dto';
import { AppsService, type AppSummary } from '../apps/apps.service';
import { ApiErrorResponses } from '../common/openapi';
import { listParkedCallbacksQuerySchema, parkedCallbackPageSchema } from '../whatsapp/tracking/parking/parked-callbacks.controller';
import { AppApiForwarding } from './app-api-forwarding';
import { DashboardApi } from './dashboard-session.guard';

/** What only the admin's session sees: every app, and the parked callbacks. */
@ApiTags('Dashboard')
@DashboardApi({ adminOnly: true })
@Controller('dashboard/api/admin')
export class DashboardAdminController {
  constructor(
    private readonly apps: AppsService,
    private readonly forwarding: AppApiForwarding,
  ) {}

  @Get('apps')
  @ApiOperation({ summary: 'Every app, to choose which one the dashboard shows (as GET /admin/apps)' })
  @ApiResponse({ status: HttpStatus.OK, description: 'The apps, oldest first', standardSchema: appListSchema })
  async listApps(): Promise<{ data: AppSummary[] }> {
    return { data: await this.apps.list() };
  }

  @Get('parked-callbacks')
  @ApiOperation({ summary: 'Gupshup callbacks kept without being applied, as GET /admin/parked-callbacks answers them' })
  @ApiResponse({ status: HttpStatus.OK, description: 'A page of parked callbacks', standardSchema: parkedCallbackPageSchema })
  @ApiErrorResponses({ 400: 'A parameter is invalid; the message says which and what it accepts' })
  parkedCallbacks(
    @Query({ schema: listParkedCallbacksQuerySchema }) _query: z.output<typeof listParkedCallbacksQuerySchema>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.forwarding.toAdminApi(request, reply, '/admin/parked-callbacks');
  }
}
