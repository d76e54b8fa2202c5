import { callbackFixtureBody } from '../../../test/fixtures/gupshup';
import { parseBillingReports, parsePricing } from './callback-parser';
import { parseContactEvents } from './contact-events-parser';

describe('parseContactEvents', () => {
  const receivedAt = new Date('2026-12-01T10:00:00Z');

  it('reads opt-outs and opt-ins from v2 user-events, with the envelope time', () => {
    expect(parseContactEvents(callbackFixtureBody('v2-user-event-opted-out'), receivedAt)).toEqual([
      { kind: 'opted_out', phone: '918598002134', occurredAt: new Date(1580227766370) },
    ]);
    expect(parseContactEvents(callbackFixtureBody('v2-user-event-opted-in'), receivedAt)).toEqual([
      { kind: 'opted_in', phone: '918598002134', occurredAt: new Date(1580227766370) },
    ]);
  });

  it('reads inbound messages in both formats', () => {
    expect(parseContactEvents(callbackFixtureBody('v2-inbound-message'), receivedAt)).toEqual([
      { kind: 'inbound_message', phone: '918598002134', occurredAt: new Date(1580227766370) },
    ]);
    expect(parseContactEvents(callbackFixtureBody('v3-inbound-message'), receivedAt)).toEqual([
      { kind: 'inbound_message', phone: '919163805873', occurredAt: new Date(1710941600 * 1000) },
    ]);
  });

  it('finds nothing in other callbacks or in junk', () => {
    for (const body of [callbackFixtureBody('v2-sandbox-start'), callbackFixtureBody('v2-sent'), callbackFixtureBody('v3-sent'), null, [], 'text', { type: 'user-event' }]) {
      expect(parseContactEvents(body, receivedAt)).toEqual([]);
    }
  });

  it('takes the receipt time when the callback has none', () => {
    expect(parseContactEvents({ type: 'user-event', payload: { phone: '918598002134', type: 'opted-out' } }, receivedAt)).toEqual([
      { kind: 'opted_out', phone: '918598002134', occurredAt: receivedAt },
    ]);
  });
});

describe('parsePricing', () => {
  it('reads the v3, v2 and billing-event shapes into one', () => {
    expect(parsePricing({ billable: true, pricing_model: 'CBP', category: 'service' })).toEqual({ billable: true, model: 'CBP', category: 'service' });
    expect(parsePricing({ policy: 'CBP', category: 'service' })).toEqual({ model: 'CBP', category: 'service' });
    expect(parsePricing({ type: 'regular', model: 'PMP', source: 'whatsapp', billable: false, category: 'marketing' })).toEqual({
      billable: false,
      model: 'PMP',
      category: 'marketing',
    });
  });

  it('gives nothing for an object without pricing fields, or anything else', () => {
    for (const value of [undefined, null, {}, { billable: 'maybe' }, 'CBP', [1]]) expect(parsePricing(value)).toBeUndefined();
  });
});

describe('parseBillingReports', () => {
  const receivedAt = new Date('2026-12-01T10:00:00Z');

  it('reads v2 and v3 billing-events: the Gupshup id and the deductions', () => {
    expect(parseBillingReports(callbackFixtureBody('v2-billing-event'), receivedAt)).toEqual([
      { gupshupMessageId: '7bf06899-3f1d-4c55-a2a9-1e0d6c8b5f43', pricing: { billable: true, model: 'PMP', category: 'marketing' }, occurredAt: new Date(1739354482884) },
    ]);
    expect(parseBillingReports(callbackFixtureBody('v3-billing-event'), receivedAt)).toEqual([
      { gupshupMessageId: '7daeb742-f2dc-4c09-90e0-d879d20f7b98', pricing: { billable: true, model: 'PMP', category: 'utility' }, occurredAt: receivedAt },
    ]);
  });

  it('finds none in other callbacks, or without an id or deductions', () => {
    for (const body of [callbackFixtureBody('v2-sent'), callbackFixtureBody('v3-sent'), null, { type: 'billing-event', payload: { deductions: { billable: true } } }, { type: 'billing-event', payload: { references: { gsId: 'x' } } }]) {
      expect(parseBillingReports(body, receivedAt)).toEqual([]);
    }
  });
});
