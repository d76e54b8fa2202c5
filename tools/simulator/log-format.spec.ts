import { maskApiKey, maskUrl } from './log-format';

describe('maskApiKey', () => {
  it('shows at most the last 4 characters', () => {
    expect(maskApiKey('sk_live_0123456789abcdef')).toBe('****cdef');
    expect(maskApiKey('short')).toBe('****');
    expect(maskApiKey(undefined)).toBe('(none)');
  });
});

describe('maskUrl', () => {
  it('hides query values and long path segments', () => {
    expect(maskUrl('http://127.0.0.1:3000/api/v1/apps/ak_0123456789abcdefWXYZ/webhook/gupshup_whatsapp?token=secret&x=1')).toBe(
      'http://127.0.0.1:3000/api/v1/apps/****WXYZ/webhook/gupshup_whatsapp?token=****&x=****',
    );
    expect(maskUrl('not a url')).toBe('(invalid url)');
  });
});
