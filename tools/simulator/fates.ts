/**
 * What happens to a message the simulator accepted: which callbacks it produces, in which order.
 * Pure functions; the simulator supplies randomness so tests can make it deterministic.
 */
import type { ProviderStatus } from '../../src/whatsapp/gupshup/callback-parser';

export type FinalStatus = 'sent' | 'delivered' | 'read' | 'failed';

/** sync: Gupshup refuses before WhatsApp (no enqueued; the failure carries Gupshup's id in `id`). async: WhatsApp fails it after enqueued. */
export type FailureStage = 'sync' | 'async';

export interface CallbackBehaviour {
  /** Wait before each callback, in milliseconds. */
  delayMs: number;
  /** Post the callbacks of a message in a shuffled order (never the natural one when there are two or more). */
  reorder: boolean;
  /** Post every callback twice. */
  duplicates: boolean;
  /** A read that comes without the delivered before it (GUPSHUP.md §2.1). */
  readWithoutDelivered: boolean;
  /** Post every callback before answering the send request. */
  callbackBeforeResponse: boolean;
  /** Leave gsId (v2) / gs_id (v3) out of sent, delivered and read, as on DLRs that arrive after a week. */
  omitGsId: boolean;
}

/** A fate as a test or user states it; unset behaviour fields fall back to the simulator's settings. */
export interface FateRule extends Partial<CallbackBehaviour> {
  final: FinalStatus;
  code?: number | string;
  reason?: string;
  stage?: FailureStage;
  /** Same as readWithoutDelivered. */
  skipDelivered?: boolean;
}

export interface ResolvedFate {
  final: FinalStatus;
  failure?: { code: number | string; reason: string; stage: FailureStage };
  behaviour: CallbackBehaviour;
  /** Where the fate came from: a per-destination override, the configured rule, or the last-digit default. */
  source: 'override' | 'rule' | 'default';
}

export const DEFAULT_CALLBACK_BEHAVIOUR: CallbackBehaviour = {
  delayMs: 0,
  reorder: false,
  duplicates: false,
  readWithoutDelivered: false,
  callbackBeforeResponse: false,
  omitGsId: false,
};

/** Real failure codes (GUPSHUP.md §2.9 and Meta's list), with the stage at which each one happens. */
export const KNOWN_FAILURES: Readonly<Record<string, { reason: string; stage: FailureStage }>> = {
  '1002': { reason: 'Number Does Not Exist On WhatsApp', stage: 'sync' },
  '1003': { reason: 'Unable To Send Message / Check your wallet balance.', stage: 'sync' },
  '1005': { reason: 'User inactive for session message, template did not match', stage: 'sync' },
  '1008': { reason: 'User is not Opted in and Inactive', stage: 'sync' },
  '1012': { reason: 'Number Opted Out', stage: 'sync' },
  '4001': { reason: 'API Rate Limited', stage: 'sync' },
  '4003': { reason: 'No Template Match', stage: 'sync' },
  '470': {
    reason: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number',
    stage: 'async',
  },
  '131026': { reason: 'Message undeliverable', stage: 'async' },
  '131047': { reason: 'Re-engagement message', stage: 'async' },
  '131049': { reason: 'This message was not delivered to maintain healthy ecosystem engagement.', stage: 'async' },
  '131050': { reason: 'User has stopped receiving marketing messages', stage: 'async' },
};

/**
 * The fate by the destination's last digit, so a plain run shows every outcome:
 * 0-5 read, 6-7 delivered, 8 sent only, 9 failed with 1002 "Number Does Not Exist On WhatsApp".
 */
export function defaultFateFor(destination: string): FateRule {
  const lastDigit = Number(destination.at(-1));
  if (lastDigit <= 5) return { final: 'read' };
  if (lastDigit <= 7) return { final: 'delivered' };
  if (lastDigit === 8) return { final: 'sent' };
  return { final: 'failed', code: 1002 };
}

export function resolveFate(rule: FateRule, settings: CallbackBehaviour, source: ResolvedFate['source']): ResolvedFate {
  const behaviour: CallbackBehaviour = {
    delayMs: rule.delayMs ?? settings.delayMs,
    reorder: rule.reorder ?? settings.reorder,
    duplicates: rule.duplicates ?? settings.duplicates,
    readWithoutDelivered: rule.skipDelivered ?? rule.readWithoutDelivered ?? settings.readWithoutDelivered,
    callbackBeforeResponse: rule.callbackBeforeResponse ?? settings.callbackBeforeResponse,
    omitGsId: rule.omitGsId ?? settings.omitGsId,
  };
  if (rule.final !== 'failed') return { final: rule.final, behaviour, source };
  const code = rule.code ?? 1002;
  const known = KNOWN_FAILURES[String(code)];
  return {
    final: 'failed',
    failure: { code, reason: rule.reason ?? known?.reason ?? 'Message failed to send', stage: rule.stage ?? known?.stage ?? 'async' },
    behaviour,
    source,
  };
}

/** The provider statuses a fate produces, in the order they happen. */
export function plannedStatuses(fate: ResolvedFate): ProviderStatus[] {
  switch (fate.final) {
    case 'failed':
      return fate.failure?.stage === 'sync' ? ['failed'] : ['enqueued', 'failed'];
    case 'sent':
      return ['enqueued', 'sent'];
    case 'delivered':
      return ['enqueued', 'sent', 'delivered'];
    case 'read':
      return fate.behaviour.readWithoutDelivered ? ['enqueued', 'sent', 'read'] : ['enqueued', 'sent', 'delivered', 'read'];
  }
}

/**
 * Indexes into the planned statuses, in the order they are posted: each twice with duplicates, shuffled with reorder.
 */
export function emissionOrder(count: number, behaviour: CallbackBehaviour, random: () => number): number[] {
  const natural = Array.from({ length: count }, (_, index) => index).flatMap((index) => (behaviour.duplicates ? [index, index] : [index]));
  if (!behaviour.reorder || new Set(natural).size < 2) return natural;
  // A shuffle may land on the natural order; a reorder test must see a real reorder.
  for (let tries = 0; tries < 10; tries++) {
    const shuffled = shuffle(natural, random);
    if (!isNonDecreasing(shuffled)) return shuffled;
  }
  return [...natural].reverse();
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1)) % (i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function isNonDecreasing(values: readonly number[]): boolean {
  return values.every((value, index) => index === 0 || values[index - 1] <= value);
}
