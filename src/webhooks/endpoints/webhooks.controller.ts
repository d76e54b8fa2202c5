import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedApp } from '../../apps/apps.service';
import { AppApi } from '../../apps/auth/app-api.decorator';
import { CurrentApp } from '../../apps/auth/current-app.decorator';
import { noQueryParameters } from '../../common/input-schemas';
import { ApiErrorResponses } from '../../common/openapi';
import { WebhookDeliveries } from '../deliveries/webhook-deliveries.service';
import {
  createWebhookBodySchema,
  deliveryIdParamSchema,
  deliveryPageSchema,
  endpointIdParamSchema,
  listDeliveriesQuerySchema,
  queuedDeliverySchema,
  replayBodySchema,
  replayResultSchema,
  updateWebhookBodySchema,
  webhookEndpointListSchema,
  webhookEndpointSchema,
  webhookEndpointWithSecretSchema,
  type CreateWebhookBody,
  type DeliveryPage,
  type ListDeliveriesParams,
  type ReplayBody,
  type UpdateWebhookBody,
  type WebhookEndpointView,
  type WebhookEndpointWithSecret,
} from './webhook-endpoint.dto';
import { WebhookEndpoints } from './webhook-endpoints.service';

const ID = { schema: endpointIdParamSchema };

/** The app's status webhooks: endpoints, their deliveries, retry, replay and test events. */
@ApiTags('Status webhooks')
@AppApi()
@Controller('v3/webhooks')
export class WebhooksController {
  constructor(
    private readonly endpoints: WebhookEndpoints,
    private readonly deliveries: WebhookDeliveries,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Add an endpoint that receives signed status changes; the secret is shown only in this answer' })
  @ApiResponse({ status: HttpStatus.CREATED, description: 'The endpoint, with its signing secret', standardSchema: webhookEndpointWithSecretSchema })
  @ApiErrorResponses({ 400: 'The body is invalid, or the URL is not https on a public address' })
  create(@CurrentApp() app: AuthenticatedApp, @Body({ schema: createWebhookBodySchema }) body: CreateWebhookBody): Promise<WebhookEndpointWithSecret> {
    return this.endpoints.create(app.id, body);
  }

  @Get()
  @ApiOperation({ summary: "The app's endpoints (no secrets)" })
  @ApiResponse({ status: HttpStatus.OK, description: 'Oldest first', standardSchema: webhookEndpointListSchema })
  @ApiErrorResponses({ 400: 'A query parameter was given: this list takes none' })
  async list(@CurrentApp() app: AuthenticatedApp, @Query({ schema: noQueryParameters }) _query: object): Promise<{ data: WebhookEndpointView[] }> {
    return { data: await this.endpoints.list(app.id) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One endpoint (no secret)' })
  @ApiResponse({ status: HttpStatus.OK, description: 'The endpoint', standardSchema: webhookEndpointSchema })
  @ApiErrorResponses({ 400: 'The id is not a UUID', 404: 'No such webhook in this app' })
  get(@CurrentApp() app: AuthenticatedApp, @Param('id', ID) id: string): Promise<WebhookEndpointView> {
    return this.endpoints.get(app.id, id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change the URL, the event types, the description, or enable/disable it' })
  @ApiResponse({
    status: HttpStatus.OK,
    description: 'The endpoint as stored; a body that changes nothing ({}, or every field as it is) answers it unchanged, updatedAt included',
    standardSchema: webhookEndpointSchema,
  })
  @ApiErrorResponses({ 400: 'The body is invalid', 404: 'No such webhook in this app' })
  update(@CurrentApp() app: AuthenticatedApp, @Param('id', ID) id: string, @Body({ schema: updateWebhookBodySchema }) body: UpdateWebhookBody): Promise<WebhookEndpointView> {
    return this.endpoints.update(app.id, id, body);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Remove the endpoint and its delivery log' })
  @ApiResponse({ status: HttpStatus.NO_CONTENT, description: 'Removed' })
  @ApiErrorResponses({ 400: 'The id is not a UUID', 404: 'No such webhook in this app' })
  remove(@CurrentApp() app: AuthenticatedApp, @Param('id', ID) id: string): Promise<void> {
    return this.endpoints.remove(app.id, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Replace the signing secret; the new one is shown only in this answer and signs every attempt from now on',
    description:
      'The previous secret signs too, beside the new one, for WEBHOOK_OUT_SECRET_GRACE_HOURS (24 by default): webhook-signature then holds both signatures, space-separated, so a receiver on either secret verifies. Rotating again within that time drops the older one.',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'The endpoint, with its new secret', standardSchema: webhookEndpointWithSecretSchema })
  @ApiErrorResponses({ 400: 'The id is not a UUID', 404: 'No such webhook in this app' })
  rotateSecret(@CurrentApp() app: AuthenticatedApp, @Param('id', ID) id: string): Promise<WebhookEndpointWithSecret> {
    return this.endpoints.rotateSecret(app.id, id);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "The endpoint's deliveries, newest first, each with its attempts" })
  @ApiResponse({ status: HttpStatus.OK, description: 'A page of deliveries', standardSchema: deliveryPageSchema })
  @ApiErrorResponses({ 400: 'A parameter is invalid', 404: 'No such webhook in this app' })
  deliveriesOf(@CurrentApp() app: AuthenticatedApp, @Param('id', ID) id: string, @Query({ schema: listDeliveriesQuerySchema }) params: ListDeliveriesParams): Promise<DeliveryPage> {
    return this.deliveries.list(app.id, id, params);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Send a delivery again now (a failed one too), with a fresh retry window' })
  @ApiResponse({ status: HttpStatus.ACCEPTED, description: 'Queued (or being sent already)', standardSchema: queuedDeliverySchema })
  @ApiErrorResponses({ 400: 'An id is not a UUID', 404: 'No such webhook or delivery' })
  retry(
    @CurrentApp() app: AuthenticatedApp,
    @Param('id', ID) id: string,
    @Param('deliveryId', { schema: deliveryIdParamSchema }) deliveryId: string,
  ): Promise<{ deliveryId: string; status: string }> {
    return this.deliveries.retry(app.id, id, deliveryId);
  }

  @Post(':id/replay')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Send again every status change since a time, as new deliveries, in their order' })
  @ApiResponse({ status: HttpStatus.ACCEPTED, description: 'How many deliveries were queued', standardSchema: replayResultSchema })
  @ApiErrorResponses({ 400: 'The body is invalid', 404: 'No such webhook in this app' })
  replay(@CurrentApp() app: AuthenticatedApp, @Param('id', ID) id: string, @Body({ schema: replayBodySchema }) body: ReplayBody): Promise<{ queued: number }> {
    return this.deliveries.replay(app.id, id, body.from);
  }

  @Post(':id/test')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Send a webhook.test event to the endpoint' })
  @ApiResponse({ status: HttpStatus.ACCEPTED, description: 'Queued', standardSchema: queuedDeliverySchema })
  @ApiErrorResponses({ 400: 'The id is not a UUID', 404: 'No such webhook in this app' })
  test(@CurrentApp() app: AuthenticatedApp, @Param('id', ID) id: string): Promise<{ deliveryId: string; status: string }> {
    return this.deliveries.test(app.id, id);
  }
}
