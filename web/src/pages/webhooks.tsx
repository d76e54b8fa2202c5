import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, queryString, type Page } from '../api';
import { formatTime } from '../format';
import { href, navigate } from '../route';
import { Table, usePagedRows, type Column } from '../table';
import { ErrorNote, Field, JsonText, PageTitle, StatusBadge, useAction } from '../ui';

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  lastSuccessAt: string | null;
  failingSince: string | null;
  previousSecretExpiresAt: string | null;
}

interface Delivery {
  id: string;
  type: string;
  messageId: string | null;
  status: string;
  payload: unknown;
  createdAt: string;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  attempts: { at: string; statusCode: number | null; durationMs: number; error: string | null }[];
}

const EVENTS = ['message.queued', 'message.sent', 'message.delivered', 'message.seen', 'message.discarded'];

export function WebhooksPage({ endpointId }: { endpointId?: string }) {
  const endpoints = usePagedRows(() => api<{ data: Endpoint[] }>('/v3/webhooks'), []);
  const action = useAction();
  const [secret, setSecret] = useState<string>();
  // Bumped by a replay, so that the deliveries it queued are listed.
  const [replays, setReplays] = useState(0);
  const create = async (event: Event) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    const events = form.getAll('events').map(String);
    const description = String(form.get('description') ?? '').trim();
    await action.run(async () => {
      const created = await api<Endpoint & { secret: string }>('/v3/webhooks', {
        method: 'POST',
        body: { url: String(form.get('url') ?? '').trim(), ...(events.length ? { events } : {}), ...(description ? { description } : {}) },
      });
      setSecret(created.secret);
      formElement.reset();
      endpoints.reload();
    });
  };
  const selected = endpoints.rows?.find((endpoint) => endpoint.id === endpointId);
  return (
    <>
      <PageTitle>Webhooks</PageTitle>
      <ErrorNote error={endpoints.error ?? action.error} />
      {secret ? (
        <p class="notice" role="status">
          Endpoint added. Its signing secret, shown only now: <code>{secret}</code>
        </p>
      ) : null}
      <Table
        caption="Endpoints"
        columns={ENDPOINT_COLUMNS}
        rows={endpoints.rows}
        rowKey={(endpoint) => endpoint.id}
        rowAttributes={(endpoint) => ({ 'aria-current': endpoint.id === endpointId ? 'true' : undefined })}
        empty="No endpoints yet."
        loading={endpoints.loading}
        paging={endpoints}
        moreOf="endpoints"
      />
      {selected ? <EndpointSettings key={selected.id} endpoint={selected} changed={endpoints.reload} replayed={() => setReplays((n) => n + 1)} /> : null}
      {selected ? <Deliveries endpoint={selected} replays={replays} /> : null}
      <form class="card" onSubmit={create} aria-labelledby="webhook-form">
        <h2 id="webhook-form">Add an endpoint</h2>
        <Field label="Endpoint URL">
          <input name="url" type="url" required placeholder="https://example.com/whatsapp/status" />
        </Field>
        <fieldset>
          <legend>Events (none checked: all)</legend>
          {EVENTS.map((name) => (
            <label key={name} class="check">
              <input type="checkbox" name="events" value={name} /> {name}
            </label>
          ))}
        </fieldset>
        <Field label="Description">
          <input name="description" />
        </Field>
        <button type="submit">Add endpoint</button>
      </form>
    </>
  );
}

/** What can be done to one endpoint: disable or enable it, rotate its secret, replay, delete it. */
function EndpointSettings({ endpoint, changed, replayed }: { endpoint: Endpoint; changed: () => void; replayed: () => void }) {
  const action = useAction();
  const [notice, setNotice] = useState<ComponentChildren>();
  const [deleting, setDeleting] = useState(false);
  const path = `/v3/webhooks/${endpoint.id}`;
  const setEnabled = (enabled: boolean) =>
    action.run(async () => {
      await api(path, { method: 'PATCH', body: { enabled } });
      setNotice(enabled ? 'Endpoint enabled: its waiting deliveries go out again.' : 'Endpoint disabled: its deliveries wait until it is enabled again.');
      changed();
    });
  const rotate = () =>
    action.run(async () => {
      const rotated = await api<Endpoint & { secret: string }>(`${path}/rotate-secret`, { method: 'POST' });
      setNotice(
        <>
          Signing secret rotated. The new one, shown only now: <code>{rotated.secret}</code>
          {rotated.previousSecretExpiresAt ? ` The previous one keeps signing beside it until ${formatTime(rotated.previousSecretExpiresAt)}.` : null}
        </>,
      );
      changed();
    });
  const replay = async (event: Event) => {
    event.preventDefault();
    const from = String(new FormData(event.currentTarget as HTMLFormElement).get('from') ?? '');
    await action.run(async () => {
      // The input holds the reader's local time, without a zone: read as such, sent as an instant.
      const since = new Date(from);
      if (Number.isNaN(since.getTime())) throw new Error('Choose the date and time to replay from.');
      const { queued } = await api<{ queued: number }>(`${path}/replay`, { method: 'POST', body: { from: since.toISOString() } });
      setNotice(`${queued} status change${queued === 1 ? '' : 's'} since ${formatTime(since.toISOString())} queued again for this endpoint.`);
      replayed();
    });
  };
  const remove = () =>
    action.run(async () => {
      await api(path, { method: 'DELETE' });
      changed();
      navigate('webhooks');
    });
  return (
    <section aria-labelledby="endpoint-settings">
      <h2 id="endpoint-settings">Endpoint {endpoint.url}</h2>
      <ErrorNote error={action.error} />
      {notice ? <p role="status">{notice}</p> : null}
      <dl class="facts">
        <dt>Enabled</dt>
        <dd>{endpoint.enabled ? 'yes' : `no${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`}</dd>
        <dt>Failing since</dt>
        <dd>{formatTime(endpoint.failingSince) || '–'}</dd>
        <dt>Previous secret signs until</dt>
        <dd>{formatTime(endpoint.previousSecretExpiresAt) || '–'}</dd>
      </dl>
      <div class="actions">
        {endpoint.enabled ? (
          <button type="button" onClick={() => setEnabled(false)}>
            Disable endpoint
          </button>
        ) : (
          <button type="button" onClick={() => setEnabled(true)}>
            Enable endpoint
          </button>
        )}
        <button type="button" onClick={rotate}>
          Rotate signing secret
        </button>
        {deleting ? (
          <>
            <button type="button" class="danger" onClick={remove}>
              Yes, delete {endpoint.url}
            </button>
            <button type="button" onClick={() => setDeleting(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" onClick={() => setDeleting(true)}>
            Delete endpoint
          </button>
        )}
      </div>
      <form class="filters" onSubmit={replay} aria-label="Replay status changes">
        <Field label="Replay status changes since" hint="Every status change since then is delivered again to this endpoint (your local time).">
          <input name="from" type="datetime-local" step={1} required />
        </Field>
        <div class="actions">
          <button type="submit">Replay</button>
        </div>
      </form>
    </section>
  );
}

function Deliveries({ endpoint, replays }: { endpoint: Endpoint; replays: number }) {
  const [status, setStatus] = useState('');
  const deliveries = usePagedRows(
    (cursor) => api<Page<Delivery>>(`/v3/webhooks/${endpoint.id}/deliveries${queryString({ status, cursor })}`),
    [endpoint.id, status, replays],
  );
  const action = useAction();
  const [notice, setNotice] = useState<string>();
  const act = (path: string, done: string) =>
    action.run(async () => {
      await api(path, { method: 'POST' });
      setNotice(done);
      deliveries.reload();
    });
  return (
    <section aria-labelledby="deliveries">
      <h2 id="deliveries">Deliveries to {endpoint.url}</h2>
      <div class="filters">
        <Field label="Delivery status">
          <select value={status} onChange={(event) => setStatus((event.currentTarget as HTMLSelectElement).value)}>
            <option value="">Any</option>
            {['pending', 'in_flight', 'delivered', 'failed'].map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </Field>
        <div class="actions">
          <button type="button" onClick={() => act(`/v3/webhooks/${endpoint.id}/test`, 'A webhook.test event is on its way.')}>
            Send a test event
          </button>
          <button type="button" onClick={deliveries.reload}>
            Refresh deliveries
          </button>
        </div>
      </div>
      {notice ? <p role="status">{notice}</p> : null}
      <ErrorNote error={deliveries.error ?? action.error} />
      <Table
        caption={`Deliveries to ${endpoint.url}, newest first`}
        columns={deliveryColumns(endpoint, act)}
        rows={deliveries.rows}
        rowKey={(delivery) => delivery.id}
        empty="No deliveries."
        loading={deliveries.loading}
        paging={deliveries}
        moreOf="deliveries"
      />
    </section>
  );
}

const ENDPOINT_COLUMNS: Column<Endpoint>[] = [
  { header: 'URL', cell: (endpoint) => endpoint.url },
  { header: 'Events', cell: (endpoint) => (endpoint.events.length ? endpoint.events.join(', ') : 'all') },
  { header: 'Description', cell: (endpoint) => endpoint.description },
  { header: 'Enabled', cell: (endpoint) => (endpoint.enabled ? 'yes' : `no${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`) },
  { header: 'Last success', cell: (endpoint) => formatTime(endpoint.lastSuccessAt) || '–' },
  {
    header: 'Deliveries',
    cell: (endpoint) => (
      <a href={href(`webhooks/${endpoint.id}`)} aria-label={`Deliveries to ${endpoint.url}`}>
        Deliveries
      </a>
    ),
  },
];

function deliveryColumns(endpoint: Endpoint, act: (path: string, done: string) => void): Column<Delivery>[] {
  return [
    { header: 'Created', cell: (delivery) => formatTime(delivery.createdAt) },
    {
      header: 'Event',
      cell: (delivery) => (
        <>
          {delivery.type}
          {delivery.messageId ? (
            <>
              {' '}
              <a href={href(`message/${delivery.messageId}`)}>message</a>
            </>
          ) : null}
        </>
      ),
    },
    { header: 'Delivery status', cell: (delivery) => <StatusBadge status={delivery.status} /> },
    {
      header: 'Attempts',
      cell: (delivery) => (
        <details>
          <summary>
            {delivery.attempts.length} attempt{delivery.attempts.length === 1 ? '' : 's'}
          </summary>
          <ol class="attempts">
            {delivery.attempts.map((attempt, index) => (
              <li key={index}>
                {formatTime(attempt.at)}: {attempt.statusCode ?? 'no answer'} in {attempt.durationMs} ms{attempt.error ? ` (${attempt.error})` : ''}
              </li>
            ))}
          </ol>
          <JsonText value={delivery.payload} />
        </details>
      ),
    },
    {
      header: 'Actions',
      cell: (delivery) => (
        <button
          type="button"
          onClick={() => act(`/v3/webhooks/${endpoint.id}/deliveries/${delivery.id}/retry`, 'Delivery queued again.')}
          aria-label={`Retry the ${delivery.type} delivery of ${formatTime(delivery.createdAt)}`}
        >
          Retry
        </button>
      ),
    },
  ];
}
