import { useState } from 'preact/hooks';
import { api, queryString, type Page } from '../api';
import { formatTime } from '../format';
import { ErrorNote, Field, JsonText, NextPageButton, PageTitle, useLoad } from '../ui';

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
  const [cursor, setCursor] = useState<string>();
  const list = useLoad(() => api<Page<ParkedCallback>>(`/admin/parked-callbacks${queryString({ state, cursor })}`), [state, cursor]);
  return (
    <>
      <PageTitle>Parked callbacks</PageTitle>
      <p>Gupshup callbacks kept without being applied: waiting for a message not known (yet), or unreadable. Every app's.</p>
      <div class="filters">
        <Field label="State">
          <select
            value={state}
            onChange={(event) => {
              setCursor(undefined);
              setState((event.currentTarget as HTMLSelectElement).value);
            }}
          >
            <option value="">waiting and invalid</option>
            <option value="waiting">waiting</option>
            <option value="invalid">invalid</option>
            <option value="ignored">ignored</option>
          </select>
        </Field>
      </div>
      <ErrorNote error={list.error} />
      {list.data && list.data.data.length === 0 ? <p class="empty">No parked callbacks.</p> : null}
      {list.data?.data.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Received</th>
              <th scope="col">App</th>
              <th scope="col">State</th>
              <th scope="col">Provider status</th>
              <th scope="col">Gupshup id</th>
              <th scope="col">Destination</th>
              <th scope="col">Problem</th>
              <th scope="col">Body</th>
            </tr>
          </thead>
          <tbody>
            {list.data.data.map((row) => (
              <tr key={row.id}>
                <td>{formatTime(row.receivedAt)}</td>
                <td>{row.appId}</td>
                <td>{row.state}</td>
                <td>{row.providerStatus}</td>
                <td>{row.gupshupMessageId ?? row.whatsappMessageId}</td>
                <td>{row.destination}</td>
                <td>{row.problem}</td>
                <td>
                  <details>
                    <summary>Body</summary>
                    <JsonText value={row.body} />
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <NextPageButton cursor={list.data?.nextCursor} onNext={setCursor} />
    </>
  );
}
