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

  it('refuses a header URL filled from data alone that is no http(s) URL, naming the data', () => {
    const fromData = { ...template, header: { type: 'image' as const, url: '{{data.imageUrl}}' } };
    expect(dataProblems(fromData, { orderId: 1, imageUrl: 'not a url' })).toEqual([expect.stringMatching(/^data\.imageUrl gives the media header URL .*https:\/\/ URL.*got "not a url"$/)]);
    expect(dataProblems(fromData, { orderId: 1, imageUrl: 'https://x.test/a.png' })).toEqual([]);
    // Read with the recipient too: checked per recipient instead.
    expect(dataProblems({ ...template, header: { type: 'image', url: '{{data.base}}{{recipient.path}}' } }, { orderId: 1, base: 'nope' })).toEqual([]);
  });

  it('discards a recipient whose profile makes the header URL no URL, as template_param_invalid', () => {
    const fromProfile = { ...template, params: [], header: { type: 'image' as const, url: '{{recipient.avatarUrl}}' } };
    expect(templateForRecipient(fromProfile, {}, { avatarUrl: 'not a url' })).toMatchObject({ ok: false, discard: { code: 'template_param_invalid', reason: expect.stringContaining('recipient.avatarUrl') } });
    expect(templateForRecipient(fromProfile, {}, { avatarUrl: 'https://x.test/a.png' })).toMatchObject({ ok: true });
  });

  it("names the data the template's parameters and header need", () => {
    expect(dataProblems(template, {})).toEqual([expect.stringContaining('data.orderId is needed by the WhatsApp template "order_shipped" ({{data.orderId}})')]);
    expect(dataProblems(template, { orderId: 5 })).toEqual([]);
  });

  it('refuses templates Gupshup would not send, and no other', () => {
    for (const status of ['rejected', 'paused', 'disabled', 'deleted', 'pending', 'in_appeal', 'pending_deletion']) {
      expect(templateNotApproved({ ...template, status })).toMatchObject({ code: 'template_not_approved' });
    }
    for (const status of ['approved', 'unknown', 'flagged']) expect(templateNotApproved({ ...template, status })).toBeNull();
  });

  it('tells to register another template for a deleted one, which will not come back', () => {
    expect(templateNotApproved({ ...template, status: 'deleted' })?.reason).toMatch(/is deleted, so it was not sent; .*PUT \/v3\/channels\/whatsapp\/templates\/order_shipped/);
  });
});
