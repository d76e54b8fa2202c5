import { type DynamicModule, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { LogController } from 'fastify';
import { ADMIN_SCHEME } from './apps/admin/admin-api.decorator';
import { API_KEY_SCHEME, API_SECRET_SCHEME } from './apps/auth/app-api.decorator';
import { API_KEY_HEADER, API_SECRET_HEADER } from './apps/auth/app-auth.guard';
import { CALLBACK_TOKEN_SECURITY, callbackTokenSecurityScheme } from './apps/callback-tokens/callback-token.openapi';
import { acceptEmptyJsonBody, refuseNonJsonBodies } from './common/empty-json-body';
import { DASHBOARD_SESSION_SCHEME, SESSION_COOKIE } from './dashboard/dashboard-session.guard';
import { answerUnroutableRequest, ErrorResponseFilter, MAX_PATH_PARAMETER_LENGTH } from './common/error-response.filter';
import { createRootLogger, lazyRequestLogger, PinoLoggerService, type LogDestination } from './common/logger';
import { declareBodyRefusals, openApiSchemaConverter } from './common/openapi';
import { RequestLogging } from './common/request-logging';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';
import { HttpMetrics } from './metrics/http-metrics';
import { WhatsAppNotifyModule } from './module/whatsapp-notify.module';

export interface CreateAppOptions {
  /** Replaces the service's logger (pino, after LOG_LEVEL and LOG_FORMAT) for Nest's lines and the access lines. */
  logger?: LoggerService;
  /** Where the service's logger writes instead of stdout. */
  logDestination?: LogDestination;
  /** Extra modules, e.g. a test's own module that uses the command bus. */
  imports?: DynamicModule['imports'];
}

/** Builds the whole service; main.ts listens on it, tests drive it in-process. */
/** TRUST_PROXY for Fastify: a number of hops becomes the function that trusts that many. */
function trustProxySetting(setting: boolean | number | string): boolean | string | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const rootLogger = options.logger
    ? undefined
    : createRootLogger({ level: config.get('LOG_LEVEL'), format: config.get('LOG_FORMAT'), destination: options.logDestination });
  const logger = options.logger ?? new PinoLoggerService(rootLogger!);
  const requestLogging = new RequestLogging(logger);
  const adapter = new FastifyAdapter({
    // Fastify's own lines go through the same pino logger; each request's access line is written by RequestLogging.
    loggerInstance: rootLogger,
    ...(rootLogger && { childLoggerFactory: lazyRequestLogger }),
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: requestLogging.genReqId,
    bodyLimit: config.get('BODY_LIMIT_BYTES'),
    trustProxy: trustProxySetting(config.get('TRUST_PROXY')),
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER_LENGTH }, // Fastify's default, 100, answers 414 to a long identifier
    frameworkErrors: answerUnroutableRequest,
    // Health checks and callbacks keep working while a shutdown drains the requests in flight.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  const app = await NestFactory.create<NestFastifyApplication>(WhatsAppNotifyModule.forService(config, options.imports ?? []), adapter, {
    logger,
    abortOnError: false,
  });
  if (!config.runs('api')) answerOperationsOnly(app, config);
  const httpMetrics = app.get(HttpMetrics);
  requestLogging.install(app.getHttpAdapter().getInstance(), (completed) => httpMetrics.observe(completed));
  acceptEmptyJsonBody(app, config.get('BODY_LIMIT_BYTES'));
  refuseNonJsonBodies(app, config.get('BODY_LIMIT_BYTES'));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ErrorResponseFilter(app.getHttpAdapter(), config.get('BODY_LIMIT_BYTES')));
  // OpenAPI description of every controller, built on the first request: GET /docs (browsable), GET /docs-json.
  // Requests and responses are described from the same zod schemas that check them.
  const openApi = new DocumentBuilder()
    .setTitle('WhatsApp notifications')
    .setDescription('Sends WhatsApp notifications through Gupshup and tracks every message to sent, delivered, seen or discarded.')
    .setVersion('0.1.0')
    .addApiKey({ type: 'apiKey', in: 'header', name: API_KEY_HEADER, description: "The app's API key (given when the app is created)" }, API_KEY_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: API_SECRET_HEADER, description: "The app's API secret (shown only when the app is created)" }, API_SECRET_SCHEME)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'ADMIN_TOKEN',
        description: 'Authorization: Bearer {ADMIN_TOKEN}: the ADMIN_TOKEN the service was started with (or the one it generated into DATA_DIR/admin.token)',
      },
      ADMIN_SCHEME,
    )
    .addApiKey(callbackTokenSecurityScheme, CALLBACK_TOKEN_SECURITY)
    .addCookieAuth(SESSION_COOKIE, { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'The dashboard session, set by POST /dashboard/api/session' }, DASHBOARD_SESSION_SCHEME)
    .build();
  const document = () => {
    const built = SwaggerModule.createDocument(app, openApi, { standardSchemaConverter: openApiSchemaConverter });
    declareBodyRefusals(built, config.get('BODY_LIMIT_BYTES'));
    return built;
  };
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
  });
  return app;
}

/** What a process without the `api` role still answers: what orchestrators and Prometheus ask it. */
const OPERATIONS_PATHS = new Set(['/health', '/metrics']);

/**
 * A worker (ROLES without `api`) still listens, so that its health and its dispatch and
 * subscription metrics can be read, but takes no requests: callbacks and API calls answered
 * here would be answered by a process that was not meant to carry them.
 */
function answerOperationsOnly(app: NestFastifyApplication, config: AppConfig): void {
  const message = `This instance runs ${config.get('ROLES').join(' and ')} only (ROLES), not the HTTP API: only /health and /metrics answer here`;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      if (OPERATIONS_PATHS.has(request.url.split('?', 1)[0])) return done();
      void reply.code(404).header('content-type', 'application/json; charset=utf-8').send({ statusCode: 404, message, error: 'Not Found' });
    });
}
