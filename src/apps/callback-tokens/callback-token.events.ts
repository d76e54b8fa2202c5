import { StoreEvent, StoredEventType } from '../../event-store/event';
import type { ConfigurationActor } from '../app-events';

/** Who caused a token change; `system` for the token every app gets at creation or, for older apps, at start-up. */
export type CallbackTokenActor = ConfigurationActor | { type: 'system' };

export type CallbackTokenIssuedData = {
  appId: string;
  /** The row id of the token in app_callback_tokens. */
  tokenId: string;
  /** Names the token without revealing it: the first 12 hex digits of its SHA-256. */
  fingerprint: string;
  /** `app_created`, or `backfill` for an app created before callback tokens existed. */
  reason: 'app_created' | 'backfill';
  actor: CallbackTokenActor;
  at: string;
};

/** An app got its first callback token. Never the token itself. Stream: `app-{appId}`. */
@StoredEventType('CallbackTokenIssued', 1)
export class CallbackTokenIssued extends StoreEvent<CallbackTokenIssuedData> {}

export type CallbackTokenRotatedData = {
  appId: string;
  tokenId: string;
  fingerprint: string;
  previousTokenId: string | null;
  previousFingerprint: string | null;
  /** Until when the previous token is still accepted (CALLBACK_TOKEN_GRACE_HOURS after the rotation). */
  previousValidUntil: string | null;
  /** `requested` through the API; `undecryptable` when the current token could no longer be decrypted (SECRET_KEY changed). */
  reason: 'requested' | 'undecryptable';
  actor: CallbackTokenActor;
  at: string;
};

/** The app's callback token was replaced; the previous one works until `previousValidUntil`. Stream: `app-{appId}`. */
@StoredEventType('CallbackTokenRotated', 1)
export class CallbackTokenRotated extends StoreEvent<CallbackTokenRotatedData> {}

export type LegacyCallbackUrlSetData = {
  appId: string;
  accept: boolean;
  previously: boolean;
  actor: CallbackTokenActor;
  at: string;
};

/** The app started or stopped accepting callbacks on the URL without a token. Stream: `app-{appId}`. */
@StoredEventType('LegacyCallbackUrlSet', 1)
export class LegacyCallbackUrlSet extends StoreEvent<LegacyCallbackUrlSetData> {}
