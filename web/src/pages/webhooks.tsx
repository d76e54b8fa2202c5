import { useState } from 'preact/hooks';
import { api, queryString, type Page } from '../api';
import { formatTime } from '../format';
import { href } from '../route';
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
      {selected ? <Deliveries endpoint={selected} /> : null}
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

function Deliveries({ endpoint }: { endpoint: Endpoint }) {
  const [status, setStatus] = useState('');
  const deliveries = usePagedRows(
    (cursor) => api<Page<Delivery>>(`/v3/webhooks/${endpoint.id}/deliveries${queryString({ status, cursor })}`),
    [endpoint.id, status],
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
