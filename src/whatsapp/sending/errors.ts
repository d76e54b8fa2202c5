import { BadRequestException, ConflictException, NotFoundException, UnprocessableEntityException } from '@nestjs/common';

/**
 * The errors a send request can fail with, whether it came over HTTP or through the command bus.
 * They are Nest HTTP exceptions, so the controller needs no mapping and any other HTTP entry point
 * renders them as `{statusCode, message, error}`; callers of the command bus match them by class.
 */

/** The body is not a valid notification (400). The message lists every problem, by field path. */
export class InvalidNotificationError extends BadRequestException {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'InvalidNotificationError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The problem with a command's appId, if any: the REST routes take it from the app's credentials,
 * a host passes whatever it has.
 */
export function appIdProblem(appId: unknown): string | undefined {
  if (typeof appId === 'string' && UUID.test(appId)) return undefined;
  const got = typeof appId === 'string' ? JSON.stringify(appId.length > 40 ? `${appId.slice(0, 40)}…` : appId) : appId === undefined ? 'no value' : typeof appId;
  return `appId must be the id of an app (a UUID), as CreateWhatsAppAppCommand returns it (got ${got})`;
}

/** No app has this id (404): a command names an app that was never created here (or in another schema). */
export class UnknownAppError extends NotFoundException {
  constructor(readonly appId: string) {
    super(`No app with appId ${JSON.stringify(appId)}: use the id that CreateWhatsAppAppCommand (or POST /admin/apps) returned`);
    this.name = 'UnknownAppError';
  }
}

const HOW_TO_ENABLE =
  'PUT /v3/channels/whatsapp/providers/gupshup_whatsapp {"enabled": true, "config": {"API_KEY": "...", "SOURCE": "...", "SRC_NAME": "..."}}';

/**
 * The app cannot send through gupshup_whatsapp (422): the provider is not configured or not
 * enabled, or its stored API key no longer decrypts (SECRET_KEY changed) and must be set again.
 */
export class ProviderNotEnabledError extends UnprocessableEntityException {
  constructor(
    readonly appId: string,
    readonly reason: 'not_enabled' | 'credentials_unreadable' = 'not_enabled',
  ) {
    super(
      reason === 'not_enabled'
        ? `The gupshup_whatsapp provider is not enabled for this app. Enable it with ${HOW_TO_ENABLE}`
        : `The stored gupshup_whatsapp API key of this app cannot be decrypted (the service's SECRET_KEY changed). Set it again with ${HOW_TO_ENABLE}`,
    );
    this.name = 'ProviderNotEnabledError';
  }
}

/** The Idempotency-Key was used in the last 24 hours with a different body (409). */
export class IdempotencyKeyConflictError extends ConflictException {
  constructor(readonly idempotencyKey: string) {
    super(
      `Idempotency-Key "${idempotencyKey}" was already used with a different body in the last 24 hours; ` +
        'send the same body to get the first response again, or use a new key for a new notification',
    );
    this.name = 'IdempotencyKeyConflictError';
  }
}

/** `sendTo.topics` (422): this service keeps no topics; name the users in sendTo.recipients. */
export class TopicsNotSupportedError extends UnprocessableEntityException {
  constructor() {
    super('sendTo.topics: topics are not supported by this service; list the user identifiers in sendTo.recipients instead');
    this.name = 'TopicsNotSupportedError';
  }
}

/** The request names a WhatsApp template that this app has not registered (400). */
export class UnknownTemplateError extends InvalidNotificationError {
  constructor(readonly templateIdentifier: string) {
    super([`unknown template ${JSON.stringify(templateIdentifier)}: no WhatsApp template is registered under this identifier in this app`]);
    this.name = 'UnknownTemplateError';
  }
}
