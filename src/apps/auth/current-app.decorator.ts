import { createParamDecorator, InternalServerErrorException, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedApp } from '../apps.service';

/** Where AppAuthGuard leaves the authenticated app on the request. */
export const AUTHENTICATED_APP = 'engagespotApp';

export type RequestWithApp = { [AUTHENTICATED_APP]?: AuthenticatedApp };

/** The app the request authenticated as (`AuthenticatedApp {id, name, apiKey}`); needs AppAuthGuard. */
export const CurrentApp = createParamDecorator((_: unknown, context: ExecutionContext): AuthenticatedApp => {
  const app = context.switchToHttp().getRequest<RequestWithApp>()[AUTHENTICATED_APP];
  // A route using @CurrentApp() outside /v3 without the guard is a programming error, not the caller's.
  if (!app) throw new InternalServerErrorException('route is not protected by AppAuthGuard');
  return app;
});
