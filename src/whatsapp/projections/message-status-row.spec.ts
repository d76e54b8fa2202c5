import { emptyMessageView, foldMessageView, WhatsAppMessageDiscarded, WhatsAppMessageQueued, type MessageView } from '../domain';
import { insertMessageStatusRecords, MESSAGE_STATUS_VIEW_COLUMNS, messageStatusRecord, messageViewFromRow, upsertMessageStatusRecords } from './message-status-row';

describe("message_status_view's columns", () => {
  it('hold every field of the view but the constant provider, each in one column', () => {
    const fields = MESSAGE_STATUS_VIEW_COLUMNS.flatMap((column) => (column.field ? [column.field] : []));
    expect(new Set(fields).size).toBe(fields.length);
    expect([...fields].sort()).toEqual(Object.keys(emptyMessageView()).filter((field) => field !== 'provider').sort());
  });

  it('give back the view they were written from', () => {
    const queuedAt = '2026-07-01T09:00:00.000Z';
    const view: MessageView = foldMessageView([
      new WhatsAppMessageQueued({
        appId: 'app-1',
        messageId: 'm-1',
        requestId: 'r-1',
        recipient: 'user-1',
        phoneNumber: null,
        sendAt: queuedAt,
        queuedAt,
        category: 'order-updates',
        template: 'order_shipped',
      }),
      new WhatsAppMessageDiscarded({ appId: 'app-1', messageId: 'm-1', code: 'no_phone_number', reason: 'No phone', source: 'recipient', discardedAt: queuedAt }),
    ]);
    // What the table gives back: the record's values, times as node-postgres parses them.
    const record = messageStatusRecord(view, 2);
    const row = Object.fromEntries(Object.entries(record).map(([name, value]) => [name, name.endsWith('_at') && value !== null ? new Date(value as string) : value]));
    expect(messageViewFromRow(row as Parameters<typeof messageViewFromRow>[0])).toEqual(view);
    expect(record).toMatchObject({ category: 'order-updates', template: 'order_shipped', discard_code: 'no_phone_number', last_stream_position: 2 });
  });

  it('name every column in the insert and every column but the key in the upsert', () => {
    const insert = insertMessageStatusRecords('message_status_view');
    const upsert = upsertMessageStatusRecords();
    for (const { name, type } of MESSAGE_STATUS_VIEW_COLUMNS) {
      expect(insert).toContain(`${name} ${type}`);
      if (name !== 'message_id') expect(upsert).toContain(`${name} = EXCLUDED.${name}`);
    }
  });
});
