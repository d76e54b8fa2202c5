import { StoreEvent, StoredEventType } from '../event-store/event';

export const APP_STREAM_TYPE = 'app';
export const APP_PROVIDER_STREAM_TYPE = 'app_provider';

export function appStreamId(appId: string): string {
  return `${APP_STREAM_TYPE}-${appId}`;
}

/** The audit trail of an app's provider configurations. */
export function appProviderStreamId(appId: string): string {
  return `${APP_PROVIDER_STREAM_TYPE}-${appId}`;
}

export type AppCreatedData = {
  appId: string;
  name: string;
  apiKey: string;
  createdAt: string;
  /** `admin-api` or `cli`. */
  via: string;
};

/** An app (tenant) was created. Its secret is never part of any event. Stream: `app-{appId}`. */
@StoredEventType('AppCreated', 1)
export class AppCreated extends StoreEvent<AppCreatedData> {}

export type ConfigurationActor = { type: 'app'; appId: string } | { type: 'admin' };

export type GupshupProviderConfiguredData = {
  appId: string;
  provider: 'gupshup_whatsapp';
  channel: 'whatsapp';
  actor: ConfigurationActor;
  at: string;
  enabled: boolean;
  previouslyEnabled: boolean | null;
  /** Config keys whose value changed with this configuration (API_KEY, SOURCE, SRC_NAME). */
  changedKeys: string[];
  /** Identifies the API key without revealing it: `****` + last 4, and the first 12 hex digits of its SHA-256. */
  apiKeyFingerprint: string | null;
  source: string | null;
  srcName: string | null;
};

/**
 * An app's gupshup_whatsapp configuration changed: who, when, which keys, and the resulting
 * state, never the API key itself. Stream: `app_provider-{appId}`.
 */
@StoredEventType('GupshupProviderConfigured', 1)
export class GupshupProviderConfigured extends StoreEvent<GupshupProviderConfiguredData> {}

export type SessionWindowEnforcementSetData = {
  appId: string;
  enforce: boolean;
  previously: boolean;
  actor: ConfigurationActor;
  at: string;
};

/** The provider's `enforceSessionWindow` changed. Stream: the app's provider stream. */
@StoredEventType('SessionWindowEnforcementSet', 1)
export class SessionWindowEnforcementSet extends StoreEvent<SessionWindowEnforcementSetData> {}
