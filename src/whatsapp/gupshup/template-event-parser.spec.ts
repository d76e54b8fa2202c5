import v2TemplateEvent from '../../../test/fixtures/gupshup/v2-template-event.json';
import { parseTemplateEvent } from './template-event-parser';

const receivedAt = new Date('2026-12-01T10:00:00Z');

describe('parseTemplateEvent', () => {
  it("reads Gupshup's documented template-event", () => {
    expect(parseTemplateEvent(v2TemplateEvent, receivedAt)).toEqual({
      kind: 'template-status',
      report: {
        gupshupTemplateId: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b',
        status: 'approved',
        elementName: 'order_shipped',
        languageCode: 'en',
        occurredAt: new Date(1657014537853),
      },
    });
  });

  it('keeps a rejection reason, lower-cases the status, and falls back to the receipt time', () => {
    const body = { app: 'DemoAPI', version: 2, type: 'template-event', payload: { id: 't-1', status: 'REJECTED', reason: 'INVALID_FORMAT' } };
    expect(parseTemplateEvent(body, receivedAt)).toEqual({
      kind: 'template-status',
      report: { gupshupTemplateId: 't-1', status: 'rejected', reason: 'INVALID_FORMAT', occurredAt: receivedAt },
    });
  });

  it('reads a time no event can have (the year 10000, years ahead, before 2000) as the receipt time', () => {
    for (const timestamp of [253_402_300_800_000, Date.UTC(2100, 0, 1), 999_999_999_999, 1]) {
      const body = { type: 'template-event', timestamp, payload: { id: 't-1', status: 'approved' } };
      expect(parseTemplateEvent(body, receivedAt)).toMatchObject({ kind: 'template-status', report: { occurredAt: receivedAt } });
    }
  });

  it('leaves other callbacks alone and says what is missing from a broken one', () => {
    expect(parseTemplateEvent({ type: 'message-event', payload: {} }, receivedAt)).toEqual({ kind: 'not-a-template-event' });
    expect(parseTemplateEvent('text', receivedAt)).toEqual({ kind: 'not-a-template-event' });
    expect(parseTemplateEvent({ type: 'template-event' }, receivedAt)).toMatchObject({ kind: 'invalid' });
    expect(parseTemplateEvent({ type: 'template-event', payload: { status: 'approved' } }, receivedAt)).toMatchObject({ kind: 'invalid' });
    expect(parseTemplateEvent({ type: 'template-event', payload: { id: 't', status: 'x'.repeat(65) } }, receivedAt)).toMatchObject({ kind: 'invalid' });
  });
});
