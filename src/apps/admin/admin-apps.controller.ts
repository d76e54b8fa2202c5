import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { ApplicationBuses } from '../../common/application-cqrs';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { noQueryParameters } from '../../common/input-schemas';
import { ApiErrorResponses } from '../../common/openapi';
import { AppsService, type AppSummary, type CreatedApp } from '../apps.service';
import { AdminApi } from './admin-api.decorator';
import { CreateWhatsAppAppCommand } from './create-whatsapp-app.command';
import { appListSchema, createAppBodySchema, createdAppSchema, type CreateAppBody } from './create-app.dto';

@ApiTags('Admin')
@AdminApi()
@Controller('admin/apps')
export class AdminAppsController {
  constructor(
    private readonly apps: AppsService,
    private readonly buses: ApplicationBuses,
  ) {}

  /** The response is the only place the app's secret ever appears. */
  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Create an app (a tenant) with a fresh API key and secret' })
  @ApiResponse({ status: HttpStatus.CREATED, description: 'The app, with its API secret: shown only here', standardSchema: createdAppSchema })
  @ApiErrorResponses({ 400: 'The body is invalid; the message names every problem' })
  create(@Body({ schema: createAppBodySchema }) body: CreateAppBody): Promise<CreatedApp> {
    return this.buses.commandBus.execute(new CreateWhatsAppAppCommand(body, 'admin-api'));
  }

  @Get()
  @ApiOperation({ summary: 'Every app, oldest first (no secrets)' })
  @ApiResponse({ status: HttpStatus.OK, description: 'The apps', standardSchema: appListSchema })
  @ApiErrorResponses({ 400: 'A query parameter was given: this list takes none' })
  async list(@Query({ schema: noQueryParameters }) _query: object): Promise<{ data: AppSummary[] }> {
    return { data: await this.apps.list() };
  }
}
