import { Module } from '@nestjs/common';
import { AppsModule } from '../apps';
import { DeliveryQueue } from './deliveries/delivery-queue';
import { WebhookDeliveries } from './deliveries/webhook-deliveries.service';
import { WebhookEndpoints } from './endpoints/webhook-endpoints.service';
import { WebhooksController } from './endpoints/webhooks.controller';
import { WebhookMetrics, webhookMetricProviders } from './sending/webhook-metrics';
import { WebhookSender } from './sending/webhook-sender';
import { StatusChangeSubscription } from './status-changes/status-change.subscription';

/**
 * Status webhooks to customers' systems: endpoints per app (/v3/webhooks), the subscription that
 * turns each rise of a message's status into deliveries, and the senders that post them signed.
 */
@Module({
  imports: [AppsModule],
  controllers: [WebhooksController],
  providers: [WebhookEndpoints, WebhookDeliveries, DeliveryQueue, WebhookSender, WebhookMetrics, ...webhookMetricProviders, StatusChangeSubscription],
})
export class WebhooksModule {}
