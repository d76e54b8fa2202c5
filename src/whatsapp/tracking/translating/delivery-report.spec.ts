import { deliveryEventId } from '../../domain';
import type { DeliveryReport } from '../../gupshup/callback-parser';
import { checkReport, cleanText, deliveryEventOf } from './delivery-report';

const receivedAt = new Date('2026-03-01T10:00:00Z');
const report: DeliveryReport = {
  format: 'v2',
  providerStatus: 'read',
  gupshupMessageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
  whatsappMessageId: 'gBEGkYaYVSEEAgnZxQ3JmKK6Wvg',
  destination: '918598002134',
  occurredAt: new Date('2026-03-01T09:59:58Z'),
};

describe('checkReport', () => {
  it('keeps a normal report as it is', () => {
    expect(checkReport(report, receivedAt)).toEqual({ ok: true, report });
  });

  it('removes what PostgreSQL cannot store: NUL characters and lone surrogates', () => {
    const checked = checkReport({ ...report, providerStatus: 'failed', code: '10\u000002', reason: 'bad \ud800 text' }, receivedAt);
    expect(checked).toEqual({ ok: true, report: expect.objectContaining({ code: '1002', reason: 'bad \ufffd text' }) });
  });

  it('cuts a long reason, and repairs a surrogate pair the cut splits', () => {
    const long = `${'a'.repeat(1999)}😀tail`;
    const checked = checkReport({ ...report, providerStatus: 'failed', reason: long }, receivedAt);
    expect(checked.ok && checked.report.reason).toBe(`${'a'.repeat(1999)}\ufffd`);
  });

  it.each([
    ['an id longer than 200 characters', { gupshupMessageId: 'g'.repeat(201) }, /longer than 200/],
    ['ids made only of NUL characters', { gupshupMessageId: '\u0000', whatsappMessageId: '\u0000\u0000' }, /no usable message id/],
    ['a time before 2000', { occurredAt: new Date('1999-12-31T23:59:59Z') }, /not a plausible event time/],
    ['a time more than a week ahead', { occurredAt: new Date('2026-03-09T10:00:01Z') }, /not a plausible event time/],
  ])('refuses %s', (_what, change, problem) => {
    const checked = checkReport({ ...report, ...change }, receivedAt);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.problem).toMatch(problem);
  });

  it('treats text that is empty once cleaned as absent', () => {
    expect(cleanText(' \u0000 ')).toBeUndefined();
  });
});

describe('deliveryEventOf', () => {
  it('derives the id from the message’s Gupshup id when the report has none, so a late copy without gsId is the same event', () => {
    const withGsId = deliveryEventOf({ appId: 'app-1', messageId: 'm-1', report, receivedAt });
    const lateCopy = deliveryEventOf({
      appId: 'app-1',
      messageId: 'm-1',
      gupshupMessageId: report.gupshupMessageId,
      report: { ...report, format: 'v3', gupshupMessageId: undefined },
      receivedAt: new Date(),
    });
    expect(lateCopy.eventId).toBe(withGsId.eventId);
    expect(withGsId.eventId).toBe(deliveryEventId('app-1', report.gupshupMessageId!, 'read', report.occurredAt.getTime()));
    expect(lateCopy.data).toMatchObject({ providerMessageId: report.gupshupMessageId, status: 'seen', format: 'v3' });
  });
});
