export { WhatsAppSendingModule } from './sending.module';
export {
  SendWhatsAppNotificationCommand,
  type DiscardReasonResult,
  type GupshupWhatsAppOverride,
  type NotificationRecipient,
  type SendNotificationBody,
  type SendNotificationResult,
  type SentMessageResult,
} from './send-notification.command';
export { IdempotencyKeyConflictError, InvalidNotificationError, ProviderNotEnabledError } from './errors';
export { MAX_RECIPIENTS_PER_REQUEST } from './notification-request';
export { DispatchJobs, lockOutcomeUnknownJob, type DispatchJobRow, type DispatchJobState } from './dispatch/dispatch-jobs';
export { OutcomeUnknownResolver } from './dispatch/outcome-unknown-resolver';
export { action, type MessageAction } from './dispatch/dispatch-log';
export { WhatsAppDispatcher } from './dispatch/dispatcher';
export { LeaseExpiry } from './dispatch/lease-expiry';
export { AcceptanceGates, SendGates, type GateStop, type SendGate, type SendGateVerdict } from './dispatch/send-gates';
export type { ClaimedJob, DispatchContent } from './dispatch/dispatch-jobs';
export { dispatchEventId } from './dispatch/dispatch-outcome';
export { FailedCallbackRetries, type FailedCallback, type ReceiptAfterFailure } from './dispatch/failed-callback-retries';
export { DispatchPauses } from './pausing/dispatch-pauses';
export {
  CancelWhatsAppNotificationsCommand,
  type CancelNotificationsResult,
  type CancellationTarget,
} from './cancelling/cancel-notifications.command';
export { NothingToCancelError } from './cancelling/cancel-notifications.handler';
