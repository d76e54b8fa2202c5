import { Command } from '@nestjs/cqrs';

/** A recipient: a user identifier, or a user object that is created or updated before sending. */
export type NotificationRecipient = string | ({ identifier: string; phoneNumber?: string } & Record<string, unknown>);

/** `override.gupshup_whatsapp`: `_config` replaces stored credentials; every other key goes into Gupshup's body. */
export interface GupshupWhatsAppOverride {
  _config?: { API_KEY?: string; SOURCE?: string; SRC_NAME?: string };
  [gupshupField: string]: unknown;
}

/** `workflow`: the template to send, and a key to cancel the request's messages by. */
export interface NotificationWorkflow {
  identifier: string;
  cancellationKey?: string;
}

/** Engagespot's v3 body of POST /v3/notifications (API.md "Sending" and "Engagespot request fields"). */
export interface SendNotificationBody {
  notification: {
    /** Required unless a template is named. */
    title?: string;
    message?: string;
    url?: string;
    icon?: string;
    category?: string;
    templateIdentifier?: string;
    templateId?: number | string;
    workflow?: NotificationWorkflow;
    /** Merged under the top-level data. */
    data?: Record<string, unknown>;
    content?: Record<string, unknown>;
  };
  /** `topics` is answered 422: this service keeps no topics. */
  sendTo?: { recipients?: NotificationRecipient[]; topics?: string[] };
  /** The older place for recipients; merged with sendTo.recipients. */
  recipients?: NotificationRecipient[];
  category?: string;
  workflow?: NotificationWorkflow;
  data?: Record<string, unknown>;
  /** ISO 8601 with a time zone; in the future the messages wait until then. */
  sendAt?: string;
  override?: {
    gupshup_whatsapp?: GupshupWhatsAppOverride;
    gushup_whatsapp?: GupshupWhatsAppOverride;
    /** Without whatsapp, no WhatsApp message is sent. */
    channels?: string[];
    /** `whatsapp` is read like gupshup_whatsapp; the other channels' overrides are ignored. */
    channel?: { whatsapp?: GupshupWhatsAppOverride } & Record<string, unknown>;
    /** Other providers' overrides are accepted and ignored. */
    [provider: string]: unknown;
  };
}

export interface DiscardReasonResult {
  code: string;
  reason: string;
}

export interface SentMessageResult {
  messageId: string;
  /** The user identifier. */
  recipient: string;
  status: 'queued' | 'discarded';
  /** Only for `discarded`: why the message will not be sent. */
  discardReason?: DiscardReasonResult;
}

/** The 202 body of POST /v3/notifications, and the command's result. */
export interface SendNotificationResult {
  requestId: string;
  messages: SentMessageResult[];
}

export interface SendNotificationOptions {
  /** Same key and body within 24 h: the first result again, nothing sent twice. Keys are per app (the HTTP header's too). */
  idempotencyKey?: string;
}

/**
 * Sends a WhatsApp notification for an app: the in-process form of POST /v3/notifications.
 * `body` is validated like the HTTP body (it may come from anywhere); the command fails with
 * InvalidNotificationError (400), ProviderNotEnabledError (422) or IdempotencyKeyConflictError (409).
 */
export class SendWhatsAppNotificationCommand extends Command<SendNotificationResult> {
  constructor(
    readonly appId: string,
    readonly body: SendNotificationBody,
    readonly options: SendNotificationOptions = {},
  ) {
    super();
  }
}
