import { Body, Controller, Get, HttpStatus, NotFoundException, Param, Put } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AppApi } from '../apps/auth/app-api.decorator';
import { CurrentApp } from '../apps/auth/current-app.decorator';
import type { AuthenticatedApp } from '../apps/apps.service';
import { ApiErrorResponses } from '../common/openapi';
import { identifierParamSchema, userSchema } from './user.dto';
import { profilePatchSchema } from './user-profile';
import { UsersService, type User } from './users.service';

/** The app's users; /v3 routes are authenticated by the app's key and secret. */
@ApiTags('Users')
@AppApi()
@Controller('v3/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** Create or update. UsersService checks the profile again, for its other callers (inline users of a send request). */
  @Put(':identifier')
  @ApiOperation({ summary: 'Create or update a user: fields sent replace the stored ones, null removes one, fields not sent are kept' })
  @ApiResponse({ status: HttpStatus.OK, description: 'The user as stored', standardSchema: userSchema })
  @ApiErrorResponses({ 400: 'The identifier or the profile is invalid; the message names every problem' })
  upsert(
    @CurrentApp() app: AuthenticatedApp,
    @Param('identifier', { schema: identifierParamSchema }) identifier: string,
    @Body({ schema: profilePatchSchema }) body: Record<string, unknown>,
  ): Promise<User> {
    return this.users.upsert(app.id, identifier, body);
  }

  @Get(':identifier')
  @ApiOperation({ summary: 'One user' })
  @ApiResponse({ status: HttpStatus.OK, description: 'The user', standardSchema: userSchema })
  @ApiErrorResponses({ 400: 'The identifier is invalid', 404: 'No such user in this app' })
  async get(@CurrentApp() app: AuthenticatedApp, @Param('identifier', { schema: identifierParamSchema }) identifier: string): Promise<User> {
    const user = await this.users.get(app.id, identifier);
    if (!user) throw new NotFoundException(`No user "${identifier}" in this app: create it with PUT /v3/users/${encodeURIComponent(identifier)}`);
    return user;
  }
}
