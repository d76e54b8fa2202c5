import { api, type Page } from '../api';
import { formatTime } from '../format';
import { ErrorNote, Field, isNotFound, PageTitle, StatusBadge, useAction, useLoad } from '../ui';
import { NotAvailable } from './not-available';

interface Template {
  identifier: string;
  gupshupTemplateId: string;
  params: string[];
  header?: { type: string; url: string } | null;
  status: string;
  updatedAt: string;
}

const ROUTE = '/v3/channels/whatsapp/templates';

export function TemplatesPage() {
  const list = useLoad(() => api<Page<Template> | Template[]>(ROUTE), []);
  const action = useAction();
  if (isNotFound(list.error)) {
    return (
      <>
        <PageTitle>Templates</PageTitle>
        <NotAvailable what="WhatsApp templates" route={ROUTE} />
      </>
    );
  }
  const templates = Array.isArray(list.data) ? list.data : (list.data?.data ?? []);
  const save = async (event: Event) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    const params = String(form.get('params') ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    await action.run(async () => {
      await api(`${ROUTE}/${encodeURIComponent(String(form.get('identifier')))}`, {
        method: 'PUT',
        body: { gupshupTemplateId: form.get('gupshupTemplateId'), params },
      });
      formElement.reset();
      list.reload();
    });
  };
  const remove = (identifier: string) =>
    action.run(async () => {
      await api(`${ROUTE}/${encodeURIComponent(identifier)}`, { method: 'DELETE' });
      list.reload();
    });
  return (
    <>
      <PageTitle>Templates</PageTitle>
      <ErrorNote error={list.error ?? action.error} />
      {list.data && templates.length === 0 ? <p class="empty">No templates registered yet.</p> : null}
      {templates.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Identifier</th>
              <th scope="col">Gupshup template id</th>
              <th scope="col">Status</th>
              <th scope="col">Parameters</th>
              <th scope="col">Updated</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {templates.map((template) => (
              <tr key={template.identifier}>
                <td>{template.identifier}</td>
                <td>{template.gupshupTemplateId}</td>
                <td>
                  <StatusBadge status={template.status} />
                </td>
                <td>{template.params.join(', ')}</td>
                <td>{formatTime(template.updatedAt)}</td>
                <td>
                  <button type="button" onClick={() => remove(template.identifier)} aria-label={`Delete template ${template.identifier}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <form class="card" onSubmit={save} aria-labelledby="template-form">
        <h2 id="template-form">Register a template</h2>
        <Field label="Identifier">
          <input name="identifier" required />
        </Field>
        <Field label="Gupshup template id">
          <input name="gupshupTemplateId" required />
        </Field>
        <Field label="Parameters" hint="One a line, e.g. {{data.orderId}} or {{recipient.firstName}}">
          <textarea name="params" rows={3} />
        </Field>
        <button type="submit">Save template</button>
      </form>
    </>
  );
}
