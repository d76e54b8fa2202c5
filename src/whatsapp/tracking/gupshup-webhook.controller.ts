import {
  BadRequestException,
  Controller,
  HttpCode,
  HttpStatus,
  Logger,
  NotFoundException,
  Param,
  Post,
  Req,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBody, ApiConsumes, ApiOperation, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CallbackTokenService, type CallbackVerdict } from '../../apps';
import { CALLBACK_TOKEN_SECURITY } from '../../apps/callback-tokens/callback-token.openapi';
import { ApiErrorResponses, requestBodySchema } from '../../common/openapi';
import { CallbackIngestionService, decodeCallbackBody } from './callback-ingestion.service';
import { isTransientDatabaseError } from './database-errors';
import { gupshupCallbackSchema, webhookApiKeyParamSchema } from './gupshup-callback.dto';
import { TrackingMetrics } from './tracking.metrics';
import { WebhookAppCache } from './webhook-app-cache';
import { GUPSHUP_CALLBACK_ROUTE } from './webhook-body-parser';

/** Shown in logs instead of a whole API key. */
function keyHint(apiKey: string): string {
  return `…${apiKey.slice(-4)}`;
}

/**
 * Where Gupshup posts delivery callbacks (v2 and v3 formats). The API key in the path is the
 * credential. 200 with an empty body once what the callback says is committed; 404 for an
 * unknown key; 400 for a body that is not JSON; 413 past the webhook's body limit. A JSON body
 * that is no callback we can read is kept as "invalid" (GET /admin/parked-callbacks) and answered
 * 200, since Gupshup would only send it again. 503 when the database cannot store it now.
 */
@ApiTags('Delivery tracking')
@Controller('api/v1/apps/:apiKey/webhook')
export class GupshupWebhookController {
  private readonly logger = new Logger('DeliveryTracking');

  constructor(
    private readonly apps: WebhookAppCache,
    private readonly ingestion: CallbackIngestionService,
    private readonly metrics: TrackingMetrics,
    private readonly callbackTokens: CallbackTokenService,
  ) {}

  @Post('gupshup_whatsapp')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "Gupshup's delivery callbacks (v2 and v3 formats): set this URL as the Gupshup app's callback URL",
    description:
      'Status events (enqueued, sent, delivered, read, failed) become the message status; other kinds (user, billing, template events, inbound messages) are acknowledged and ignored. ' +
      'A callback for a message not known yet is kept and applied when it is. A JSON body that is no readable callback is kept as invalid (GET /admin/parked-callbacks) and acknowledged. ' +
      "Authentication: the app's callback token in the `token` query parameter (Gupshup signs nothing; the API key in the path names the app and is no credential). " +
      'An unknown key is answered 404; a missing or wrong token 401, and nothing is stored (unless the app accepts the legacy URL without token).',
  })
  @ApiSecurity(CALLBACK_TOKEN_SECURITY)
  @ApiConsumes('application/json', 'text/plain')
  @ApiBody({ description: 'The callback as Gupshup sends it (any content type: the body is read as JSON)', schema: requestBodySchema(gupshupCallbackSchema) })
  // An empty content map: the answer has no body, on purpose.
  @ApiResponse({ status: HttpStatus.OK, description: 'Stored durably (or ignored): an empty body', content: {} })
  @ApiErrorResponses({
    400: 'The body is not JSON',
    401: 'The token is missing or wrong: nothing was stored',
    404: 'No app has this API key',
    413: 'Past WEBHOOK_BODY_LIMIT_BYTES',
    503: 'The database cannot store it now; Gupshup retries',
  })
  @RouteConfig({ [GUPSHUP_CALLBACK_ROUTE]: true })
  async receive(@Param('apiKey', { schema: webhookApiKeyParamSchema }) apiKey: string, @Req() request: FastifyRequest): Promise<void> {
    const receivedAt = new Date();
    const app = await this.findApp(apiKey);
    const verdict = await this.authenticate(app.id, request);
    const decoded = decodeCallbackBody(request.body);
    if (!decoded.ok) throw new BadRequestException(decoded.problem);
    try {
      await this.ingestion.ingest(app.id, decoded.json, decoded.text, receivedAt, verdict === 'authenticated');
    } catch (error) {
      if (isTransientDatabaseError(error)) {
        this.logger.warn(`callback for app key ${keyHint(apiKey)} not stored, answered 503: ${(error as Error).message}`);
        throw new ServiceUnavailableException('The callback could not be stored right now (database unavailable); send it again later');
      }
      await this.keepUnstorable(app.id, apiKey, decoded.text, receivedAt, error);
    }
  }

  private async findApp(apiKey: string) {
    let app;
    try {
      app = await this.apps.find(apiKey);
    } catch (error) {
      this.logger.warn(`app lookup for key ${keyHint(apiKey)} failed, answered 503: ${(error as Error).message}`);
      throw new ServiceUnavailableException('The callback could not be checked right now (database unavailable); send it again later');
    }
    if (!app) {
      this.metrics.callback('unknown', 'unknown', 'unknown_app');
      throw new NotFoundException('No app has this API key: use the callback URL shown when the app was created (POST /admin/apps)');
    }
    return app;
  }

  /** The callback token check (see CallbackTokenService.check); a refused callback goes no further. */
  private async authenticate(appId: string, request: FastifyRequest): Promise<CallbackVerdict> {
    let verdict: CallbackVerdict;
    try {
      verdict = await this.callbackTokens.check(appId, (request.query as Record<string, unknown> | undefined)?.token);
    } catch (error) {
      this.logger.warn({ message: `callback token check failed, answered 503: ${(error as Error).message}`, appId });
      throw new ServiceUnavailableException('The callback could not be checked right now (database unavailable); send it again later');
    }
    if (verdict === 'refused') {
      throw new UnauthorizedException(
        'The callback URL lacks the right token: set the callbackUrl of GET /v3/channels/whatsapp/providers/gupshup_whatsapp as the Gupshup callback URL',
      );
    }
    return verdict;
  }

  private async keepUnstorable(appId: string, apiKey: string, rawBody: string, receivedAt: Date, error: unknown): Promise<void> {
    this.logger.error(`callback for app key ${keyHint(apiKey)} could not be stored as delivery reports; keeping it as invalid: ${(error as Error).message}`);
    try {
      await this.ingestion.recordUnstorable(appId, rawBody, receivedAt, `could not be stored: ${(error as Error).message}`);
    } catch (fallbackError) {
      this.logger.error(`callback for app key ${keyHint(apiKey)} could not be kept either, answered 503: ${(fallbackError as Error).message}`);
      throw new ServiceUnavailableException('The callback could not be stored right now; send it again later');
    }
  }
}
