import { buildGupshupSendRequest, mergeGupshupConfig, type GupshupCredentials } from './send-request';

const credentials: GupshupCredentials = { apiKey: 'sk_live_1234567890abcd', source: '917834811114', srcName: 'DemoAPI' };

describe('buildGupshupSendRequest', () => {
  it('builds a plain text send', () => {
    expect(buildGupshupSendRequest({ credentials, destination: '919876543210', text: 'Your order shipped\n\nTrack it at https://x.test/1' })).toEqual({
      path: '/wa/api/v1/msg',
      headers: { apikey: 'sk_live_1234567890abcd', 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      form: {
        channel: 'whatsapp',
        source: '917834811114',
        'src.name': 'DemoAPI',
        destination: '919876543210',
        message: '{"type":"text","text":"Your order shipped\\n\\nTrack it at https://x.test/1"}',
      },
    });
  });

  it('keeps unicode and quotes intact inside the message JSON', () => {
    const { form } = buildGupshupSendRequest({ credentials, destination: '919876543210', text: 'Namaste 🙏 "quoted" & <b>' });
    expect(JSON.parse(form.message)).toEqual({ type: 'text', text: 'Namaste 🙏 "quoted" & <b>' });
  });

  it("sends an override's destination without its +: the number the request checked and queued as the message's own", () => {
    const { form } = buildGupshupSendRequest({ credentials, destination: '+919988776699', text: 'Hi', override: { destination: '+919988776699' } });
    expect(form.destination).toBe('919988776699');
  });

  it('sends the override destination of a job queued while the destination was the user\'s own number', () => {
    const { form } = buildGupshupSendRequest({ credentials, destination: '919988776650', text: 'Hi', override: { destination: '919988776699' } });
    expect(form.destination).toBe('919988776699');
  });

  it('puts override keys in the form, objects as JSON text and scalars as strings, replacing defaults', () => {
    const request = buildGupshupSendRequest({
      credentials,
      destination: '919876543210',
      text: 'ignored',
      override: {
        message: { type: 'image', originalUrl: 'https://picsum.photos/200', caption: 'Lorem' },
        disablePreview: true,
        encode: false,
        priority: 3,
        list: ['a', 1],
        'src.name': 'OtherApp',
        skipped: undefined,
        alsoSkipped: null,
      },
    });
    expect(request.path).toBe('/wa/api/v1/msg');
    expect(request.form).toEqual({
      channel: 'whatsapp',
      source: '917834811114',
      'src.name': 'OtherApp',
      destination: '919876543210',
      message: '{"type":"image","originalUrl":"https://picsum.photos/200","caption":"Lorem"}',
      disablePreview: 'true',
      encode: 'false',
      priority: '3',
      list: '["a",1]',
    });
  });

  it('sends a registered template: its id and filled params in `template`, its media header in `message`', () => {
    const request = buildGupshupSendRequest({
      credentials,
      destination: '919876543210',
      text: '',
      template: { id: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b', params: ['A-1', 'Ada'], header: { type: 'image', link: 'https://x.test/a.png' } },
    });
    expect(request.path).toBe('/wa/api/v1/template/msg');
    expect(request.form).toEqual({
      channel: 'whatsapp',
      source: '917834811114',
      'src.name': 'DemoAPI',
      destination: '919876543210',
      template: '{"id":"c6aecef6-bcb0-4fb1-8100-28c094e3bc6b","params":["A-1","Ada"]}',
      message: '{"type":"image","image":{"link":"https://x.test/a.png"}}',
    });
  });

  it('sends a template without a header without any message, and a document header with its file name', () => {
    const plain = buildGupshupSendRequest({ credentials, destination: '919876543210', text: '', template: { id: 't-1', params: [] } });
    expect(plain.form).not.toHaveProperty('message');
    expect(plain.form.template).toBe('{"id":"t-1","params":[]}');
    const document = buildGupshupSendRequest({
      credentials,
      destination: '919876543210',
      text: '',
      template: { id: 't-1', params: ['x'], header: { type: 'document', link: 'https://x.test/i.pdf', filename: 'invoice.pdf' } },
    });
    expect(JSON.parse(document.form.message)).toEqual({ type: 'document', document: { link: 'https://x.test/i.pdf', filename: 'invoice.pdf' } });
  });

  it('sends a template to the template endpoint without the default message', () => {
    const request = buildGupshupSendRequest({
      credentials,
      destination: '919876543210',
      text: 'Shipped',
      override: { template: { id: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b', params: ['Agent', 'Local Address'] } },
    });
    expect(request.path).toBe('/wa/api/v1/template/msg');
    expect(request.form).toEqual({
      channel: 'whatsapp',
      source: '917834811114',
      'src.name': 'DemoAPI',
      destination: '919876543210',
      template: '{"id":"c6aecef6-bcb0-4fb1-8100-28c094e3bc6b","params":["Agent","Local Address"]}',
    });
  });

  it('keeps a media header message given with a template', () => {
    const request = buildGupshupSendRequest({
      credentials,
      destination: '919876543210',
      text: 'Shipped',
      override: { template: '{"id":"t1","params":[]}', message: { type: 'image', image: { link: 'https://x.test/a.png' } } },
    });
    expect(request.path).toBe('/wa/api/v1/template/msg');
    expect(request.form.template).toBe('{"id":"t1","params":[]}');
    expect(request.form.message).toBe('{"type":"image","image":{"link":"https://x.test/a.png"}}');
  });

  it('never forwards _config and strips a leading + from numbers', () => {
    const request = buildGupshupSendRequest({
      credentials: { ...credentials, source: '+917834811114' },
      destination: '+919876543210',
      text: 'hi',
      override: { _config: { API_KEY: 'x' } },
    });
    expect(request.form).not.toHaveProperty('_config');
    expect(request.form.source).toBe('917834811114');
    expect(request.form.destination).toBe('919876543210');
  });
});

describe('mergeGupshupConfig', () => {
  it('returns the stored credentials without an override', () => {
    expect(mergeGupshupConfig(credentials)).toEqual(credentials);
    expect(mergeGupshupConfig(credentials, {})).toEqual(credentials);
  });

  it('applies API_KEY, SOURCE (without its +) and SRC_NAME', () => {
    expect(mergeGupshupConfig(credentials, { API_KEY: 'other-key', SOURCE: '+14155550100', SRC_NAME: 'Acme' })).toEqual({
      apiKey: 'other-key',
      source: '14155550100',
      srcName: 'Acme',
    });
  });

  it('ignores blanks, non-text values and unknown keys', () => {
    expect(mergeGupshupConfig(credentials, { API_KEY: '  ', SOURCE: { a: 1 }, SRC_NAME: null, OTHER: 'x' })).toEqual(credentials);
    expect(mergeGupshupConfig(credentials, { SOURCE: 14155550100 }).source).toBe('14155550100');
  });
});
