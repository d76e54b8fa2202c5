import { callback, discarded, queued, sent } from '../domain/message-events.fixtures';
import { foldMessageView } from '../domain';
import { dailyContributions, dailyStatsDeltas, DAILY_METRICS, statusCountDeltas, SUMMARY_COUNTERS, summaryDeltas } from './view-deltas';

const DAY1 = '2026-03-01T10:00:00.000Z';
const DAY2 = '2026-03-02T10:00:00.000Z';
const DAY3 = '2026-03-03T10:00:00.000Z';

describe('dailyContributions', () => {
  it('counts a read message as sent, delivered and seen, each on its own day', () => {
    const view = foldMessageView([queued(), sent({ sentAt: DAY1 }), callback('delivered', DAY2), callback('read', DAY3)]);
    expect(dailyContributions(view)).toEqual({ sent: '2026-03-01', delivered: '2026-03-02', seen: '2026-03-03' });
  });

  it('counts a read message as delivered when its delivered receipt never came, on the day it was read', () => {
    const view = foldMessageView([queued(), sent({ sentAt: DAY1 }), callback('read', DAY2)]);
    expect(dailyContributions(view)).toEqual({ sent: '2026-03-01', delivered: '2026-03-02', seen: '2026-03-02' });
  });

  it('counts a discarded message once, and stops when delivery evidence follows the failure', () => {
    const failed = [queued(), sent({ sentAt: DAY1 }), callback('failed', DAY2, { code: '1002', reason: 'no WhatsApp' })];
    expect(dailyContributions(foldMessageView(failed))).toEqual({ sent: '2026-03-01', discarded: '2026-03-02' });
    expect(dailyContributions(foldMessageView([...failed, callback('delivered', DAY3)]))).toEqual({
      sent: '2026-03-01',
      delivered: '2026-03-03',
    });
  });

  it('counts nothing for a message still queued, and only discarded for one never sent', () => {
    expect(dailyContributions(foldMessageView([queued()]))).toEqual({});
    expect(dailyContributions(foldMessageView([queued(), discarded({ discardedAt: DAY1 })]))).toEqual({ discarded: '2026-03-01' });
  });
});

describe('deltas between the views before and after a batch', () => {
  const before = foldMessageView([queued(), sent({ sentAt: DAY1 }), callback('failed', DAY2, { code: '1002', reason: 'no WhatsApp' })]);
  const after = foldMessageView([queued(), sent({ sentAt: DAY1 }), callback('failed', DAY2, { code: '1002', reason: 'no WhatsApp' }), callback('delivered', DAY3)]);

  it('moves the daily count from discarded to delivered, leaving sent alone', () => {
    const changes = dailyStatsDeltas([{ before, after }]).changes(DAILY_METRICS);
    expect(changes).toEqual([
      { key: { appId: 'app-1', day: '2026-03-02', category: '', template: '' }, counts: { sent: 0, delivered: 0, seen: 0, discarded: -1 }, decreased: true },
      { key: { appId: 'app-1', day: '2026-03-03', category: '', template: '' }, counts: { sent: 0, delivered: 1, seen: 0, discarded: 0 }, decreased: false },
    ]);
  });

  it('moves the message between statuses in its request and app, without changing the message count', () => {
    expect(summaryDeltas([{ before, after }]).changes(SUMMARY_COUNTERS)).toEqual([
      {
        key: { requestId: before.requestId, appId: 'app-1' },
        counts: { queued: 0, sent: 0, delivered: 1, seen: 0, discarded: -1, messages: 0 },
        decreased: true,
      },
    ]);
    expect(statusCountDeltas([{ before, after }]).changes(['messages']).map((c) => [c.key.status, c.counts.messages])).toEqual([
      ['discarded', -1],
      ['delivered', 1],
    ]);
  });

  it('adds a new message once, and a change that cancels out leaves nothing to write', () => {
    expect(summaryDeltas([{ before: null, after: before }]).changes(SUMMARY_COUNTERS)[0].counts).toMatchObject({ discarded: 1, messages: 1 });
    expect(dailyStatsDeltas([{ before: after, after }]).changes(DAILY_METRICS)).toEqual([]);
  });
});
