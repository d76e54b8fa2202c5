/**
 * The domain's times are ISO 8601 strings in toISOString()'s form. Events are written in that
 * form already, so the projection can take a string as it is when it has that shape: parsing
 * and formatting a Date for every time of every event was a visible part of a rebuild.
 */
const DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

/** The two-digit number at `at` (both characters known to be digits). */
function twoDigits(iso: string, at: number): number {
  return (iso.charCodeAt(at) - 48) * 10 + iso.charCodeAt(at + 1) - 48;
}

/**
 * True when `iso` is exactly what toISOString() gives for some instant (years 0000 to 9999).
 * Character by character rather than by regular expression: this runs for every time of every
 * event a projection reads, and is several times cheaper so.
 */
export function isCanonicalTime(iso: string): boolean {
  if (iso.length !== 24 || iso[4] !== '-' || iso[7] !== '-' || iso[10] !== 'T' || iso[13] !== ':' || iso[16] !== ':' || iso[19] !== '.' || iso[23] !== 'Z') {
    return false;
  }
  for (const at of DIGIT_POSITIONS) {
    const code = iso.charCodeAt(at);
    if (code < 48 || code > 57) return false;
  }
  const year = twoDigits(iso, 0) * 100 + twoDigits(iso, 2);
  const month = twoDigits(iso, 5);
  const day = twoDigits(iso, 8);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && twoDigits(iso, 11) <= 23 && twoDigits(iso, 14) <= 59 && twoDigits(iso, 17) <= 59;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1];
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/** The same instant as toISOString() writes it; a string that is no time is kept as given. */
export function canonicalTime(iso: string): string {
  if (isCanonicalTime(iso)) return iso;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : new Date(ms).toISOString();
}

/** Whether `iso` names an instant at all. */
export function isTime(iso: string): boolean {
  return isCanonicalTime(iso) || !Number.isNaN(Date.parse(iso));
}

/** The UTC day (YYYY-MM-DD) of a time, or null when it is none. */
export function utcDayOf(iso: string): string | null {
  if (isCanonicalTime(iso)) return iso.slice(0, 10);
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().slice(0, 10);
}
