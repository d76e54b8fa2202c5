import {
  applyDecorators,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiCookieAuth } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiErrorResponses } from '../common/openapi';
import { AppConfig } from '../config/app-config';
import { DashboardSessions, type DashboardSession } from './dashboard-sessions';

/** The session cookie: HttpOnly, SameSite=Strict, sent only to /dashboard. */
export const SESSION_COOKIE = 'wa_dashboard_session';
/** Name of the OpenAPI security scheme of the dashboard API (declared in bootstrap.ts). */
export const DASHBOARD_SESSION_SCHEME = 'dashboardSession';
/**
 * Every write of the dashboard API carries this header. A page of another site can make a browser
 * send a form or a simple request, cookie or not, but not a custom header without a CORS
 * preflight, which this service never grants; SameSite=Strict already keeps the cookie off
 * cross-site requests, and a present Origin must be this service's own.
 */
export const CSRF_HEADER = 'X-Dashboard-Request';

const SESSION_ON_REQUEST = Symbol('dashboardSession');
const ADMIN_ONLY = 'dashboard:adminOnly';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type RequestWithSession = FastifyRequest & { [SESSION_ON_REQUEST]?: DashboardSession };

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

/** A write must name itself a dashboard request, and come from this service's own pages. */
export function checkSameOrigin(request: FastifyRequest, config: AppConfig): void {
  if (SAFE_METHODS.has(request.method)) return;
  if (request.headers[CSRF_HEADER.toLowerCase()] === undefined) {
    throw new ForbiddenException(`Dashboard writes must carry the ${CSRF_HEADER} header (the dashboard's pages send it): refused as a possible cross-site request`);
  }
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new ForbiddenException('The Origin header is not a URL: refused as a possible cross-site request');
  }
  const allowed = new Set([request.headers.host, new URL(config.publicBaseUrl).host]);
  if (!allowed.has(host)) throw new ForbiddenException(`Requests from ${origin} are refused: the dashboard accepts writes from its own pages only`);
}

/** The session the guard found; only on routes behind DashboardSessionGuard. */
export function sessionOf(request: FastifyRequest): DashboardSession {
  const session = (request as RequestWithSession)[SESSION_ON_REQUEST];
  if (!session) throw new UnauthorizedException('Not signed in to the dashboard');
  return session;
}

/** Routes of the dashboard API: a live session cookie, and for writes the same-origin checks. */
@Injectable()
export class DashboardSessionGuard implements CanActivate {
  constructor(
    private readonly sessions: DashboardSessions,
    private readonly config: AppConfig,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithSession>();
    const sessionId = readCookie(request, SESSION_COOKIE);
    const session = sessionId ? await this.sessions.find(sessionId) : null;
    if (!session) throw new UnauthorizedException('Not signed in, or the session has expired: sign in again at /dashboard');
    checkSameOrigin(request, this.config);
    const adminOnly = this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, [context.getHandler(), context.getClass()]);
    if (adminOnly && session.kind !== 'admin') throw new ForbiddenException('Only the admin sees this: sign in with the admin token');
    request[SESSION_ON_REQUEST] = session;
    return true;
  }
}

/** A route of the dashboard API, documented with its cookie. */
export function DashboardApi(options: { adminOnly?: boolean } = {}): ClassDecorator & MethodDecorator {
  return applyDecorators(
    SetMetadata(ADMIN_ONLY, options.adminOnly ?? false),
    UseGuards(DashboardSessionGuard),
    ApiCookieAuth(DASHBOARD_SESSION_SCHEME),
    ApiErrorResponses({
      401: 'Not signed in to the dashboard, or the session expired',
      403: options.adminOnly
        ? `Not the admin's session, or a write without the ${CSRF_HEADER} header or from another origin`
        : `A write without the ${CSRF_HEADER} header or from another origin`,
    }),
  );
}
