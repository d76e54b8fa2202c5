/**
 * What a failure code from Gupshup or Meta means for the message (docs/dispatch-policy.md,
 * "Failure classes", lists each code with its source):
 * - `passing`: a condition that goes away (throttling, a temporary error): the message is tried
 *   again with the dispatch backoff, within DISPATCH_MAX_ATTEMPTS;
 * - `account`: the app's account cannot send at all (wallet empty, rate-limited by Gupshup):
 *   the app's dispatch is paused, its messages kept queued, until an operator resumes it;
 * - `permanent`: this message will never go; it is discarded. Any code not listed is permanent,
 *   as every failure was before classes existed.
 */
export type FailureClass = 'passing' | 'permanent' | 'account';

export interface FailureCodeEntry {
  readonly class: FailureClass;
  readonly meaning: string;
  readonly source: 'gupshup' | 'meta' | 'meta-on-premises';
}

export const FAILURE_CODES: Readonly<Record<string, FailureCodeEntry>> = {
  // Gupshup (GUPSHUP.md §2.9, from docs.gupshup.io/docs/error-and-status-messages)
  '500': { class: 'passing', meaning: 'Internal Server Error', source: 'gupshup' },
  '1001': { class: 'permanent', meaning: 'Last Mapped Bot Failed', source: 'gupshup' },
  '1002': { class: 'permanent', meaning: 'Number Not Exist On WhatsApp', source: 'gupshup' },
  '1003': { class: 'account', meaning: 'Wallet Balance Low', source: 'gupshup' },
  '1004': { class: 'permanent', meaning: 'Template Disabled Failure', source: 'gupshup' },
  '1005': { class: 'permanent', meaning: 'Template Match Failed', source: 'gupshup' },
  '1006': { class: 'permanent', meaning: 'Template Opt-in Failure', source: 'gupshup' },
  '1007': { class: 'permanent', meaning: 'Template Opt-in Match Failure', source: 'gupshup' },
  '1008': { class: 'permanent', meaning: 'Neither Proxied Nor Opted-in', source: 'gupshup' },
  '1010': { class: 'permanent', meaning: 'Invalid Media Url', source: 'gupshup' },
  '1011': { class: 'permanent', meaning: 'Invalid Media Size', source: 'gupshup' },
  '1012': { class: 'permanent', meaning: 'Number Opted Out', source: 'gupshup' },
  '4001': { class: 'account', meaning: 'API Rate Limited: stop sending and contact Gupshup', source: 'gupshup' },
  '4002': { class: 'passing', meaning: 'Invalid Response From WhatsApp', source: 'gupshup' },
  '4003': { class: 'permanent', meaning: 'No Template Match', source: 'gupshup' },
  '4004': { class: 'permanent', meaning: 'Only CAPI Feature', source: 'gupshup' },
  '4005': { class: 'permanent', meaning: 'Paused Template', source: 'gupshup' },
  // Meta's On-Premises API codes, still seen in Gupshup's v2 callbacks
  '470': { class: 'permanent', meaning: 'More than 24 hours since the customer last replied', source: 'meta-on-premises' },
  '471': { class: 'account', meaning: 'Spam rate limit hit: the number sends too many messages users block or report', source: 'meta-on-premises' },
  // Meta Cloud API (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
  '1': { class: 'passing', meaning: 'API Unknown: invalid request or possible server error', source: 'meta' },
  '2': { class: 'passing', meaning: 'API Service: temporary downtime or overload', source: 'meta' },
  '4': { class: 'passing', meaning: 'API Too Many Calls: app-level rate limit', source: 'meta' },
  '80007': { class: 'passing', meaning: 'Rate limit issues: the WhatsApp Business Account reached its rate limit', source: 'meta' },
  '130429': { class: 'passing', meaning: 'Rate limit hit: Cloud API message throughput reached', source: 'meta' },
  '131000': { class: 'passing', meaning: 'Something went wrong: unknown error, try again', source: 'meta' },
  '131016': { class: 'passing', meaning: 'Service unavailable: a service is temporarily unavailable', source: 'meta' },
  '131048': { class: 'passing', meaning: 'Spam rate limit hit: too many messages from this number', source: 'meta' },
  '131056': { class: 'passing', meaning: '(Business account, consumer account) pair rate limit hit', source: 'meta' },
  '131057': { class: 'passing', meaning: 'Account in maintenance mode (e.g. a throughput upgrade)', source: 'meta' },
  '133004': { class: 'passing', meaning: 'Server temporarily unavailable', source: 'meta' },
  '368': { class: 'account', meaning: 'Temporarily blocked for policies violations', source: 'meta' },
  '131031': { class: 'account', meaning: 'Business account has been locked', source: 'meta' },
  '131042': { class: 'account', meaning: 'Business eligibility payment issue', source: 'meta' },
  '131026': { class: 'permanent', meaning: 'Message undeliverable (not on WhatsApp, old app, terms not accepted)', source: 'meta' },
  '131047': { class: 'permanent', meaning: 'Re-engagement message: more than 24 hours since the customer last replied', source: 'meta' },
  '131049': { class: 'permanent', meaning: 'Not delivered to maintain healthy ecosystem engagement', source: 'meta' },
  '131050': { class: 'permanent', meaning: 'The user stopped receiving marketing messages', source: 'meta' },
  '132000': { class: 'permanent', meaning: 'Template parameter count mismatch', source: 'meta' },
  '132001': { class: 'permanent', meaning: 'Template does not exist', source: 'meta' },
  '132012': { class: 'permanent', meaning: 'Template parameter format mismatch', source: 'meta' },
  '132015': { class: 'permanent', meaning: 'Template is paused', source: 'meta' },
  '132016': { class: 'permanent', meaning: 'Template is disabled', source: 'meta' },
};

/** The class of a failure code (a number or its text); codes not listed, or none, are permanent. */
export function failureClassOf(code: string | number | undefined | null): FailureClass {
  if (code === undefined || code === null) return 'permanent';
  return FAILURE_CODES[String(code).trim()]?.class ?? 'permanent';
}
