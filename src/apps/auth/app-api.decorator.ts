import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';
import { ApiErrorResponses } from '../../common/openapi';
import { API_KEY_HEADER, API_SECRET_HEADER, AppAuthGuard } from './app-auth.guard';

/** Names of the OpenAPI security schemes of the app API (declared in bootstrap.ts). */
export const API_KEY_SCHEME = 'apiKey';
export const API_SECRET_SCHEME = 'apiSecret';

/** A controller or route of the app API: authenticated by the app's key and secret headers, and documented so. */
export function AppApi(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    UseGuards(AppAuthGuard),
    ApiSecurity({ [API_KEY_SCHEME]: [], [API_SECRET_SCHEME]: [] }),
    ApiErrorResponses({
      401: `Missing or wrong ${API_KEY_HEADER} / ${API_SECRET_HEADER}`,
      503: 'The database is unreachable, or checking the credentials is taking too long: send the request again after Retry-After seconds',
    }),
  );
}
