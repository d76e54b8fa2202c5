import { FAILURE_CODES, failureClassOf } from './failure-classes';

describe('failure classes', () => {
  it.each([
    ['130429', 'passing'],
    [131056, 'passing'],
    ['131048', 'passing'],
    ['1003', 'account'],
    [4001, 'account'],
    ['471', 'account'],
    ['1002', 'permanent'],
    ['131047', 'permanent'],
  ] as const)('classifies %s as %s', (code, expected) => {
    expect(failureClassOf(code)).toBe(expected);
  });

  it('treats an unknown code, or none, as permanent: a failure ends the message unless it is known to pass', () => {
    expect(failureClassOf('999999')).toBe('permanent');
    expect(failureClassOf(undefined)).toBe('permanent');
    expect(failureClassOf(' 130429 ')).toBe('passing');
  });

  it('names the meaning and the source of every code', () => {
    for (const entry of Object.values(FAILURE_CODES)) {
      expect(entry.meaning.length).toBeGreaterThan(3);
      expect(['gupshup', 'meta', 'meta-on-premises']).toContain(entry.source);
    }
  });
});
