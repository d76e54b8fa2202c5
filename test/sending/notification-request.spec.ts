import fc from 'fast-check';
import { bodyHash, canonicalJson } from '../../src/whatsapp/sending/idempotency';
import { InvalidNotificationError } from '../../src/whatsapp/sending/errors';
import { MAX_TEXT_LENGTH, parseNotificationRequest } from '../../src/whatsapp/sending/notification-request';

function shuffleKeys(value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, random));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).sort(() => random() - 0.5);
  return Object.fromEntries(entries.map(([key, item]) => [key, shuffleKeys(item, random)]));
}

describe('canonicalJson', () => {
  it('gives the same text for any key order, and different text for different values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        let state = seed;
        const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 + 1) % 1;
        expect(canonicalJson(shuffleKeys(value, random))).toBe(canonicalJson(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
    expect(bodyHash({ a: 1, b: 2 })).toBe(bodyHash({ b: 2, a: 1 }));
    expect(bodyHash({ a: 1 })).not.toBe(bodyHash({ a: '1' }));
  });
});

describe('parseNotificationRequest', () => {
  it('builds the text from the title, a blank line and the message', () => {
    const request = parseNotificationRequest({ notification: { title: 'Shipped', message: 'Track it' }, recipients: ['u1'] });
    expect(request.text).toBe('Shipped\n\nTrack it');
    expect(request.recipients).toEqual([{ identifier: 'u1' }]);
    expect(request.sendAt).toBeNull();
    expect(request.gupshupOverride).toBeNull();
  });

  it('takes the override from either spelling and splits off _config', () => {
    const request = parseNotificationRequest({
      notification: { title: 'x' },
      sendTo: { recipients: ['u1'] },
      override: { gushup_whatsapp: { _config: { SOURCE: '15550001111' }, disablePreview: true } },
    });
    expect(request.gupshupOverride).toEqual({ disablePreview: true });
    expect(request.configOverride).toEqual({ SOURCE: '15550001111' });
  });

  it('merges the profile fields of a user given twice, keeping one recipient', () => {
    const request = parseNotificationRequest({
      notification: { title: 'x' },
      sendTo: { recipients: [{ identifier: 'u1', phoneNumber: '+14155550123' }, 'u2'] },
      recipients: [{ identifier: 'u1', firstName: 'Ada' }, 'u2'],
    });
    expect(request.recipients).toEqual([{ identifier: 'u1', profile: { phoneNumber: '+14155550123', firstName: 'Ada' } }, { identifier: 'u2' }]);
  });

  it('refuses a text longer than WhatsApp allows, unless the override replaces the text', () => {
    const long = { notification: { title: 'x'.repeat(MAX_TEXT_LENGTH + 1) }, recipients: ['u1'] };
    expect(() => parseNotificationRequest(long)).toThrow(InvalidNotificationError);
    expect(() => parseNotificationRequest({ ...long, override: { gupshup_whatsapp: { template: { id: 't' } } } })).not.toThrow();
  });
});
