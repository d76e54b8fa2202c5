// The package's public entry (package.json "exports"): the module, its commands, queries and
// events, and the types of their options and results. Everything else is internal.

export { WhatsAppNotifyModule } from './module/whatsapp-notify.module';
export { DEFAULT_MODULE_SCHEMA, type WhatsAppNotifyModuleOptions, type WhatsAppNotifySettings } from './module/module-options';
export { ConfigError as WhatsAppNotifyConfigError } from './config/app-config';

// Commands (CommandBus)
export {
  SendWhatsAppNotificationCommand,
  type DiscardReasonResult,
  type GupshupWhatsAppOverride,
  type NotificationRecipient,
  type NotificationWorkflow,
  type SendNotificationBody,
  type SendNotificationOptions,
  type SendNotificationResult,
  type SentMessageResult,
} from './whatsapp/sending/send-notification.command';
export { IdempotencyKeyConflictError, InvalidNotificationError, ProviderNotEnabledError, UnknownAppError } from './whatsapp/sending/errors';
export {
  CancelWhatsAppNotificationsCommand,
  type CancelNotificationsResult,
  type CancellationTarget,
} from './whatsapp/sending/cancelling/cancel-notifications.command';
export { InvalidCancellationError, NothingToCancelError } from './whatsapp/sending/cancelling/cancel-notifications.handler';
export { CreateWhatsAppAppCommand } from './apps/admin/create-whatsapp-app.command';
export type { CreatedApp } from './apps/apps.service';

// Queries (QueryBus): their filters and ids are checked as the REST routes check them; InvalidQueryError names the bad field
export { InvalidQueryError } from './common/validation';
export { GetWhatsAppMessageQuery } from './whatsapp/queries/messages/get-message.query';
export { ListWhatsAppMessagesQuery, type MessageFilters } from './whatsapp/queries/messages/list-messages.query';
export { GetWhatsAppNotificationQuery } from './whatsapp/queries/notifications/get-notification.query';
export { GetWhatsAppAnalyticsQuery, type AnalyticsFilters } from './whatsapp/queries/analytics/get-whatsapp-analytics.query';
export type { DiscardReasonResponse, MessageResponse, TimelineEntryResponse } from './whatsapp/queries/message-response';
export type { MessagePage } from './whatsapp/queries/messages/list-messages.dto';
export type { NotificationResponse, StatusCountsResponse } from './whatsapp/queries/notifications/notification-response';
export type { WhatsAppAnalyticsResponse, WhatsAppDailyStatsResponse, WhatsAppStatsResponse } from './whatsapp/queries/analytics/whatsapp-analytics.dto';

// Events (EventBus)
export { WhatsAppMessageStatusChanged, type WhatsAppMessageStatusChangedData } from './whatsapp/host-events/whatsapp-message-status-changed.event';
export {
  DeliveryStatusChanged,
  NotificationRequested,
  WhatsAppDispatchFailed,
  WhatsAppDispatchOutcomeUnknown,
  WhatsAppMessageDiscarded,
  WhatsAppMessageQueued,
  WhatsAppMessageSent,
  type DeliveryStatusChangedData,
  type NotificationRequestedData,
  type WhatsAppDispatchFailedData,
  type WhatsAppDispatchOutcomeUnknownData,
  type WhatsAppMessageDiscardedData,
  type WhatsAppMessageQueuedData,
  type WhatsAppMessageSentData,
} from './whatsapp/domain/events';
export {
  WhatsAppTemplateDeleted,
  WhatsAppTemplateSaved,
  WhatsAppTemplateStatusChanged,
  type WhatsAppTemplateDeletedData,
  type WhatsAppTemplateSavedData,
  type WhatsAppTemplateStatusChangedData,
} from './whatsapp/templates/template-events';
export type { MessageStatus, ProviderStatus } from './whatsapp/domain/status';
export type { DiscardReason } from './whatsapp/domain/message-view';
export type { RecordedPosition } from './event-store/event';
