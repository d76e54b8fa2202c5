import { useState } from 'preact/hooks';
import { api, queryString, type Page } from '../api';
import { formatTime } from '../format';
import { Table, usePagedRows, type Column } from '../table';
import { ErrorNote, Field, isNotFound, PageTitle, useAction } from '../ui';
import { NotAvailable } from './not-available';

interface Suppression {
  phoneNumber: string;
  reason: string;
  since: string;
  until: string | null;
  note?: string | null;
}

const ROUTE = '/v3/channels/whatsapp/suppressions';

export function SuppressionsPage() {
  const [phoneNumber, setPhoneNumber] = useState('');
  const list = usePagedRows((cursor) => api<Page<Suppression>>(`${ROUTE}${queryString({ phoneNumber, cursor })}`), [phoneNumber]);
  const action = useAction();
  if (isNotFound(list.error) && !phoneNumber) {
    return (
      <>
        <PageTitle>Suppressions</PageTitle>
        <NotAvailable what="Suppressions" route={ROUTE} />
      </>
    );
  }
  const search = (event: Event) => {
    event.preventDefault();
    setPhoneNumber(String(new FormData(event.currentTarget as HTMLFormElement).get('phoneNumber') ?? '').trim());
  };
  const add = async (event: Event) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    await action.run(async () => {
      const note = String(form.get('note') ?? '').trim();
      await api(`${ROUTE}/${encodeURIComponent(String(form.get('phoneNumber')).trim())}`, { method: 'PUT', body: note ? { reason: 'manual', note } : { reason: 'manual' } });
      formElement.reset();
      list.reload();
    });
  };
  const lift = (number: string) =>
    action.run(async () => {
      await api(`${ROUTE}/${encodeURIComponent(number)}`, { method: 'DELETE' });
      list.reload();
    });
  return (
    <>
      <PageTitle>Suppressions</PageTitle>
      <form class="filters" onSubmit={search} aria-label="Find a suppression">
        <Field label="Phone number">
          <input name="phoneNumber" value={phoneNumber} placeholder="+919988776655" />
        </Field>
        <div class="actions">
          <button type="submit">Find</button>
        </div>
      </form>
      <ErrorNote error={list.error ?? action.error} />
      <Table
        caption="Suppressed phone numbers"
        columns={columns(lift)}
        rows={list.rows}
        rowKey={(row) => row.phoneNumber}
        empty="No suppressed numbers."
        loading={list.loading}
        paging={list}
        moreOf="suppressed numbers"
      />
      <form class="card" onSubmit={add} aria-labelledby="suppress-form">
        <h2 id="suppress-form">Suppress a number</h2>
        <Field label="Phone number to suppress">
          <input name="phoneNumber" required placeholder="+919988776655" />
        </Field>
        <Field label="Note">
          <input name="note" />
        </Field>
        <button type="submit">Suppress</button>
      </form>
    </>
  );
}

function columns(lift: (phoneNumber: string) => void): Column<Suppression>[] {
  return [
    { header: 'Phone number', cell: (row) => row.phoneNumber },
    { header: 'Reason', cell: (row) => row.reason },
    { header: 'Since', cell: (row) => formatTime(row.since) },
    { header: 'Until', cell: (row) => (row.until ? formatTime(row.until) : 'until lifted') },
    { header: 'Note', cell: (row) => row.note },
    {
      header: 'Actions',
      cell: (row) => (
        <button type="button" onClick={() => lift(row.phoneNumber)} aria-label={`Lift the suppression of ${row.phoneNumber}`}>
          Lift
        </button>
      ),
    },
  ];
}
