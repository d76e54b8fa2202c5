/** E.164: a +, a country code that does not start with 0, 8 to 15 digits in all, nothing else. */
export const E164_PATTERN = /^\+[1-9]\d{7,14}$/;

export const E164_EXAMPLE = '+919988776655';

export const E164_RULE = `must be in E.164 format: a + followed by the country code and number, 8 to 15 digits in all, with no spaces or punctuation (for example ${E164_EXAMPLE})`;

export function isE164(phone: unknown): phone is string {
  return typeof phone === 'string' && E164_PATTERN.test(phone);
}

/** What is wrong with a phone number, without the field's name: the rule, a valid example, and what was received. */
export function e164Problem(received?: unknown): string {
  if (received === undefined) return E164_RULE;
  const shown = typeof received === 'string' ? JSON.stringify(received.length > 40 ? `${received.slice(0, 40)}...` : received) : typeof received;
  return `${E164_RULE}; got ${shown}`;
}

/** The 400 message for a bad phone number: the rule, a valid example, and what was received. */
export function e164ErrorMessage(field = 'phoneNumber', received?: unknown): string {
  return `${field} ${e164Problem(received)}`;
}

/** Enough of a number to tell it apart in a log line, not enough to give it away. */
export function maskedPhoneNumber(phoneNumber: string): string {
  return `${phoneNumber.slice(0, 3)}…${phoneNumber.slice(-4)}`;
}
