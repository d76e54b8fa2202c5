import { Controller, Delete, Get, HttpStatus, Patch, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrorResponses } from '../common/openapi';
import { AppApiForwarding } from './app-api-forwarding';
import { forwardedAnswerSchema } from './dashboard.dto';
import { DashboardApi, sessionOf } from './dashboard-session.guard';

const PREFIX = '/dashboard/api/v3';
/** Whatever the /v3 route of the same path reads, checked by that route. */
const FORWARDED_BODY = { type: 'object' as const, description: 'The body of the app API route of the same path under /v3', additionalProperties: {} };
const DESCRIPTION =
  'Every route of the app API (/v3/...) is reachable here with the dashboard session instead of the app headers: ' +
  '/dashboard/api/v3/messages answers as GET /v3/messages for the session\'s app, with the same parameters, bodies, answers and errors.';

/** The app API behind the dashboard's session cookie (see AppApiForwarding). */
@ApiTags('Dashboard')
@DashboardApi()
@ApiErrorResponses({ 409: 'The admin has not chosen an app yet' })
@ApiParam({ name: 'path', required: true, description: 'The path of an app API route below /v3, e.g. messages or messages/{messageId}', schema: { type: 'string' } })
@Controller('dashboard/api/v3')
export class DashboardAppApiController {
  constructor(private readonly forwarding: AppApiForwarding) {}

  @Get('*')
  @ApiOperation({ summary: "Read the session's app through the app API", description: DESCRIPTION })
  @ApiResponse({ status: HttpStatus.OK, description: 'As the /v3 route answers', standardSchema: forwardedAnswerSchema })
  get(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forwarding.toAppApi(sessionOf(request), request, reply, PREFIX);
  }

  @Post('*')
  @ApiOperation({ summary: "Act on the session's app through the app API", description: DESCRIPTION })
  @ApiBody({ schema: FORWARDED_BODY, required: false })
  @ApiResponse({ status: HttpStatus.OK, description: 'As the /v3 route answers', standardSchema: forwardedAnswerSchema })
  post(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forwarding.toAppApi(sessionOf(request), request, reply, PREFIX);
  }

  @Put('*')
  @ApiOperation({ summary: "Change the session's app through the app API", description: DESCRIPTION })
  @ApiBody({ schema: FORWARDED_BODY, required: false })
  @ApiResponse({ status: HttpStatus.OK, description: 'As the /v3 route answers', standardSchema: forwardedAnswerSchema })
  put(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forwarding.toAppApi(sessionOf(request), request, reply, PREFIX);
  }

  @Patch('*')
  @ApiOperation({ summary: "Change the session's app through the app API", description: DESCRIPTION })
  @ApiBody({ schema: FORWARDED_BODY, required: false })
  @ApiResponse({ status: HttpStatus.OK, description: 'As the /v3 route answers', standardSchema: forwardedAnswerSchema })
  patch(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forwarding.toAppApi(sessionOf(request), request, reply, PREFIX);
  }

  @Delete('*')
  @ApiOperation({ summary: "Remove from the session's app through the app API", description: DESCRIPTION })
  @ApiResponse({ status: HttpStatus.NO_CONTENT, description: 'As the /v3 route answers' })
  remove(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forwarding.toAppApi(sessionOf(request), request, reply, PREFIX);
  }
}
