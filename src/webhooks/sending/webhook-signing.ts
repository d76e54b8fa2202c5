import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export const SECRET_PREFIX = 'whsec_';

/** A new endpoint secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks libraries expect. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** The headers that sign one attempt of a delivery (Standard Webhooks: id, timestamp, signature). */
export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** Signs bodies with an endpoint's secret; one per secret, reused across its deliveries. */
export class WebhookSigner {
  private readonly webhook: Webhook;

  constructor(secret: string) {
    this.webhook = new Webhook(secret);
  }

  sign(deliveryId: string, at: Date, body: string): SignedHeaders {
    // The library signs with whole seconds, as the specification's timestamp header has them.
    const seconds = Math.floor(at.getTime() / 1000);
    return {
      'webhook-id': deliveryId,
      'webhook-timestamp': String(seconds),
      'webhook-signature': this.webhook.sign(deliveryId, new Date(seconds * 1000), body),
    };
  }
}
