import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AppAuthGuard } from '../../apps/auth/app-auth.guard';

/** Names of the OpenAPI security schemes (declared in bootstrap.ts): `@ApiSecurity(API_KEY_SCHEME)` and so on. */
export const API_KEY_SCHEME = 'apiKey';
export const API_SECRET_SCHEME = 'apiSecret';
/** The bearer scheme of the admin API: the default name of `@ApiBearerAuth()`. */
export const ADMIN_SCHEME = 'bearer';

/** A controller of the app API: authenticated by the app's key and secret, and documented so. */
export function AppApi(): ClassDecorator {
  return applyDecorators(
    UseGuards(AppAuthGuard),
    ApiSecurity({ [API_KEY_SCHEME]: [], [API_SECRET_SCHEME]: [] }),
    ApiUnauthorizedResponse({ description: 'Missing or wrong X-ENGAGESPOT-API-KEY / X-ENGAGESPOT-API-SECRET' }),
  );
}
