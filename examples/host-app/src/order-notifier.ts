import { Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { GetWhatsAppMessageQuery, SendWhatsAppNotificationCommand, type MessageResponse, type SendNotificationResult } from 'whatsapp-notify';

/** A feature of the host that tells customers about their orders: it only knows the buses. */
@Injectable()
export class OrderNotifier {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  notifyShipped(appId: string, customer: { identifier: string; phoneNumber: string }, orderId: string): Promise<SendNotificationResult> {
    return this.commands.execute(
      new SendWhatsAppNotificationCommand(
        appId,
        { notification: { title: `Order ${orderId} shipped`, message: 'It arrives on Friday' }, sendTo: { recipients: [customer] } },
        { idempotencyKey: `order-shipped-${orderId}` },
      ),
    );
  }

  message(appId: string, messageId: string): Promise<MessageResponse> {
    return this.queries.execute(new GetWhatsAppMessageQuery(appId, messageId));
  }
}
