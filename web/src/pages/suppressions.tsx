import { useState } from 'preact/hooks';
import { api, queryString, type Page } from '../api';
import { formatTime } from '../format';
import { ErrorNote, Field, isNotFound, NextPageButton, PageTitle, useAction, useLoad } from '../ui';
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
  const [cursor, setCursor] = useState<string>();
  const list = useLoad(() => api<Page<Suppression>>(`${ROUTE}${queryString({ phoneNumber, cursor })}`), [phoneNumber, cursor]);
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
    setCursor(undefined);
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
  const rows = list.data?.data ?? [];
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
      {list.data && rows.length === 0 ? <p class="empty">No suppressed numbers.</p> : null}
      {rows.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Phone number</th>
              <th scope="col">Reason</th>
              <th scope="col">Since</th>
              <th scope="col">Until</th>
              <th scope="col">Note</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.phoneNumber}>
                <td>{row.phoneNumber}</td>
                <td>{row.reason}</td>
                <td>{formatTime(row.since)}</td>
                <td>{row.until ? formatTime(row.until) : 'until lifted'}</td>
                <td>{row.note}</td>
                <td>
                  <button type="button" onClick={() => lift(row.phoneNumber)} aria-label={`Lift the suppression of ${row.phoneNumber}`}>
                    Lift
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <NextPageButton cursor={list.data?.nextCursor} onNext={setCursor} />
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
