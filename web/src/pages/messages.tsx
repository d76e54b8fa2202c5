// The rule GET /v3/messages reads its phoneNumber filter with, so that live rows match what the list matches.
import { contactNumber } from '../../../src/whatsapp/consent/contact-number';
import { api, MESSAGE_STATUSES, queryString, type Message, type Page } from '../api';
import { apiOnce } from '../early';
import { formatTime } from '../format';
import { LiveIndicator, useLive } from '../live';
import { href, navigate } from '../route';
import { Table, usePagedRows, type Column } from '../table';
import { ErrorNote, Field, PageTitle, StatusBadge } from '../ui';

/** The filters, by their name in the page's URL and in GET /v3/messages. */
const FILTERS = ['status', 'phoneNumber', 'requestId', 'discardCode', 'template', 'category', 'from', 'to'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

function filtersOf(query: URLSearchParams): Filters {
  const filters: Filters = {};
  for (const name of FILTERS) {
    const value = query.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

function bound(value: string, timeOfDay: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return `${value}${timeOfDay}`;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

/** Whether a message pushed live belongs on the first page under these filters. */
function matches(message: Message, filters: Filters): boolean {
  if (filters.status && message.status !== filters.status) return false;
  if (filters.phoneNumber) {
    // Read as the API reads it (digits without the +, a + turned into a space): compared as typed, live rows to the number were dropped.
    // Not a number (the list is refused with a 400): nothing matches, not even a message without a number.
    const number = contactNumber(filters.phoneNumber);
    if (number === null || message.phoneNumber !== number) return false;
  }
  if (filters.requestId && message.requestId !== filters.requestId) return false;
  if (filters.discardCode && message.discardReason?.code !== filters.discardCode) return false;
  if (filters.template && message.template !== filters.template) return false;
  if (filters.category && message.category !== filters.category) return false;
  const queued = message.queuedAt ?? '';
  // Bare dates are UTC days, the to date included whole, as GET /v3/messages reads them.
  if (filters.from && queued < bound(filters.from, 'T00:00:00.000Z')) return false;
  if (filters.to && queued > bound(filters.to, 'T23:59:59.999Z')) return false;
  return true;
}

function messagesPath(filters: Filters, cursor?: string): string {
  return `/v3/messages${queryString({ ...filters, cursor, limit: '50' })}`;
}

/** The request of the page's first rows, for the page's URL query (started early on a page load). */
export function firstMessagesPath(query: URLSearchParams): string {
  return messagesPath(filtersOf(query));
}

export function MessagesPage({ query }: { query: URLSearchParams }) {
  const filters = filtersOf(query);
  const key = query.toString();
  const list = usePagedRows((cursor) => (cursor ? api<Page<Message>>(messagesPath(filters, cursor)) : apiOnce<Page<Message>>(messagesPath(filters))), [key]);

  const connected = useLive(
    (event) => {
      if (event.type === 'resync') return list.reload();
      list.update((rows) => {
        const changed = new Map(event.messages.map((message) => [message.messageId, message]));
        let shown = rows.map((row) => {
          const fresh = changed.get(row.messageId);
          if (!fresh) return row;
          changed.delete(row.messageId);
          return fresh;
        });
        // A row that no longer matches (its status moved past the filter) stays until the page is read again: rows do not vanish under the reader.
        const added = [...changed.values()].filter((message) => matches(message, filters) && message.queuedAt);
        if (added.length) {
          shown = [...added, ...shown].sort((a, b) => (b.queuedAt ?? '').localeCompare(a.queuedAt ?? '') || b.messageId.localeCompare(a.messageId));
        }
        return shown;
      });
    },
    [key],
  );

  const apply = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const values: Record<string, string> = {};
    for (const name of FILTERS) {
      const value = String(form.get(name) ?? '').trim();
      if (value) values[name] = value;
    }
    navigate('messages', values);
  };

  return (
    <>
      <PageTitle>Messages</PageTitle>
      <form class="filters" onSubmit={apply} aria-label="Filter messages">
        <Field label="Status">
          <select name="status" value={filters.status ?? ''}>
            <option value="">Any status</option>
            {MESSAGE_STATUSES.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Phone number">
          <input name="phoneNumber" value={filters.phoneNumber ?? ''} placeholder="+919988776655" />
        </Field>
        <Field label="Request id">
          <input name="requestId" value={filters.requestId ?? ''} />
        </Field>
        <Field label="Discard code">
          <input name="discardCode" value={filters.discardCode ?? ''} placeholder="1002" />
        </Field>
        <Field label="Template">
          <input name="template" value={filters.template ?? ''} />
        </Field>
        <Field label="Category">
          <input name="category" value={filters.category ?? ''} />
        </Field>
        <Field label="From">
          <input name="from" type="date" value={filters.from ?? ''} />
        </Field>
        <Field label="To">
          <input name="to" type="date" value={filters.to ?? ''} />
        </Field>
        <div class="actions">
          <button type="submit">Apply filters</button>
          <a href={href('messages')}>Clear filters</a>
        </div>
      </form>
      <LiveIndicator connected={connected} />
      <ErrorNote error={list.error} />
      <Table
        caption="Messages, newest first"
        class="messages"
        columns={MESSAGE_COLUMNS}
        rows={list.rows}
        rowKey={(message) => message.messageId}
        rowAttributes={(message) => ({ 'data-message-id': message.messageId })}
        empty="No messages match."
        loading={list.loading}
        paging={list}
        moreOf="messages"
      />
    </>
  );
}

const MESSAGE_COLUMNS: Column<Message>[] = [
  {
    header: 'Queued at',
    cell: (message) => (message.queuedAt ? <time dateTime={message.queuedAt} title={message.queuedAt}>{formatTime(message.queuedAt)}</time> : null),
  },
  { header: 'Recipient', cell: (message) => message.recipient },
  { header: 'Phone number', cell: (message) => message.phoneNumber },
  { header: 'Status', cell: (message) => <StatusBadge status={message.status} /> },
  { header: 'Reason', cell: (message) => (message.discardReason ? `${message.discardReason.code}: ${message.discardReason.reason}` : '') },
  { header: 'Template', cell: (message) => message.template },
  { header: 'Category', cell: (message) => message.category },
  {
    header: 'Message',
    cell: (message) => (
      <a href={href(`message/${encodeURIComponent(message.messageId)}`)} aria-label={`Timeline of the message to ${message.recipient ?? message.phoneNumber ?? message.messageId}`}>
        Timeline
      </a>
    ),
  },
];
