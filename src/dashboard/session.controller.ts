import {
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Logger,
  NotFoundException,
  Optional,
  Post,
  Put,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isAdminToken } from '../apps/admin/admin.guard';
import { AdminToken } from '../apps/admin/admin-token';
import { AppsService, type AuthenticatedApp } from '../apps/apps.service';
import { ApiErrorResponses } from '../common/openapi';
import { AppConfig } from '../config/app-config';
import { MODULE_ROUTING, mountedPath, type ModuleRouting } from '../module/module-options';
import {
  chooseAppBodySchema,
  dashboardSessionSchema,
  signInBodySchema,
  type ChooseAppBody,
  type DashboardSessionView,
  type SignInBody,
} from './dashboard.dto';
import { checkSameOrigin, DashboardApi, sessionOf, SESSION_COOKIE } from './dashboard-session.guard';
import { DashboardSessions, type DashboardSession } from './dashboard-sessions';

/** Signing in and out of the dashboard; the cookie is the only credential a browser keeps. */
@ApiTags('Dashboard')
@Controller('dashboard/api/session')
export class DashboardSessionController {
  private readonly logger = new Logger('Dashboard');

  constructor(
    private readonly sessions: DashboardSessions,
    private readonly apps: AppsService,
    private readonly adminToken: AdminToken,
    private readonly config: AppConfig,
    @Optional() @Inject(MODULE_ROUTING) private readonly routing?: ModuleRouting,
  ) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "Sign in to the dashboard with an app's API key and secret, or with the admin token",
    description: `Sets an HttpOnly, SameSite=Strict cookie (${SESSION_COOKIE}) that lasts DASHBOARD_SESSION_TTL_MINUTES; the credentials are not kept. Needs the X-Dashboard-Request header.`,
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'Signed in', standardSchema: dashboardSessionSchema })
  @ApiErrorResponses({
    400: 'The body is invalid; the message says what to send',
    401: 'The key and secret, or the admin token, are wrong',
    403: 'Admin sign-in while the admin API is disabled, or a request from another site',
  })
  async signIn(@Body({ schema: signInBodySchema }) body: SignInBody, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<DashboardSessionView> {
    // Checked after the body, so that a malformed request learns what to fix first.
    checkSameOrigin(request, this.config);
    let created: { sessionId: string; session: DashboardSession };
    let app: AuthenticatedApp | null;
    if (body.adminToken !== undefined) {
      const source = this.adminToken.source;
      if (source.kind === 'disabled') throw new ForbiddenException('The admin token is not enabled on this service: set ADMIN_TOKEN and restart it, or sign in with an app');
      if (!isAdminToken(source, body.adminToken)) {
        this.logger.warn({ message: 'dashboard sign-in refused: wrong admin token', kind: 'admin' });
        throw new UnauthorizedException('Wrong admin token: use the ADMIN_TOKEN the service was started with');
      }
      // The admin starts on the oldest app, and may choose another.
      const [first] = await this.apps.list();
      app = first ?? null;
      created = await this.sessions.create('admin', app?.id ?? null);
    } else {
      app = await this.apps.authenticate(body.apiKey!, body.apiSecret!);
      if (!app) {
        this.logger.warn({ message: 'dashboard sign-in refused: wrong API key or secret', kind: 'app' });
        throw new UnauthorizedException('Wrong API key or API secret: use the ones given when the app was created');
      }
      created = await this.sessions.create('app', app.id);
    }
    this.logger.log({ message: 'dashboard sign-in', kind: created.session.kind, appId: app?.id });
    reply.header('set-cookie', this.cookie(created.sessionId, this.sessions.ttlSeconds));
    return viewOf(created.session, app);
  }

  @Get()
  @DashboardApi()
  @ApiOperation({ summary: 'Who the dashboard is signed in as, and until when' })
  @ApiResponse({ status: HttpStatus.OK, description: 'The session', standardSchema: dashboardSessionSchema })
  async current(@Req() request: FastifyRequest): Promise<DashboardSessionView> {
    const session = sessionOf(request);
    return viewOf(session, session.appId ? await this.apps.findById(session.appId) : null);
  }

  @Put('app')
  @DashboardApi({ adminOnly: true })
  @ApiOperation({ summary: 'The admin: show another app' })
  @ApiResponse({ status: HttpStatus.OK, description: 'The session, showing that app', standardSchema: dashboardSessionSchema })
  @ApiErrorResponses({ 400: 'The app id is not a UUID', 404: 'No app with this id' })
  async chooseApp(@Req() request: FastifyRequest, @Body({ schema: chooseAppBodySchema }) body: ChooseAppBody): Promise<DashboardSessionView> {
    const session = sessionOf(request);
    const app = await this.apps.findById(body.appId);
    if (!app) throw new NotFoundException(`No app with id ${body.appId}: choose one of GET /dashboard/api/admin/apps`);
    await this.sessions.chooseApp(session, app.id);
    return viewOf({ ...session, appId: app.id }, app);
  }

  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  @DashboardApi()
  @ApiOperation({ summary: 'Sign out: the session ends at once, on every tab' })
  @ApiResponse({ status: HttpStatus.NO_CONTENT, description: 'Signed out' })
  async signOut(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    await this.sessions.end(sessionOf(request));
    reply.header('set-cookie', this.cookie('', 0));
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    const secure = this.config.publicBaseUrl.startsWith('https:') ? '; Secure' : '';
    return `${SESSION_COOKIE}=${value}; Path=${mountedPath(this.routing, '/dashboard')}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`;
  }
}

function viewOf(session: DashboardSession, app: AuthenticatedApp | null): DashboardSessionView {
  return {
    kind: session.kind,
    app: app ? { id: app.id, name: app.name, apiKey: app.apiKey } : null,
    expiresAt: session.expiresAt.toISOString(),
  };
}
