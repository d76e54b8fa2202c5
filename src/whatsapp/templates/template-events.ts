import { StoredEventType, StoreEvent } from '../../event-store/event';
import type { TemplateHeader } from './template-definition';

export const TEMPLATE_STREAM_TYPE = 'whatsapp_template';
export const TEMPLATE_STATUS_STREAM_TYPE = 'whatsapp_template_status';

/** One stream per registered identifier of an app. */
export function templateStreamId(appId: string, identifier: string): string {
  return `${TEMPLATE_STREAM_TYPE}-${appId}-${identifier}`;
}

/** One stream per Gupshup template of an app: its status follows Gupshup's template-events. */
export function templateStatusStreamId(appId: string, gupshupTemplateId: string): string {
  return `${TEMPLATE_STATUS_STREAM_TYPE}-${appId}-${gupshupTemplateId}`;
}

export interface WhatsAppTemplateSavedData {
  appId: string;
  identifier: string;
  gupshupTemplateId: string;
  params: string[];
  header: TemplateHeader | null;
  /** True for the event that registered the identifier. */
  created: boolean;
  at: string;
}

/** A template was registered under an identifier, or its definition changed. */
@StoredEventType('WhatsAppTemplateSaved', 1)
export class WhatsAppTemplateSaved extends StoreEvent<WhatsAppTemplateSavedData> {}

export interface WhatsAppTemplateDeletedData {
  appId: string;
  identifier: string;
  at: string;
}

/** The identifier was removed; sends naming it are then refused (400). */
@StoredEventType('WhatsAppTemplateDeleted', 1)
export class WhatsAppTemplateDeleted extends StoreEvent<WhatsAppTemplateDeletedData> {}

export interface WhatsAppTemplateStatusChangedData {
  appId: string;
  gupshupTemplateId: string;
  status: string;
  /** `unknown` before the first template-event. */
  previousStatus: string;
  reason?: string;
  elementName?: string;
  languageCode?: string;
  /** Gupshup's time of the event. */
  occurredAt: string;
  receivedAt: string;
  /** The recorded callback it was read from. */
  callbackEventId: string;
}

/** Gupshup reported a new status for one of the app's templates (a template-event callback). */
@StoredEventType('WhatsAppTemplateStatusChanged', 1)
export class WhatsAppTemplateStatusChanged extends StoreEvent<WhatsAppTemplateStatusChangedData> {}
