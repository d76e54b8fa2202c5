import { Module } from '@nestjs/common';
import { AnalyticsController } from './analytics/analytics.controller';
import { GetWhatsAppDiscardReasonsHandler } from './analytics/get-discard-reasons.query';
import { GetWhatsAppAnalyticsHandler } from './analytics/get-whatsapp-analytics.query';
import { GetMessageHandler, GetMessagesHandler } from './messages/get-message.query';
import { ListMessagesHandler } from './messages/list-messages.query';
import { MessagesController } from './messages/messages.controller';
import { GetNotificationHandler } from './notifications/get-notification.query';
import { NotificationsController } from './notifications/notifications.controller';

/** Read side of WhatsApp delivery tracking: query handlers on the QueryBus and their REST controllers. */
@Module({
  controllers: [MessagesController, NotificationsController, AnalyticsController],
  providers: [GetMessageHandler, GetMessagesHandler, ListMessagesHandler, GetNotificationHandler, GetWhatsAppAnalyticsHandler, GetWhatsAppDiscardReasonsHandler],
})
export class QueriesModule {}
