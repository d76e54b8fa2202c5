import { uuidV5 } from './name-based-uuid';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

describe('uuidV5', () => {
  it('matches the published version 5 UUID of python.org in the DNS namespace', () => {
    expect(uuidV5('python.org', DNS_NAMESPACE)).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('sets the version and variant bits', () => {
    expect(uuidV5('anything', DNS_NAMESPACE)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('depends on the name and on the namespace', () => {
    expect(uuidV5('a', DNS_NAMESPACE)).not.toBe(uuidV5('b', DNS_NAMESPACE));
    expect(uuidV5('a', DNS_NAMESPACE)).not.toBe(uuidV5('a', '6ba7b811-9dad-11d1-80b4-00c04fd430c8'));
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => uuidV5('a', 'not-a-uuid')).toThrow('not a UUID');
  });
});
