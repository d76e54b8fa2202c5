import { missingDataPlaceholders, placeholdersOf, renderParameter } from './template-placeholders';

describe('template placeholders', () => {
  it('finds data and recipient placeholders, with text around them', () => {
    expect(placeholdersOf('Order {{data.order.id}} for {{ recipient.firstName }}').placeholders).toEqual([
      { source: 'data', path: 'order.id', text: '{{data.order.id}}' },
      { source: 'recipient', path: 'firstName', text: '{{ recipient.firstName }}' },
    ]);
    expect(placeholdersOf('no placeholders').placeholders).toEqual([]);
  });

  it('names a placeholder left open or closed without its start', () => {
    expect(placeholdersOf('Order {{data.orderId').problems).toEqual(['"Order {{data.orderId" has a {{ without its }} (or the reverse): write placeholders whole, e.g. {{data.orderId}}']);
    expect(placeholdersOf('{{data.a}} and data.b}}').problems).toHaveLength(1);
    expect(placeholdersOf('{{data.a}} {{recipient.b}}').problems).toEqual([]);
  });

  it('names placeholders that read something else or have no path', () => {
    expect(placeholdersOf('{{user.name}} {{data}} {{data..x}}').problems).toEqual([
      '{{user.name}} reads neither data nor recipient: write {{data.PATH}} or {{recipient.FIELD}}',
      '{{data}} needs a path of names separated by dots, e.g. {{data.orderId}}',
      '{{data..x}} needs a path of names separated by dots, e.g. {{data.orderId}}',
    ]);
  });

  it('renders text, numbers and booleans, and reports what resolves to nothing', () => {
    const values = { data: { order: { id: 'A-1', total: 12.5 }, gift: false, blank: ' ', list: [1] }, recipient: { firstName: 'Ada' } };
    expect(renderParameter('{{data.order.id}}/{{data.order.total}}/{{data.gift}} for {{recipient.firstName}}', values)).toEqual({
      ok: true,
      text: 'A-1/12.5/false for Ada',
    });
    expect(renderParameter('{{data.blank}}{{data.list}}{{recipient.lastName}}{{data.order.id.x}}', values)).toEqual({
      ok: false,
      missing: [
        { source: 'data', path: 'blank', text: '{{data.blank}}' },
        { source: 'data', path: 'list', text: '{{data.list}}' },
        { source: 'recipient', path: 'lastName', text: '{{recipient.lastName}}' },
        { source: 'data', path: 'order.id.x', text: '{{data.order.id.x}}' },
      ],
    });
  });

  it('reads own properties only', () => {
    expect(renderParameter('{{data.constructor}}', { data: {}, recipient: {} })).toMatchObject({ ok: false });
  });

  it('lists each missing data placeholder once', () => {
    expect(missingDataPlaceholders(['{{data.a}} {{data.b}}', '{{data.a}} {{recipient.x}}'], { b: 'here' }).map((p) => p.text)).toEqual(['{{data.a}}']);
  });
});
