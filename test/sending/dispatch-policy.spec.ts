import fc from 'fast-check';
import { WhatsAppDispatchFailed, WhatsAppDispatchOutcomeUnknown, WhatsAppMessageDiscarded, WhatsAppMessageSent } from '../../src/whatsapp/domain';
import { ARRIVAL_MARGIN_SECONDS, rateLimitShape } from '../../src/whatsapp/sending/dispatch/app-rate-limiter';
import { decideAttemptOutcome, dispatchEventId, MAX_RETRY_DELAY_MS, retryDelayMs } from '../../src/whatsapp/sending/dispatch/dispatch-outcome';

const context = { appId: 'app-1', messageId: '6f1c1a52-8c1e-4c55-9a51-1d8a3f1b2c3d', attempt: 1 };
const policy = { maxAttempts: 3, backoffMs: 1000 };
const now = new Date('2026-11-24T10:00:00.000Z');

describe('retryDelayMs', () => {
  it('doubles per attempt, with equal jitter: between half and all of backoff × 2^(attempt-1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 100_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, backoff, r) => {
        const full = Math.min(Math.max(MAX_RETRY_DELAY_MS, backoff), backoff * 2 ** (attempt - 1));
        const delay = retryDelayMs(attempt, backoff, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(full / 2));
        expect(delay).toBeLessThanOrEqual(Math.ceil(full));
      }),
    );
    expect(retryDelayMs(1, 1000, () => 0)).toBe(500);
    expect(retryDelayMs(3, 1000, () => 0.999999)).toBe(4000);
  });

  it('never waits more than an hour, however many attempts came before', () => {
    expect(retryDelayMs(100, 1000, () => 0.999999)).toBeLessThanOrEqual(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(100, 1000, () => 0)).toBe(MAX_RETRY_DELAY_MS / 2);
  });
});

describe('decideAttemptOutcome', () => {
  it('records an accepted send once, with Gupshup\'s id, and never retries it', () => {
    const decision = decideAttemptOutcome(context, { outcome: 'accepted', messageId: 'gs-1', httpStatus: 200 }, policy, now);
    expect(decision.job).toEqual({ state: 'sent', providerMessageId: 'gs-1' });
    expect(decision.events).toHaveLength(1);
    expect(decision.events[0]).toBeInstanceOf(WhatsAppMessageSent);
    expect(decision.events[0].data).toEqual({ appId: 'app-1', messageId: context.messageId, providerMessageId: 'gs-1', attempt: 1, sentAt: now.toISOString() });
    expect(decision.events[0].eventId).toBe(dispatchEventId(context.messageId, 1, 'sent'));
  });

  it('retries 429, 5xx, passing failure codes and connections never opened until the last attempt', () => {
    for (const outcome of [
      { outcome: 'retryable' as const, kind: 'http' as const, httpStatus: 429, message: 'Too Many Requests' },
      { outcome: 'retryable' as const, kind: 'http' as const, httpStatus: 503, message: 'Service Unavailable' },
      { outcome: 'retryable' as const, kind: 'http' as const, httpStatus: 400, message: 'Rate limit hit', code: '130429' },
      { outcome: 'retryable' as const, kind: 'timeout' as const, message: 'request not sent: UND_ERR_CONNECT_TIMEOUT' },
      { outcome: 'retryable' as const, kind: 'network' as const, message: 'request not sent: ECONNREFUSED' },
    ]) {
      const retry = decideAttemptOutcome(context, outcome, policy, now, () => 0);
      expect(retry.job).toMatchObject({ state: 'pending', dueAt: new Date(now.getTime() + 500) });
      expect(retry.events.map((event) => event.constructor)).toEqual([WhatsAppDispatchFailed]);

      const last = decideAttemptOutcome({ ...context, attempt: 3 }, outcome, policy, now);
      expect(last.job.state).toBe('discarded');
      expect(last.events.map((event) => event.constructor)).toEqual([WhatsAppDispatchFailed, WhatsAppMessageDiscarded]);
      expect(last.events[0].data).toMatchObject({ attempt: 3, nextAttemptAt: null });
      expect(last.events[1].data).toMatchObject({ source: 'dispatch', code: 'attempts_exhausted' });
      expect((last.events[1].data as { reason: string }).reason).toContain(outcome.message);
    }
  });

  it('parks a call that may have reached Gupshup as outcome_unknown, never to be retried', () => {
    const startedAt = new Date(now.getTime() - 10_000);
    for (const kind of ['timeout', 'network'] as const) {
      const decision = decideAttemptOutcome(context, { outcome: 'unknown', kind, message: 'no answer' }, policy, now, () => 0, startedAt);
      expect(decision.job).toMatchObject({ state: 'outcome_unknown' });
      expect(decision.events.map((event) => event.constructor)).toEqual([WhatsAppDispatchOutcomeUnknown]);
      expect(decision.events[0].data).toEqual({ appId: 'app-1', messageId: context.messageId, attempt: 1, startedAt: startedAt.toISOString(), detectedAt: now.toISOString() });
      expect(decision.events[0].eventId).toBe(dispatchEventId(context.messageId, 1, 'outcome_unknown'));
    }
  });

  it('queues an account-level failure again, due now, and asks for the app to be paused', () => {
    const decision = decideAttemptOutcome({ ...context, attempt: 3 }, { outcome: 'account', httpStatus: 402, code: '1003', message: 'Wallet Balance Low' }, policy, now);
    expect(decision.job).toMatchObject({ state: 'pending', dueAt: now });
    expect(decision.pause).toEqual({ code: '1003', reason: 'Wallet Balance Low' });
    expect(decision.events.map((event) => event.constructor)).toEqual([WhatsAppDispatchFailed]);
    expect(decision.events[0].data).toMatchObject({ attempt: 3, code: '1003', failureClass: 'account', nextAttemptAt: null });
  });

  it('discards a rejected request at once, with Gupshup\'s message', () => {
    const decision = decideAttemptOutcome(context, { outcome: 'rejected', httpStatus: 400, message: 'Invalid App Details' }, policy, now);
    expect(decision.job).toEqual({ state: 'discarded', lastError: 'HTTP 400: Invalid App Details' });
    expect(decision.events[1].data).toEqual({
      appId: 'app-1',
      messageId: context.messageId,
      code: 'http_400',
      reason: 'Invalid App Details',
      source: 'provider',
      discardedAt: now.toISOString(),
    });
  });
});

/**
 * The limiter's rule (ACQUIRE_SQL) in plain numbers: at `at`, up to `wanted` sends, as many as
 * keep the bucket's `tat` within `burst` intervals of now.
 */
function grantTimes(shape: { intervalSeconds: number; burst: number }, asks: { at: number; wanted: number }[]): number[] {
  const { intervalSeconds: interval, burst } = shape;
  let tat = -Infinity;
  const granted: number[] = [];
  for (const { at, wanted } of asks) {
    const freeFrom = Math.max(tat, at);
    const n = Math.min(wanted, Math.floor((at + interval * burst - freeFrom) / interval + 1e-9));
    if (n < 1) continue;
    tat = freeFrom + interval * n;
    for (let i = 0; i < n; i++) granted.push(at);
  }
  return granted;
}

/** The most grants in any window [t, t + windowSeconds) that starts at a grant. */
function busiest(times: number[], windowSeconds: number): number {
  let most = 0;
  for (let start = 0, end = 0; start < times.length; start++) {
    while (end < times.length && times[end] < times[start] + windowSeconds) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

describe('rateLimitShape', () => {
  it('spaces sends evenly, without bursts, up to 20 a second, with 50 ms to spare in each second', () => {
    expect(ARRIVAL_MARGIN_SECONDS).toBe(0.05);
    expect(rateLimitShape(10)).toEqual({ intervalSeconds: expect.closeTo(0.105, 9), burst: 1 });
    expect(rateLimitShape(20)).toEqual({ intervalSeconds: expect.closeTo(0.0525, 9), burst: 1 });
    expect(rateLimitShape(0.5).intervalSeconds).toBeCloseTo(2.1);
  });

  it('allows bursts of 50 ms worth above that', () => {
    expect(rateLimitShape(100)).toEqual({ intervalSeconds: expect.closeTo(1.05 / 96, 9), burst: 5 });
    expect(rateLimitShape(21)).toMatchObject({ burst: 2 });
  });

  it('never grants more than the limit in any 1 s + margin, however often and for how many the workers ask', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        // Workers asking every few microseconds to every few hundred milliseconds.
        fc.constantFrom(1, 10, 100, 1_000, 10_000),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 30 }), wanted: fc.integer({ min: 1, max: 20 }) }), { minLength: 1, maxLength: 3_000, size: 'max' }),
        (limit, microsPerGap, asks) => {
          let at = 0;
          const times = grantTimes(
            rateLimitShape(limit),
            asks.map(({ gap, wanted }) => ({ at: (at += (gap * microsPerGap) / 1e6), wanted })),
          );
          expect(busiest(times, 1 + ARRIVAL_MARGIN_SECONDS - 1e-6)).toBeLessThanOrEqual(limit);
        },
      ),
      // Shrinking thousands of asks takes minutes; the first counterexample says enough.
      { endOnFailure: true },
    );
  });

  it('still sends at the limit less the margin when asked without pause', () => {
    for (const limit of [1, 10, 20, 21, 100, 1000]) {
      const asks = Array.from({ length: 20_000 }, (_, i) => ({ at: i / 10_000, wanted: 1 }));
      const times = grantTimes(rateLimitShape(limit), asks);
      expect(times.length / 2).toBeGreaterThanOrEqual((limit / (1 + ARRIVAL_MARGIN_SECONDS)) * 0.9);
    }
  });
});
