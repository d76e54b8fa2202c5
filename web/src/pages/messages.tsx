import { api, MESSAGE_STATUSES, queryString, type Message, type Page } from '../api';
import { formatTime } from '../format';
import { LiveIndicator, useLive } from '../live';
import { href, navigate } from '../route';
import { ErrorNote, Field, PageTitle, StatusBadge, useLoad } from '../ui';

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
  if (filters.phoneNumber && message.phoneNumber !== filters.phoneNumber) return false;
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

export function MessagesPage({ query }: { query: URLSearchParams }) {
  const filters = filtersOf(query);
  const cursor = query.get('cursor') ?? undefined;
  const key = query.toString();
  const page = useLoad(() => api<Page<Message>>(`/v3/messages${queryString({ ...filters, cursor, limit: '50' })}`), [key]);
  // The cursors of the pages before this one, so that "Previous page" can go back.
  const back = query.getAll('back');

  const connected = useLive(
    (event) => {
      if (event.type === 'resync') return page.reload();
      if (!page.data) return;
      const changed = new Map(event.messages.map((message) => [message.messageId, message]));
      let rows = page.data.data.map((row) => {
        const fresh = changed.get(row.messageId);
        if (!fresh) return row;
        changed.delete(row.messageId);
        return fresh;
      });
      // A row that no longer matches (its status moved past the filter) stays until the page is read again: rows do not vanish under the reader.
      if (!cursor) {
        const added = [...changed.values()].filter((message) => matches(message, filters) && message.queuedAt);
        if (added.length) {
          rows = [...added, ...rows].sort((a, b) => (b.queuedAt ?? '').localeCompare(a.queuedAt ?? '') || b.messageId.localeCompare(a.messageId));
        }
      }
      page.set({ ...page.data, data: rows });
    },
    [page.data, key],
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
      <ErrorNote error={page.error} />
      <MessageTable messages={page.data?.data} loading={page.loading} />
      <nav aria-label="Pages of messages" class="pager">
        {cursor ? (
          <a href={href('messages', { ...filters, cursor: back[back.length - 1] || undefined })} onClick={(event) => {
            event.preventDefault();
            const previous = new URLSearchParams(query);
            previous.delete('back');
            back.slice(0, -1).forEach((value) => previous.append('back', value));
            const last = back[back.length - 1];
            if (last) previous.set('cursor', last);
            else previous.delete('cursor');
            window.location.hash = `#/messages?${previous.toString()}`;
          }}>
            Previous page
          </a>
        ) : null}
        {page.data?.nextCursor ? (
          <a
            href="#"
            onClick={(event) => {
              event.preventDefault();
              const next = new URLSearchParams(query);
              next.append('back', cursor ?? '');
              next.set('cursor', page.data!.nextCursor!);
              window.location.hash = `#/messages?${next.toString()}`;
            }}
          >
            Next page
          </a>
        ) : null}
      </nav>
    </>
  );
}

export function MessageTable({ messages, loading }: { messages?: Message[]; loading: boolean }) {
  if (!messages) return loading ? <p class="loading">Loading messages…</p> : null;
  if (messages.length === 0) return <p class="empty">No messages match.</p>;
  return (
    <table class="messages" aria-busy={loading}>
      <caption class="visually-hidden">Messages, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Queued at</th>
          <th scope="col">Recipient</th>
          <th scope="col">Phone number</th>
          <th scope="col">Status</th>
          <th scope="col">Reason</th>
          <th scope="col">Template</th>
          <th scope="col">Category</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        {messages.map((message) => (
          <tr key={message.messageId} data-message-id={message.messageId}>
            <td title={message.queuedAt ?? ''}>{formatTime(message.queuedAt)}</td>
            <td>{message.recipient}</td>
            <td>{message.phoneNumber}</td>
            <td>
              <StatusBadge status={message.status} />
            </td>
            <td>{message.discardReason ? `${message.discardReason.code}: ${message.discardReason.reason}` : ''}</td>
            <td>{message.template}</td>
            <td>{message.category}</td>
            <td>
              <a href={href(`message/${encodeURIComponent(message.messageId)}`)} aria-label={`Timeline of the message to ${message.recipient ?? message.phoneNumber ?? message.messageId}`}>
                Timeline
              </a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
