// Not the users barrel: the dashboard's browser code bundles this file (web/src/pages/messages.tsx), so it imports nothing that pulls in Nest or Node.
import { isE164 } from '../../users/phone-number';

/**
 * A phone number as this service keeps it (E.164, as users' numbers are), from what a caller
 * or Gupshup gives: E.164 as is, or its digits without the `+` (Gupshup's form, and what a `+`
 * becomes in a query string, where it reads as a space). Null when it is not a phone number.
 */
export function contactNumber(value: string): string | null {
  const trimmed = value.trim();
  const candidate = /^\d+$/.test(trimmed) ? `+${trimmed}` : trimmed;
  return isE164(candidate) ? candidate : null;
}

/** The `destination` of a dispatch job (digits) back to E.164. */
export function numberOfDestination(destination: string): string {
  return destination.startsWith('+') ? destination : `+${destination}`;
}
