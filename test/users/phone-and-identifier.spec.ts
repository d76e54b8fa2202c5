import fc from 'fast-check';
import { e164ErrorMessage, identifierError, isE164 } from '../../src/users';

describe('isE164', () => {
  it.each(['+919988776655', '+14155550123', '+12345678', '+123456789012345'])('accepts %s', (phone) => expect(isE164(phone)).toBe(true));

  it.each(['(457)-746-846', '+91 99887 76655', '919988776655', '+1234567', '+1234567890123456', '+0123456789', '+91-9988776655', ' +919988776655', '+919988776655\n', '', null, 919988776655])(
    'rejects %j',
    (phone) => expect(isE164(phone)).toBe(false),
  );

  it('accepts exactly "+", a non-zero digit, then 7 to 14 digits', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (text) => {
        const expected = text.length >= 9 && text.length <= 16 && text[0] === '+' && /^[1-9]$/.test(text[1] ?? '') && [...text.slice(2)].every((c) => c >= '0' && c <= '9');
        expect(isE164(text)).toBe(expected);
      }),
    );
  });

  it('explains the rule with a valid example, and shows what was received', () => {
    expect(e164ErrorMessage()).toBe(
      'phoneNumber must be in E.164 format: a + followed by the country code and number, 8 to 15 digits in all, with no spaces or punctuation (for example +919988776655)',
    );
    expect(e164ErrorMessage('recipient.phoneNumber', '(457)-746-846')).toMatch(/^recipient\.phoneNumber must be in E\.164 format.*; got "\(457\)-746-846"$/);
    expect(e164ErrorMessage('phoneNumber', 42)).toMatch(/; got number$/);
  });
});

describe('identifierError', () => {
  it.each(['a', 'x'.repeat(128), '😀'.repeat(128), 'ada@example.com', 'with space', 'a%2Fb'])('accepts %j', (id) => expect(identifierError(id)).toBeNull());

  it.each([
    ['', /got an empty identifier/],
    ['x'.repeat(129), /got 129 characters/],
    ['😀'.repeat(129), /got 129 characters/],
    ['a/b', /containing "\/"/],
    ['a\u0000b', /control character/],
    ['a\u009fb', /control character/],
    ['\ud800', /not valid Unicode/],
  ])('rejects %j, stating the rule', (id, detail) => {
    const message = identifierError(id);
    expect(message).toMatch(/^A user identifier must be 1 to 128 characters, without "\/" or control characters/);
    expect(message).toMatch(detail);
  });
});
