import { validateSendRequest, type SendValidationContext } from './send-validation';

const registered: SendValidationContext = {
  findApp: (apiKey) => (apiKey === 'key-1234567890' ? { source: '917834811114', srcName: 'DemoAPI' } : undefined),
  acceptAnyKey: false,
};
const textForm = {
  channel: 'whatsapp',
  source: '917834811114',
  'src.name': 'DemoAPI',
  destination: '919876543210',
  message: '{"type":"text","text":"hi"}',
};

describe('validateSendRequest', () => {
  it('accepts a valid text send', () => {
    expect(validateSendRequest('msg', 'key-1234567890', textForm, registered)).toEqual({
      ok: true,
      apiKey: 'key-1234567890',
      source: '917834811114',
      srcName: 'DemoAPI',
      destination: '919876543210',
      message: { type: 'text', text: 'hi' },
    });
  });

  it('checks the key first, then the app, then the destination, then the message', () => {
    expect(validateSendRequest('msg', 'wrong', { ...textForm, destination: 'x' }, registered)).toMatchObject({ status: 401, body: { message: 'Authentication Failed' } });
    expect(validateSendRequest('msg', undefined, textForm, registered)).toMatchObject({ status: 401 });
    expect(validateSendRequest('msg', ['key-1234567890', 'b'], textForm, registered)).toMatchObject({ status: 401 });
    expect(validateSendRequest('msg', 'key-1234567890', { ...textForm, 'src.name': 'Other', destination: 'x' }, registered)).toMatchObject({
      status: 400,
      body: { message: 'Invalid App Details', status: 'error' },
    });
    expect(validateSendRequest('msg', 'key-1234567890', { ...textForm, source: '+917834811114' }, registered)).toMatchObject({
      body: { message: 'Invalid App Details' },
    });
    for (const destination of ['', '1234567', '1234567890123456', '+919876543210', '91987654321a']) {
      expect(validateSendRequest('msg', 'key-1234567890', { ...textForm, destination }, registered)).toMatchObject({
        status: 400,
        body: { message: 'Invalid Destination', status: 'error' },
      });
    }
    for (const message of [undefined, 'not json', '[]', '{"text":"no type"}', '{"type":""}']) {
      const form: Record<string, string> = { ...textForm };
      if (message === undefined) delete form.message;
      else form.message = message;
      expect(validateSendRequest('msg', 'key-1234567890', form, registered)).toMatchObject({ status: 400, body: { message: 'Invalid Message' } });
    }
  });

  it('accepts a missing channel but not another one', () => {
    const { channel: _channel, ...withoutChannel } = textForm;
    expect(validateSendRequest('msg', 'key-1234567890', withoutChannel, registered)).toMatchObject({ ok: true });
    expect(validateSendRequest('msg', 'key-1234567890', { ...textForm, channel: 'sms' }, registered)).toMatchObject({ status: 400 });
  });

  it('checks templates', () => {
    const { message: _message, ...base } = textForm;
    expect(validateSendRequest('template', 'key-1234567890', { ...base, template: '{"id":"t-1","params":["a"]}' }, registered)).toMatchObject({
      ok: true,
      template: { id: 't-1', params: ['a'] },
    });
    for (const template of ['{"params":[]}', 'nope', '{"id":"t","params":"a"}']) {
      expect(validateSendRequest('template', 'key-1234567890', { ...base, template }, registered)).toMatchObject({ body: { message: 'Invalid Template' } });
    }
    expect(validateSendRequest('template', 'key-1234567890', { ...base, template: '{"id":"t"}', message: '{"image":{}}' }, registered)).toMatchObject({
      body: { message: 'Invalid Message' },
    });
    expect(
      validateSendRequest('template', 'key-1234567890', { ...base, template: '{"id":"t"}', message: '{"type":"image","image":{"link":"https://x.test/a.png"}}' }, registered),
    ).toMatchObject({ ok: true, message: { type: 'image' } });
  });

  it('accepts any key, source and app name in accept-any-key mode, but still checks them against a registered key', () => {
    const anyKey = { ...registered, acceptAnyKey: true };
    expect(validateSendRequest('msg', 'whatever', { ...textForm, source: '14155550100', 'src.name': 'Mine' }, anyKey)).toMatchObject({ ok: true, srcName: 'Mine' });
    expect(validateSendRequest('msg', '', textForm, anyKey)).toMatchObject({ status: 401 });
    expect(validateSendRequest('msg', 'whatever', { ...textForm, 'src.name': '' }, anyKey)).toMatchObject({ status: 400 });
    expect(validateSendRequest('msg', 'key-1234567890', { ...textForm, 'src.name': 'Mine' }, anyKey)).toMatchObject({ status: 400 });
  });
});
