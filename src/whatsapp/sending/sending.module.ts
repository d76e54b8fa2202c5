import { Module } from '@nestjs/common';
import { AppsModule } from '../../apps';
import { UsersModule } from '../../users';
import { ProviderCredentialsCache } from './dispatch/credentials-cache';
import { DispatchJobSettlement } from './dispatch/dispatch-job-settlement.subscription';
import { DispatchJobs } from './dispatch/dispatch-jobs';
import { DispatchMetrics, dispatchMetricProviders } from './dispatch/dispatch-metrics';
import { DispatchOperatorCommands } from './dispatch/dispatch-operator.commands';
import { WhatsAppDispatcher } from './dispatch/dispatcher';
import { gupshupClientProvider } from './dispatch/gupshup-client.provider';
import { OutcomeUnknownResolver } from './dispatch/outcome-unknown-resolver';
import { SendGates } from './dispatch/send-gates';
import { GupshupClient } from '../gupshup/gupshup-client';
import { IdempotencyKeys } from './idempotency';
import { NotificationsController } from './notifications.controller';
import { SendWhatsAppNotificationHandler } from './send-notification.handler';

/**
 * Sending WhatsApp notifications: POST /v3/notifications, the SendWhatsAppNotificationCommand
 * handler for other modules (`commandBus.execute(new SendWhatsAppNotificationCommand(...))`),
 * the dispatcher that calls Gupshup, and the operators' dispatch commands. Needs the config,
 * database, event store and CqrsModule.forRoot() of the root module.
 */
@Module({
  imports: [AppsModule, UsersModule],
  controllers: [NotificationsController],
  providers: [
    SendWhatsAppNotificationHandler,
    WhatsAppDispatcher,
    DispatchJobs,
    DispatchJobSettlement,
    IdempotencyKeys,
    ProviderCredentialsCache,
    OutcomeUnknownResolver,
    gupshupClientProvider,
    DispatchMetrics,
    SendGates,
    ...dispatchMetricProviders,
    ...DispatchOperatorCommands,
  ],
  exports: [DispatchJobs, OutcomeUnknownResolver, WhatsAppDispatcher, GupshupClient, SendGates],
})
export class WhatsAppSendingModule {}
