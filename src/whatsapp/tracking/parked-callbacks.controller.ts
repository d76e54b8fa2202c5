import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { AdminGuard } from '../../apps/admin/admin.guard';
import { Database } from '../../database/database';
import { listParkedCallbacks, type ParkedCallbackListing, type ParkedState } from './parked-callbacks';

export class ListParkedCallbacksQuery {
  /** Only this app's callbacks. */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  appId?: string;

  /** `waiting`: for a message not known (yet); `invalid`: a body that is no readable callback. */
  @IsOptional()
  @IsIn(['waiting', 'invalid'], { message: 'state must be waiting or invalid' })
  state?: ParkedState;

  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number from 1 to 500' })
  @Min(1, { message: 'limit must be a whole number from 1 to 500' })
  @Max(500, { message: 'limit must be a whole number from 1 to 500' })
  limit?: number;

  /** nextCursor of the previous page. */
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;
}

const DEFAULT_LIMIT = 50;

@ApiTags('Admin')
@ApiBearerAuth()
@Controller('admin/parked-callbacks')
@UseGuards(AdminGuard)
export class ParkedCallbacksController {
  constructor(private readonly db: Database) {}

  @Get()
  @ApiOperation({
    summary: 'Gupshup callbacks kept without being applied, newest first',
    description:
      'waiting: a delivery report for a Gupshup or WhatsApp id no message of the app has (yet); it is applied by itself when the message is sent. ' +
      'invalid: a JSON body that is no Gupshup callback this service can read. Each row holds the body as received.',
  })
  @ApiOkResponse({ description: '{"data": [...], "nextCursor": string | null}' })
  async list(@Query() query: ListParkedCallbacksQuery): Promise<{ data: ParkedCallbackListing[]; nextCursor: string | null }> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const data = await listParkedCallbacks(this.db, { appId: query.appId, state: query.state, beforeId: query.cursor, limit });
    return { data, nextCursor: data.length === limit ? data[data.length - 1].id : null };
  }
}
