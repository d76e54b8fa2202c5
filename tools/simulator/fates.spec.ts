import fc from 'fast-check';
import { DEFAULT_CALLBACK_BEHAVIOUR, defaultFateFor, emissionOrder, plannedStatuses, resolveFate } from './fates';

const behaviour = DEFAULT_CALLBACK_BEHAVIOUR;

describe('defaultFateFor', () => {
  it.each([
    ['919876543210', 'read'],
    ['919876543215', 'read'],
    ['919876543216', 'delivered'],
    ['919876543217', 'delivered'],
    ['919876543218', 'sent'],
    ['919876543219', 'failed'],
  ])('%s -> %s', (destination, final) => {
    expect(defaultFateFor(destination).final).toBe(final);
  });

  it('fails the 9s with 1002, before WhatsApp', () => {
    expect(resolveFate(defaultFateFor('919876543219'), behaviour, 'default').failure).toEqual({
      code: 1002,
      reason: 'Number Does Not Exist On WhatsApp',
      stage: 'sync',
    });
  });
});

describe('resolveFate', () => {
  it('knows the stage and reason of real codes and lets the rule override them', () => {
    expect(resolveFate({ final: 'failed', code: 470 }, behaviour, 'override').failure).toMatchObject({ stage: 'async' });
    expect(resolveFate({ final: 'failed', code: '131047' }, behaviour, 'override').failure).toEqual({
      code: '131047',
      reason: 'Re-engagement message',
      stage: 'async',
    });
    expect(resolveFate({ final: 'failed', code: 1008, reason: 'custom', stage: 'async' }, behaviour, 'override').failure).toEqual({
      code: 1008,
      reason: 'custom',
      stage: 'async',
    });
    expect(resolveFate({ final: 'failed', code: 99999 }, behaviour, 'override').failure).toEqual({
      code: 99999,
      reason: 'Message failed to send',
      stage: 'async',
    });
  });

  it('lets a rule override the global behaviour field by field', () => {
    const resolved = resolveFate({ final: 'read', skipDelivered: true, delayMs: 5 }, { ...behaviour, duplicates: true, delayMs: 1 }, 'rule');
    expect(resolved.behaviour).toEqual({ ...behaviour, duplicates: true, delayMs: 5, readWithoutDelivered: true });
  });
});

describe('plannedStatuses', () => {
  it.each([
    [{ final: 'read' as const }, ['enqueued', 'sent', 'delivered', 'read']],
    [{ final: 'read' as const, readWithoutDelivered: true }, ['enqueued', 'sent', 'read']],
    [{ final: 'delivered' as const }, ['enqueued', 'sent', 'delivered']],
    [{ final: 'sent' as const }, ['enqueued', 'sent']],
    [{ final: 'failed' as const, code: 1002 }, ['failed']],
    [{ final: 'failed' as const, code: 470 }, ['enqueued', 'failed']],
  ])('%j', (rule, statuses) => {
    expect(plannedStatuses(resolveFate(rule, behaviour, 'override'))).toEqual(statuses);
  });
});

describe('emissionOrder', () => {
  it('keeps the natural order by default and doubles each event with duplicates', () => {
    expect(emissionOrder(3, behaviour, Math.random)).toEqual([0, 1, 2]);
    expect(emissionOrder(3, { ...behaviour, duplicates: true }, Math.random)).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('always really reorders, whatever the randomness, and loses nothing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.boolean(), fc.array(fc.double({ min: 0, max: 0.9999999, noNaN: true }), { minLength: 1 }), (count, duplicates, draws) => {
        let i = 0;
        const random = () => draws[i++ % draws.length];
        const order = emissionOrder(count, { ...behaviour, reorder: true, duplicates }, random);
        const natural = emissionOrder(count, { ...behaviour, duplicates }, random);
        expect([...order].sort()).toEqual([...natural].sort());
        expect(order).not.toEqual(natural);
      }),
    );
  });

  it('cannot reorder a single event', () => {
    expect(emissionOrder(1, { ...behaviour, reorder: true, duplicates: true }, Math.random)).toEqual([0, 0]);
  });
});
