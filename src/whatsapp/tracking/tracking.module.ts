import { Module } from '@nestjs/common';
import { WhatsAppSendingModule } from '../sending';
import { CallbackIngestionService } from './callback-ingestion.service';
import { GupshupWebhookController } from './gupshup-webhook.controller';
import { ParkedCallbacksController } from './parked-callbacks.controller';
import { trackingMetricProviders, TrackingMetrics } from './tracking.metrics';
import { TrackingSubscription } from './tracking.subscription';
import { WebhookAppCache } from './webhook-app-cache';
import { WebhookBodyParser } from './webhook-body-parser';

/**
 * Delivery tracking: the Gupshup webhook turns callbacks into DeliveryStatusChanged events on the
 * message streams (parking those that arrive before their message is known), and the tracking
 * subscription learns each message's Gupshup id and applies what was parked for it.
 */
@Module({
  imports: [WhatsAppSendingModule],
  controllers: [GupshupWebhookController, ParkedCallbacksController],
  providers: [
    WebhookBodyParser,
    WebhookAppCache,
    CallbackIngestionService,
    TrackingSubscription,
    TrackingMetrics,
    ...trackingMetricProviders,
  ],
  exports: [CallbackIngestionService],
})
export class DeliveryTrackingModule {}
