import { Body, Controller, Delete, Get, HttpCode, HttpStatus, NotFoundException, Param, Put } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AppApi } from '../apps/auth/app-api.decorator';
import { CurrentApp } from '../apps/auth/current-app.decorator';
import type { AuthenticatedApp } from '../apps/apps.service';
import { ApiErrorResponses } from '../common/openapi';
import { identifierParamSchema, userSchema } from './user.dto';
import { profilePatchSchema } from './user-profile';
import { UsersService, type User } from './users.service';

/** The body of PUT: the SDK's createOrUpdateUser(identifier) sends none. */
const optionalProfilePatchSchema = profilePatchSchema.optional();

/** The app's users; /v3 routes are authenticated by the app's key and secret. */
@ApiTags('Users')
@AppApi()
@Controller('v3/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** Create or update. UsersService checks the profile again, for its other callers (inline users of a send request). */
  @Put(':identifier')
  @ApiOperation({
    summary: 'Create or update a user: fields sent replace the stored ones, null removes one, fields not sent are kept',
    description: 'The body may be left out: the user is then created with no profile (or left as it is).',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'The user as stored', standardSchema: userSchema })
  @ApiErrorResponses({ 400: 'The identifier or the profile is invalid; the message names every problem' })
  upsert(
    @CurrentApp() app: AuthenticatedApp,
    @Param('identifier', { schema: identifierParamSchema }) identifier: string,
    @Body({ schema: optionalProfilePatchSchema }) body: Record<string, unknown> | undefined,
  ): Promise<User> {
    return this.users.upsert(app.id, identifier, body ?? {});
  }

  @Delete(':identifier')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Delete a user and its profile',
    description: 'Later sends to it are discarded as unknown_recipient. A user that does not exist is already deleted: 204 as well.',
  })
  @ApiResponse({ status: HttpStatus.NO_CONTENT, description: 'Deleted' })
  @ApiErrorResponses({ 400: 'The identifier is invalid' })
  async delete(@CurrentApp() app: AuthenticatedApp, @Param('identifier', { schema: identifierParamSchema }) identifier: string): Promise<void> {
    await this.users.delete(app.id, identifier);
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

/**
 * What @engagespot/node 1.7's users.delete(identifier) calls: DELETE /v3/users{identifier}, the SDK
 * leaving out the slash. Answered as DELETE /v3/users/{identifier}, so that its users can switch
 * without a patched SDK; not in /docs, which describes the real route.
 */
@AppApi()
@Controller()
export class SdkUserDeletionController {
  constructor(private readonly users: UsersService) {}

  @Delete('v3/users:identifier')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiExcludeEndpoint()
  async delete(@CurrentApp() app: AuthenticatedApp, @Param('identifier', { schema: identifierParamSchema }) identifier: string): Promise<void> {
    await this.users.delete(app.id, identifier);
  }
}
