import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { setRequestAppId } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { AppsService } from '../apps.service';
import { AUTHENTICATED_APP, type RequestWithApp } from './current-app.decorator';

export const API_KEY_HEADER = 'X-ENGAGESPOT-API-KEY';
export const API_SECRET_HEADER = 'X-ENGAGESPOT-API-SECRET';

/** The prefix of the app API: every route under it needs an app's credentials. */
export const APP_API_PREFIX = '/v3';

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  const text = Array.isArray(value) ? value.join(',') : value;
  return text?.trim() || undefined;
}

function isAppApiRoute(request: FastifyRequest): boolean {
  const route = request.routeOptions?.url ?? request.url;
  return route === APP_API_PREFIX || route.startsWith(`${APP_API_PREFIX}/`);
}

/**
 * Authenticates a request with the app's API key and secret headers and puts the app on the
 * request for @CurrentApp(). Registered globally for every route under /v3; it may also be
 * used explicitly with @UseGuards(AppAuthGuard) on any route (it then applies wherever it is put).
 */
@Injectable()
export class AppAuthGuard implements CanActivate {
  constructor(private readonly apps: AppsService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & RequestWithApp>();
    if (request[AUTHENTICATED_APP]) return true;
    const apiKey = header(request, API_KEY_HEADER);
    const apiSecret = header(request, API_SECRET_HEADER);
    const missing = [apiKey ? null : API_KEY_HEADER, apiSecret ? null : API_SECRET_HEADER].filter(Boolean);
    if (missing.length) {
      throw new UnauthorizedException(
        `Missing ${missing.join(' and ')} header${missing.length > 1 ? 's' : ''}: send your app's API key in ${API_KEY_HEADER} and its secret in ${API_SECRET_HEADER} (both are given when the app is created with POST /admin/apps or npm run cli -- apps:create NAME)`,
      );
    }
    const app = await this.apps.authenticate(apiKey!, apiSecret!);
    if (!app) {
      throw new UnauthorizedException(
        `Authentication failed: the ${API_KEY_HEADER} and ${API_SECRET_HEADER} headers do not match any app. Make sure you are using the right API credentials`,
      );
    }
    request[AUTHENTICATED_APP] = app;
    setRequestAppId(app.id);
    return true;
  }
}

/** The global form of AppAuthGuard: it acts on /v3 routes only and lets every other route through (the service on its own only). */
@Injectable()
export class AppApiGuard implements CanActivate {
  constructor(
    private readonly guard: AppAuthGuard,
    private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> | boolean {
    // In another application, /v3 routes may be the host's own: the module's routes are guarded by @AppApi only.
    if (this.config.host) return true;
    if (context.getType() !== 'http' || !isAppApiRoute(context.switchToHttp().getRequest<FastifyRequest>())) return true;
    return this.guard.canActivate(context);
  }
}
