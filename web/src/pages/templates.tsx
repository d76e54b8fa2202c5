import { api } from '../api';
import { formatTime } from '../format';
import { Table, usePagedRows, type Column } from '../table';
import { ErrorNote, Field, isNotFound, PageTitle, StatusBadge, useAction } from '../ui';
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
  const list = usePagedRows(() => api<{ data: Template[] }>(ROUTE), []);
  const action = useAction();
  if (isNotFound(list.error)) {
    return (
      <>
        <PageTitle>Templates</PageTitle>
        <NotAvailable what="WhatsApp templates" route={ROUTE} />
      </>
    );
  }
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
      <Table
        caption="Registered templates"
        columns={columns(remove)}
        rows={list.rows}
        rowKey={(template) => template.identifier}
        empty="No templates registered yet."
        loading={list.loading}
        paging={list}
        moreOf="templates"
      />
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

function columns(remove: (identifier: string) => void): Column<Template>[] {
  return [
    { header: 'Identifier', cell: (template) => template.identifier },
    { header: 'Gupshup template id', cell: (template) => template.gupshupTemplateId },
    { header: 'Status', cell: (template) => <StatusBadge status={template.status} /> },
    { header: 'Parameters', cell: (template) => template.params.join(', ') },
    { header: 'Updated', cell: (template) => formatTime(template.updatedAt) },
    {
      header: 'Actions',
      cell: (template) => (
        <button type="button" onClick={() => remove(template.identifier)} aria-label={`Delete template ${template.identifier}`}>
          Delete
        </button>
      ),
    },
  ];
}
