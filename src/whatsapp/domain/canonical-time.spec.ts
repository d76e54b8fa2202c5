import fc from 'fast-check';
import { canonicalTime, isCanonicalTime, isTime, utcDayOf } from './canonical-time';

describe('canonical times', () => {
  it('agrees with Date for every instant, written canonically or not', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }), (date) => {
        const iso = date.toISOString();
        expect(isCanonicalTime(iso)).toBe(true);
        expect(canonicalTime(iso)).toBe(iso);
        expect(utcDayOf(iso)).toBe(iso.slice(0, 10));
        const offset = iso.replace('Z', '+00:00');
        expect(canonicalTime(offset)).toBe(iso);
        expect(utcDayOf(offset)).toBe(iso.slice(0, 10));
      }),
    );
  });

  it('knows which days each month has', () => {
    expect(canonicalTime('2026-02-30T10:00:00.000Z')).toBe(new Date(Date.parse('2026-02-30T10:00:00.000Z')).toISOString());
    expect(isCanonicalTime('2024-02-29T10:00:00.000Z')).toBe(true);
    expect(isCanonicalTime('2026-02-29T10:00:00.000Z')).toBe(false);
    expect(isCanonicalTime('1900-02-29T10:00:00.000Z')).toBe(false);
    expect(isCanonicalTime('2000-02-29T10:00:00.000Z')).toBe(true);
    expect(isCanonicalTime('2026-04-31T10:00:00.000Z')).toBe(false);
    expect(isCanonicalTime('2026-05-31T10:00:00.000Z')).toBe(true);
    expect(canonicalTime('2024-02-29T10:00:00.000Z')).toBe('2024-02-29T10:00:00.000Z');
    expect(isCanonicalTime('2024-02-28T10:00:00.000Z')).toBe(true);
    expect(utcDayOf('2026-04-31T10:00:00.000Z')).toBe(new Date(Date.parse('2026-04-31T10:00:00.000Z')).toISOString().slice(0, 10));
  });

  it('keeps what is no time as given', () => {
    expect(canonicalTime('yesterday')).toBe('yesterday');
    expect(utcDayOf('yesterday')).toBeNull();
    expect(isTime('yesterday')).toBe(false);
    expect(isTime('2026-03-01T10:00:00Z')).toBe(true);
  });
});

describe('isCanonicalTime', () => {
  it.each(['2026-13-01T10:00:00.000Z', '2026-00-01T10:00:00.000Z', '2026-01-00T10:00:00.000Z', '2026-01-01T24:00:00.000Z', '2026-01-01T10:60:00.000Z', '2026-01-01T10:00:60.000Z', '2026-01-01T10:00:00.000', '2026-01-01 10:00:00.000Z', '2026-01-01T10:00:00.00xZ', '+02026-01-01T10:00:00.000Z'])(
    'refuses %s',
    (text) => expect(isCanonicalTime(text)).toBe(false),
  );
});
