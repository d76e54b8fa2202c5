import type { RegisteredTemplate } from './template-definition';
import { dataProblems, templateForRecipient, templateNotApproved } from './template-send-plan';

const template: RegisteredTemplate = {
  identifier: 'order_shipped',
  gupshupTemplateId: 'tpl-1',
  params: ['{{recipient.firstName}}', 'Order {{data.orderId}}'],
  header: { type: 'document', url: 'https://x.test/{{data.orderId}}.pdf', filename: '{{recipient.lastName}}.pdf' },
  status: 'unknown',
  updatedAt: '2026-12-01T00:00:00.000Z',
};

describe('template send plan', () => {
  it('fills the parameters and the header for a recipient', () => {
    expect(templateForRecipient(template, { orderId: 'A-1' }, { identifier: 'ada', firstName: 'Ada', lastName: 'Lovelace' })).toEqual({
      ok: true,
      message: { id: 'tpl-1', params: ['Ada', 'Order A-1'], header: { type: 'document', link: 'https://x.test/A-1.pdf', filename: 'Lovelace.pdf' } },
    });
  });

  it('discards a recipient lacking profile fields, naming each once', () => {
    const outcome = templateForRecipient({ ...template, params: [...template.params, '{{recipient.firstName}}'] }, { orderId: 'A-1' }, { identifier: 'x' });
    expect(outcome).toMatchObject({ ok: false, discard: { code: 'template_param_missing' } });
    if (!outcome.ok) expect(outcome.discard.reason).toContain('needs recipient.firstName, recipient.lastName,');
  });

  it("names the data the template's parameters and header need", () => {
    expect(dataProblems(template, {})).toEqual([expect.stringContaining('data.orderId is needed by the WhatsApp template "order_shipped" ({{data.orderId}})')]);
    expect(dataProblems(template, { orderId: 5 })).toEqual([]);
  });

  it('refuses only rejected, paused and disabled templates', () => {
    for (const status of ['rejected', 'paused', 'disabled']) expect(templateNotApproved({ ...template, status })).toMatchObject({ code: 'template_not_approved' });
    for (const status of ['approved', 'unknown', 'pending', 'deleted']) expect(templateNotApproved({ ...template, status })).toBeNull();
  });
});
