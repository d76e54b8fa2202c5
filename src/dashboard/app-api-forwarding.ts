import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, InjectOptions } from 'fastify';
import { AdminToken } from '../apps/admin/admin-token';
import { AppsService, type AuthenticatedApp } from '../apps/apps.service';
import { runAsApp } from '../apps/auth/acting-app';
import { MODULE_ROUTING, mountedPath, type ModuleRouting } from '../module/module-options';
import type { DashboardSession } from './dashboard-sessions';

/** A path below a prefix: segments of URL characters, none of them `.` or `..` once decoded. */
const SEGMENT = /^[A-Za-z0-9._~%+@:!$&'()*,;=-]+$/;

/** Answer headers passed on to the browser; the rest (cookies, hop-by-hop headers) stay behind. */
const KEPT_HEADERS = ['content-type', 'x-request-id', 'location', 'retry-after'];

/**
 * The dashboard's calls, answered by the very routes of the app and admin APIs: the request is
 * dispatched inside the process (Fastify's inject, no socket) as the session's app, so that the
 * dashboard shows exactly what the API answers, with the same checks, errors and isolation
 * between apps, and gains each route the API gains (templates, suppressions, ...) without a
 * second implementation.
 */
@Injectable()
export class AppApiForwarding {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly apps: AppsService,
    private readonly adminToken: AdminToken,
    @Optional() @Inject(MODULE_ROUTING) private readonly routing?: ModuleRouting,
  ) {}

  /** The app a session acts as; an admin who has not chosen one is told to. */
  async appOf(session: DashboardSession): Promise<AuthenticatedApp> {
    const app = session.appId ? await this.apps.findById(session.appId) : null;
    if (!app) {
      if (session.kind === 'admin') throw new ConflictException('Choose an app first: PUT /dashboard/api/session/app {"appId": "..."} (GET /dashboard/api/admin/apps lists them)');
      throw new NotFoundException('The app of this session no longer exists: sign in again');
    }
    return app;
  }

  /** `/dashboard/api/v3/...` answered by `/v3/...` as the session's app (both under a host's routePrefix, if any). */
  async toAppApi(session: DashboardSession, request: FastifyRequest, reply: FastifyReply, prefix: string): Promise<void> {
    const app = await this.appOf(session);
    const target = `${mountedPath(this.routing, '/v3')}/${this.pathBelow(request.url, mountedPath(this.routing, prefix))}${queryOf(request.url)}`;
    const answer = await runAsApp(app, () => this.inject(request, target, {}));
    this.relay(answer, reply);
  }

  /** An admin API route (a GET), with the service's admin token: only for an admin session, checked by the caller. */
  async toAdminApi(request: FastifyRequest, reply: FastifyReply, path: string): Promise<void> {
    const source = this.adminToken.source;
    const authorization: Record<string, string> = source.kind === 'disabled' ? {} : { authorization: `Bearer ${source.token}` };
    this.relay(await this.inject(request, `${mountedPath(this.routing, path)}${queryOf(request.url)}`, authorization), reply);
  }

  private pathBelow(url: string, prefix: string): string {
    const path = url.split('?', 1)[0];
    const rest = path.startsWith(prefix) ? path.slice(prefix.length).replace(/^\/+/, '') : '';
    const segments = rest.split('/');
    const valid = segments.every((segment) => {
      if (!SEGMENT.test(segment)) return false;
      try {
        const decoded = decodeURIComponent(segment);
        return decoded !== '.' && decoded !== '..' && !/[/\\]/.test(decoded);
      } catch {
        return false;
      }
    });
    if (!valid) throw new BadRequestException(`Not a path of the app API: ${prefix}/ must be followed by the path of a /v3 route, e.g. ${prefix}/messages`);
    return rest;
  }

  private async inject(request: FastifyRequest, url: string, extraHeaders: Record<string, string>) {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const headers: Record<string, string> = { ...extraHeaders, 'x-request-id': String(request.id) };
    for (const name of ['accept', 'idempotency-key']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const options: InjectOptions = { method: request.method as InjectOptions['method'], url, headers };
    if (request.body !== undefined && request.body !== null && !['GET', 'HEAD'].includes(request.method)) {
      headers['content-type'] = 'application/json';
      options.payload = forwardedBody(request.body);
    }
    return fastify.inject(options);
  }

  private relay(answer: { statusCode: number; headers: Record<string, unknown>; rawPayload: Buffer }, reply: FastifyReply): void {
    reply.code(answer.statusCode).header('cache-control', 'no-store');
    for (const name of KEPT_HEADERS) {
      const value = answer.headers[name];
      if (typeof value === 'string') reply.header(name, value);
    }
    void reply.send(answer.rawPayload);
  }
}

/**
 * The parsed body written out again for the /v3 route. Writing recurses once per level, so a body
 * nested thousands of levels deep (which parsing took) would overflow the stack: it is refused,
 * as no /v3 route takes one.
 */
function forwardedBody(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new BadRequestException('The body nests objects or lists too deeply (thousands of levels): send the JSON body the /v3 route takes');
  }
}

function queryOf(url: string): string {
  const index = url.indexOf('?');
  return index < 0 ? '' : url.slice(index);
}
