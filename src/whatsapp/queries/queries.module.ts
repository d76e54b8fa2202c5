import { Module } from '@nestjs/common';
import { AnalyticsController } from './analytics/analytics.controller';
import { GetWhatsAppAnalyticsHandler } from './analytics/get-whatsapp-analytics.query';
import { GetMessageHandler } from './messages/get-message.query';
import { ListMessagesHandler } from './messages/list-messages.query';
import { MessagesController } from './messages/messages.controller';
import { GetNotificationHandler } from './notifications/get-notification.query';
import { NotificationsController } from './notifications/notifications.controller';

/** Read side of WhatsApp delivery tracking: query handlers on the QueryBus and their REST controllers. */
@Module({
  controllers: [MessagesController, NotificationsController, AnalyticsController],
  providers: [GetMessageHandler, ListMessagesHandler, GetNotificationHandler, GetWhatsAppAnalyticsHandler],
})
export class QueriesModule {}
