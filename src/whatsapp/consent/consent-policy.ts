import { Injectable } from '@nestjs/common';
import { GupshupProviderConfigService } from '../../apps';
import { Database } from '../../database/database';
import type { DispatchContent } from '../sending/dispatch/dispatch-jobs';
import { activeSuppressions, lastCustomerMessages, type Suppression } from './consent-records';
import { SUPPRESSION_REASONS, type SuppressionReason } from './consent.events';

/** WhatsApp's customer service window: messages other than templates only within 24 hours of the person's last message. */
export const SESSION_WINDOW_MS = 24 * 3_600_000;

export const OUTSIDE_SESSION_WINDOW = 'outside_session_window';

/** A message about to be accepted or sent. */
export interface ConsentCandidate {
  messageId: string;
  /** E.164. */
  phoneNumber: string;
  /** Templates may be sent outside the session window. */
  template: boolean;
}

/** Why the message must not be sent: its `discardReason`. */
export interface ConsentVerdict {
  code: SuppressionReason | typeof OUTSIDE_SESSION_WINDOW;
  reason: string;
}

/**
 * Whether what is to be sent is a template: the one kind of message WhatsApp lets a business
 * send outside the session window. A send names one through its `template` (the request's
 * registered template, or Gupshup's `template` field in the override, which is what routes it
 * to /wa/api/v1/template/msg).
 */
export function isTemplateSend(content: Pick<DispatchContent, 'overrideJson'> & { template?: unknown }): boolean {
  if (content.template !== undefined && content.template !== null) return true;
  if (content.overrideJson === null) return false;
  try {
    const override = JSON.parse(content.overrideJson) as unknown;
    return typeof override === 'object' && override !== null && Object.hasOwn(override, 'template') && (override as { template: unknown }).template != null;
  } catch {
    return false;
  }
}

/** The suppression that decides: opted out first, then not on WhatsApp, then an operator's. */
function decidingSuppression(suppressions: readonly Suppression[]): Suppression {
  return [...suppressions].sort((a, b) => SUPPRESSION_REASONS.indexOf(a.reason) - SUPPRESSION_REASONS.indexOf(b.reason))[0];
}

function suppressionVerdict(suppression: Suppression): ConsentVerdict {
  const number = suppression.phoneNumber;
  const lift = `DELETE /v3/channels/whatsapp/suppressions/${encodeURIComponent(number)} lifts it`;
  const until = suppression.until ? ` until ${suppression.until}` : '';
  switch (suppression.reason) {
    case 'opted_out':
      return { code: 'opted_out', reason: `${number} opted out of this app's WhatsApp messages on ${suppression.since}; an opt-in or ${lift}` };
    case 'not_on_whatsapp':
      return { code: 'not_on_whatsapp', reason: `Gupshup reported ${number} is not on WhatsApp (code 1002) on ${suppression.since}; it is suppressed${until}, or ${lift}` };
    default:
      return {
        code: 'manual',
        reason: `${number} is suppressed for this app since ${suppression.since}${until}${suppression.note ? ` (${suppression.note})` : ''}; ${lift}`,
      };
  }
}

/**
 * Decides which messages may not go to Gupshup for consent: a suppressed number, or (with the
 * app's enforceSessionWindow) a message other than a template to a number that has not written
 * in the last 24 hours. Asked when a message is accepted and again right before it is sent.
 */
@Injectable()
export class ConsentPolicy {
  constructor(
    private readonly db: Database,
    private readonly providers: GupshupProviderConfigService,
  ) {}

  async verdicts(appId: string, candidates: readonly ConsentCandidate[], now = new Date()): Promise<Map<string, ConsentVerdict>> {
    const verdicts = new Map<string, ConsentVerdict>();
    if (candidates.length === 0) return verdicts;
    const suppressions = await activeSuppressions(this.db, appId, candidates.map((c) => c.phoneNumber));
    for (const candidate of candidates) {
      const found = suppressions.get(candidate.phoneNumber);
      if (found?.length) verdicts.set(candidate.messageId, suppressionVerdict(decidingSuppression(found)));
    }

    const windowed = candidates.filter((c) => !c.template && !verdicts.has(c.messageId));
    if (windowed.length === 0 || !(await this.providers.enforcesSessionWindow(appId))) return verdicts;
    const lastWrote = await lastCustomerMessages(this.db, appId, windowed.map((c) => c.phoneNumber));
    for (const candidate of windowed) {
      const last = lastWrote.get(candidate.phoneNumber);
      if (last && now.getTime() - last.getTime() < SESSION_WINDOW_MS) continue;
      verdicts.set(candidate.messageId, {
        code: OUTSIDE_SESSION_WINDOW,
        reason:
          (last ? `${candidate.phoneNumber} last wrote to this app on ${last.toISOString()}, more than 24 hours ago` : `${candidate.phoneNumber} has not written to this app`) +
          ': outside the session window only a WhatsApp template may be sent (enforceSessionWindow is on)',
      });
    }
    return verdicts;
  }
}
