import { ForbiddenException, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AdminToken, type AdminTokenSource } from './admin-token';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Whether `candidate` is the admin token, compared in constant time; false when the admin API is disabled. */
export function isAdminToken(source: AdminTokenSource, candidate: string): boolean {
  return source.kind !== 'disabled' && timingSafeEqual(digest(candidate), digest(source.token));
}

/**
 * `Authorization: Bearer {ADMIN_TOKEN}`. The token is compared through its SHA-256 digest with
 * timingSafeEqual: equal lengths whatever was sent, and no early exit on the first differing byte.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly adminToken: AdminToken) {}

  canActivate(context: ExecutionContext): boolean {
    const source = this.adminToken.source;
    if (source.kind === 'disabled') {
      throw new ForbiddenException(
        'The admin API is disabled: set ADMIN_TOKEN (at least 16 characters) and restart the service to enable it. Apps can also be created without it: npm run cli -- apps:create NAME',
      );
    }
    const http = context.switchToHttp();
    const authorization = http.getRequest<FastifyRequest>().headers.authorization?.trim();
    const unauthorized = (message: string) => {
      http.getResponse<FastifyReply>().header('WWW-Authenticate', 'Bearer realm="admin"');
      return new UnauthorizedException(message);
    };
    if (!authorization) throw unauthorized('Missing Authorization header: send Authorization: Bearer <ADMIN_TOKEN>');
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw unauthorized('The Authorization header must be "Bearer <ADMIN_TOKEN>"');
    if (!isAdminToken(source, match[1])) throw unauthorized('Invalid admin token: send the ADMIN_TOKEN the service was started with');
    return true;
  }
}
