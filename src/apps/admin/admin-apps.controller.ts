import { Body, Controller, Get, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { AppsService, type AppSummary, type CreatedApp } from '../apps.service';
import { AdminGuard } from './admin.guard';
import { CreateAppDto } from './create-app.dto';

@Controller('admin/apps')
@UseGuards(AdminGuard)
export class AdminAppsController {
  constructor(private readonly apps: AppsService) {}

  /** The response is the only place the app's secret ever appears. */
  @Post()
  @HttpCode(HttpStatus.CREATED)
  create(@Body() body: CreateAppDto): Promise<CreatedApp> {
    return this.apps.create(body.name, 'admin-api');
  }

  @Get()
  async list(): Promise<{ data: AppSummary[] }> {
    return { data: await this.apps.list() };
  }
}
