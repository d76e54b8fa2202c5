import { BadRequestException, Body, Controller, Get, NotFoundException, Param, Put } from '@nestjs/common';
import { CurrentApp } from '../apps/auth/current-app.decorator';
import type { AuthenticatedApp } from '../apps/apps.service';
import { identifierError } from './user-identifier';
import { UsersService, type User } from './users.service';

/** The app's users; /v3 routes are authenticated by the app's key and secret. */
@Controller('v3/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** Create or update; the body is free-form, so it is validated by UsersService rather than a DTO. */
  @Put(':identifier')
  upsert(@CurrentApp() app: AuthenticatedApp, @Param('identifier') identifier: string, @Body() body: unknown): Promise<User> {
    return this.users.upsert(app.id, identifier, body);
  }

  @Get(':identifier')
  async get(@CurrentApp() app: AuthenticatedApp, @Param('identifier') identifier: string): Promise<User> {
    const problem = identifierError(identifier);
    if (problem) throw new BadRequestException(problem);
    const user = await this.users.get(app.id, identifier);
    if (!user) throw new NotFoundException(`No user "${identifier}" in this app: create it with PUT /v3/users/${encodeURIComponent(identifier)}`);
    return user;
  }
}
