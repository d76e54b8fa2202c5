import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiErrorResponses } from '../../common/openapi';
import { AdminGuard } from './admin.guard';

/** Name of the OpenAPI security scheme of the admin API (declared in bootstrap.ts). */
export const ADMIN_SCHEME = 'adminToken';

/** A controller of the admin API: `Authorization: Bearer {ADMIN_TOKEN}`, and documented so. */
export function AdminApi(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    UseGuards(AdminGuard),
    ApiBearerAuth(ADMIN_SCHEME),
    ApiErrorResponses({
      401: 'Missing or wrong Authorization: Bearer <ADMIN_TOKEN>',
      403: 'The admin API is disabled: the service was started without ADMIN_TOKEN',
    }),
  );
}
