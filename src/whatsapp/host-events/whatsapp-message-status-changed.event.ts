import type { IEvent } from '@nestjs/cqrs';
import type { DiscardReason, MessageStatus } from '../domain';

export interface WhatsAppMessageStatusChangedData {
  appId: string;
  messageId: string;
  requestId: string | null;
  /** The user identifier. */
  recipient: string | null;
  status: MessageStatus;
  /** Null for the first status a message has (`queued`, or `discarded` at once). */
  previousStatus: MessageStatus | null;
  /** ISO 8601: the provider's time for a callback, this service's for its own events. */
  at: string;
  /** Only with `discarded`. */
  discardReason: DiscardReason | null;
}

/**
 * A message's status rose (API.md, "Inside another NestJS application"): published on the host's
 * EventBus once for every rise, in the order of the log, after the events that made it committed.
 */
export class WhatsAppMessageStatusChanged implements IEvent, WhatsAppMessageStatusChangedData {
  readonly appId: string;
  readonly messageId: string;
  readonly requestId: string | null;
  readonly recipient: string | null;
  readonly status: MessageStatus;
  readonly previousStatus: MessageStatus | null;
  readonly at: string;
  readonly discardReason: DiscardReason | null;

  constructor(data: WhatsAppMessageStatusChangedData) {
    this.appId = data.appId;
    this.messageId = data.messageId;
    this.requestId = data.requestId;
    this.recipient = data.recipient;
    this.status = data.status;
    this.previousStatus = data.previousStatus;
    this.at = data.at;
    this.discardReason = data.discardReason;
  }
}
