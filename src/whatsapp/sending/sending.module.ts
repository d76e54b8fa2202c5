import { Module } from '@nestjs/common';
import { AppsModule } from '../../apps';
import { UsersModule } from '../../users';
import { CancelWhatsAppNotificationsHandler } from './cancelling/cancel-notifications.handler';
import { CancellingController } from './cancelling/cancelling.controller';
import { cancellingMetricProviders } from './cancelling/cancelling.metrics';
import { AppJobsDispatch } from './dispatch/app-jobs-dispatch';
import { appRateLimiterProvider } from './dispatch/app-rate-limiter';
import { AppSendPacer } from './dispatch/app-send-pacer';
import { ProviderCredentialsCache } from './dispatch/credentials-cache';
import { DispatchHousekeeping } from './dispatch/dispatch-housekeeping';
import { DispatchJobSettlement } from './dispatch/dispatch-job-settlement.subscription';
import { DispatchJobs } from './dispatch/dispatch-jobs';
import { FailedCallbackRetries } from './dispatch/failed-callback-retries';
import { DispatchMetrics, dispatchMetricProviders } from './dispatch/dispatch-metrics';
import { DispatchOperatorCommands } from './dispatch/dispatch-operator.commands';
import { WhatsAppDispatcher } from './dispatch/dispatcher';
import { gupshupClientProvider } from './dispatch/gupshup-client.provider';
import { IdempotencyCleanup } from './dispatch/idempotency-cleanup';
import { LeaseExpiry } from './dispatch/lease-expiry';
import { OutcomeRecorder } from './dispatch/outcome-recorder';
import { OperatorResolutionCounter } from './dispatch/operator-resolution';
import { OutcomeUnknownResolver } from './dispatch/outcome-unknown-resolver';
import { RequestBuilderFactory } from './dispatch/request-builder';
import { AcceptanceGates, SendGates } from './dispatch/send-gates';
import { GupshupClient } from '../gupshup/gupshup-client';
import { IdempotencyKeys } from './idempotency';
import { DispatchPauseController } from './pausing/dispatch-pause.controller';
import { DispatchPauses, dispatchPauseMetricProviders } from './pausing/dispatch-pauses';
import { NotificationsController } from './notifications.controller';
import { SendWhatsAppNotificationHandler } from './send-notification.handler';

/**
 * Sending WhatsApp notifications: POST /v3/notifications, the SendWhatsAppNotificationCommand
 * handler for other modules (`commandBus.execute(new SendWhatsAppNotificationCommand(...))`),
 * the dispatcher that calls Gupshup (other modules stop sends through SendGates), and the
 * operators' dispatch commands. Needs the config,
 * database, event store and CqrsModule.forRoot() of the root module.
 */
@Module({
  imports: [AppsModule, UsersModule],
  controllers: [NotificationsController, CancellingController, DispatchPauseController],
  providers: [
    SendWhatsAppNotificationHandler,
    CancelWhatsAppNotificationsHandler,
    ...cancellingMetricProviders,
    WhatsAppDispatcher,
    AppJobsDispatch,
    AppSendPacer,
    appRateLimiterProvider,
    RequestBuilderFactory,
    SendGates,
    AcceptanceGates,
    OutcomeRecorder,
    DispatchHousekeeping,
    LeaseExpiry,
    IdempotencyCleanup,
    DispatchJobs,
    DispatchJobSettlement,
    OperatorResolutionCounter,
    IdempotencyKeys,
    ProviderCredentialsCache,
    OutcomeUnknownResolver,
    gupshupClientProvider,
    DispatchMetrics,
    ...dispatchMetricProviders,
    DispatchPauses,
    ...dispatchPauseMetricProviders,
    FailedCallbackRetries,
    ...DispatchOperatorCommands,
  ],
  exports: [DispatchJobs, OutcomeUnknownResolver, WhatsAppDispatcher, GupshupClient, SendGates, AcceptanceGates, LeaseExpiry, DispatchPauses, FailedCallbackRetries],
})
export class WhatsAppSendingModule {}
