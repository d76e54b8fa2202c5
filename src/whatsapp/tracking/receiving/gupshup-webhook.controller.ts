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
import { CallbackTokenService, type CallbackVerdict } from '../../../apps';
import { CALLBACK_TOKEN_SECURITY } from '../../../apps/callback-tokens/callback-token.openapi';
import { AppConfig } from '../../../config/app-config';
import { setRequestAppId } from '../../../common/request-context';
import { ApiErrorResponses, requestBodySchema } from '../../../common/openapi';
import { isTransientDatabaseError } from '../../../database/database-errors';
import { TrackingMetrics } from '../tracking.metrics';
import { callbackShape, decodeCallbackBody } from './callback-body';
import { gupshupCallbackSchema, webhookApiKeyParamSchema } from './gupshup-callback.dto';
import { InvalidCallbackBudget } from './invalid-callback-budget';
import { RawCallbackRecorder } from './raw-callback-recorder';
import { WebhookAppCache } from './webhook-app-cache';
import { GUPSHUP_CALLBACK_ROUTE } from './webhook-body-parser';

/** Shown in logs instead of a whole API key. */
function keyHint(apiKey: string): string {
  return `…${apiKey.slice(-4)}`;
}

/**
 * Where Gupshup posts delivery callbacks (v2 and v3 formats): the first step of tracking. It finds
 * the app by the key in the path, checks the callback token, records the body as it came (a GupshupCallbackReceived event,
 * group-committed) and answers 200 once that is committed; what the callback means is worked out
 * later, in log order, by the translator (../translating). 404 for an unknown key; 401 without the
 * right token; 400 for a body
 * that is not JSON; 413 past the webhook's body limit; 503 when the database cannot store it now.
 */
@ApiTags('Delivery tracking')
@Controller('api/v1/apps/:apiKey/webhook')
export class GupshupWebhookController {
  private readonly logger = new Logger('DeliveryTracking');

  private readonly invalidBudget: InvalidCallbackBudget;

  constructor(
    private readonly apps: WebhookAppCache,
    private readonly recorder: RawCallbackRecorder,
    private readonly metrics: TrackingMetrics,
    private readonly callbackTokens: CallbackTokenService,
    config: AppConfig,
  ) {
    this.invalidBudget = new InvalidCallbackBudget(config.get('INVALID_CALLBACKS_PER_HOUR'));
  }

  @Post('gupshup_whatsapp')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "Gupshup's delivery callbacks (v2 and v3 formats): set this URL as the Gupshup app's callback URL",
    description:
      'Status events (enqueued, sent, delivered, read, failed) become the message status; other kinds (user, billing, template events, inbound messages) are acknowledged and ignored. ' +
      'The body is recorded as it came and acknowledged once durable; it takes effect moments later. A callback for a message not known yet is kept and applied when it is. ' +
      'A JSON body that is no readable callback is kept as invalid (GET /admin/parked-callbacks) and acknowledged; past INVALID_CALLBACKS_PER_HOUR for the app, such bodies are acknowledged and only counted. ' +
      "Authentication: the app's callback token in the `token` query parameter (Gupshup signs nothing; the API key in the path names the app and is no credential). " +
      'An unknown key is answered 404; a missing or wrong token 401, and nothing is stored (unless the app accepts the legacy URL without token).',
  })
  @ApiSecurity(CALLBACK_TOKEN_SECURITY)
  @ApiConsumes('application/json', 'text/plain')
  @ApiBody({ description: 'The callback as Gupshup sends it (any content type: the body is read as JSON)', schema: requestBodySchema(gupshupCallbackSchema) })
  // An empty content map: the answer has no body, on purpose.
  @ApiResponse({ status: HttpStatus.OK, description: 'Recorded durably (or, past the junk budget, only counted): an empty body', content: {} })
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
    // The app is known from here (its key names it): its lines and the access line carry its id, as an authenticated route's do, also when its token is refused.
    setRequestAppId(app.id);
    // A callback on the legacy token-less URL is recorded, but may not settle an unknown dispatch outcome.
    const authenticated = (await this.authenticate(app.id, request)) === 'authenticated';
    const decoded = decodeCallbackBody(request.body);
    if (!decoded.ok) throw new BadRequestException(decoded.problem);
    if (callbackShape(decoded.json) === 'unknown' && !this.invalidBudget.take(app.id)) {
      this.metrics.callback('unknown', 'invalid', 'dropped');
      return;
    }
    try {
      await this.recorder.record({ appId: app.id, receivedAt, authenticated, text: decoded.text });
    } catch (error) {
      const transient = isTransientDatabaseError(error);
      this.logger.warn({ message: 'callback not recorded, answered 503', appId: app.id, transient, error: (error as Error).message });
      throw new ServiceUnavailableException('The callback could not be stored right now (database unavailable); send it again later');
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
}
