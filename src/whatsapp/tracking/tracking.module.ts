import { Module } from '@nestjs/common';
import { WhatsAppSendingModule } from '../sending';
import { ParkedCallbackExpiry } from './parking/parked-callback-expiry';
import { ParkedCallbacksController } from './parking/parked-callbacks.controller';
import { GupshupWebhookController } from './receiving/gupshup-webhook.controller';
import { RawCallbackRecorder } from './receiving/raw-callback-recorder';
import { WebhookAppCache } from './receiving/webhook-app-cache';
import { WebhookBodyParser } from './receiving/webhook-body-parser';
import { CallbackTranslator } from './translating/callback-translator.subscription';
import { RetranslateCommand, Retranslation } from './translating/retranslate.command';
import { trackingMetricProviders, TrackingMetrics } from './tracking.metrics';

/**
 * Delivery tracking, one folder per step: receiving (the webhook records each callback as it
 * came), translating (one ordered reader turns recorded callbacks and sending events into
 * delivery events) and parking (what waits for its message, and its expiry).
 */
@Module({
  // Failed callbacks may send a message back to the dispatch queue, or pause its app.
  imports: [WhatsAppSendingModule],
  controllers: [GupshupWebhookController, ParkedCallbacksController],
  providers: [
    WebhookBodyParser,
    WebhookAppCache,
    RawCallbackRecorder,
    CallbackTranslator,
    Retranslation,
    RetranslateCommand,
    ParkedCallbackExpiry,
    TrackingMetrics,
    ...trackingMetricProviders,
  ],
  exports: [RawCallbackRecorder, Retranslation],
})
export class DeliveryTrackingModule {}
