import { useState } from 'preact/hooks';
import { api, queryString, type Page } from '../api';
import { formatTime } from '../format';
import { Table, usePagedRows, type Column } from '../table';
import { ErrorNote, Field, JsonText, PageTitle } from '../ui';

interface ParkedCallback {
  id: string;
  appId: string;
  state: string;
  format: string | null;
  providerStatus: string | null;
  gupshupMessageId: string | null;
  whatsappMessageId: string | null;
  destination: string | null;
  problem: string | null;
  body: unknown;
  receivedAt: string;
}

export function ParkedCallbacksPage() {
  const [state, setState] = useState('');
  const list = usePagedRows((cursor) => api<Page<ParkedCallback>>(`/admin/parked-callbacks${queryString({ state, cursor })}`), [state]);
  return (
    <>
      <PageTitle>Parked callbacks</PageTitle>
      <p>Gupshup callbacks kept without being applied: waiting for a message not known (yet), or unreadable. Every app's.</p>
      <div class="filters">
        <Field label="State">
          <select value={state} onChange={(event) => setState((event.currentTarget as HTMLSelectElement).value)}>
            <option value="">waiting and invalid</option>
            <option value="waiting">waiting</option>
            <option value="invalid">invalid</option>
            <option value="ignored">ignored</option>
          </select>
        </Field>
      </div>
      <ErrorNote error={list.error} />
      <Table
        caption="Parked callbacks, newest first"
        columns={COLUMNS}
        rows={list.rows}
        rowKey={(row) => row.id}
        empty="No parked callbacks."
        loading={list.loading}
        paging={list}
        moreOf="parked callbacks"
      />
    </>
  );
}

const COLUMNS: Column<ParkedCallback>[] = [
  { header: 'Received', cell: (row) => formatTime(row.receivedAt) },
  { header: 'App', cell: (row) => row.appId },
  { header: 'State', cell: (row) => row.state },
  { header: 'Provider status', cell: (row) => row.providerStatus },
  { header: 'Gupshup id', cell: (row) => row.gupshupMessageId ?? row.whatsappMessageId },
  { header: 'Destination', cell: (row) => row.destination },
  { header: 'Problem', cell: (row) => row.problem },
  {
    header: 'Body',
    cell: (row) => (
      <details>
        <summary>Body</summary>
        <JsonText value={row.body} />
      </details>
    ),
  },
];
