import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, WebhookSigner } from './webhook-signing';

describe('WebhookSigner', () => {
  const bodies = ['{"type":"message.sent","data":{"messageId":"m-1"}}', '{"type":"message.seen","data":{"recipient":"Zoë – 北京 🚀"}}', ''];

  it('signs as the standardwebhooks package does, and the package verifies it', () => {
    for (const body of bodies) {
      const secret = newWebhookSecret();
      const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
      const headers = new WebhookSigner(secret).sign('4b7d7a2e-9f0c-4b53-a4c1-2f6f3c1d9e10', at, body);
      expect(headers['webhook-timestamp']).toBe(String(Math.floor(at / 1000)));
      expect(headers['webhook-signature']).toBe(new Webhook(secret).sign(headers['webhook-id'], new Date(Math.floor(at / 1000) * 1000), body));
      const now = jest.spyOn(Date, 'now').mockReturnValue(at);
      try {
        expect(() => new Webhook(secret).verify(body, { ...headers })).not.toThrow();
      } finally {
        now.mockRestore();
      }
    }
  });

  it('signs with the previous secret too when given one: a receiver on either verifies', () => {
    const [current, previous, other] = [newWebhookSecret(), newWebhookSecret(), newWebhookSecret()];
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    const body = bodies[0];
    const headers = new WebhookSigner(current, previous).sign('4b7d7a2e-9f0c-4b53-a4c1-2f6f3c1d9e10', at, body);
    expect(headers['webhook-signature'].split(' ')).toEqual([new WebhookSigner(current).sign(headers['webhook-id'], at, body)['webhook-signature'], new WebhookSigner(previous).sign(headers['webhook-id'], at, body)['webhook-signature']]);
    const now = jest.spyOn(Date, 'now').mockReturnValue(at);
    try {
      expect(() => new Webhook(current).verify(body, { ...headers })).not.toThrow();
      expect(() => new Webhook(previous).verify(body, { ...headers })).not.toThrow();
      expect(() => new Webhook(other).verify(body, { ...headers })).toThrow();
    } finally {
      now.mockRestore();
    }
  });

  it('refuses an empty secret', () => {
    expect(() => new WebhookSigner('whsec_')).toThrow(/empty/);
  });
});
