import { BadRequestException, ConflictException, UnprocessableEntityException } from '@nestjs/common';

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

/** The app has not enabled the gupshup_whatsapp provider (422). */
export class ProviderNotEnabledError extends UnprocessableEntityException {
  constructor(readonly appId: string) {
    super(
      'The gupshup_whatsapp provider is not enabled for this app. Enable it with ' +
        'PUT /v3/channels/whatsapp/providers/gupshup_whatsapp {"enabled": true, "config": {"API_KEY": "...", "SOURCE": "...", "SRC_NAME": "..."}}',
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
