/**
 * What every version scheme provides, and the small helpers they share. A scheme says whether a
 * string is one of its versions and orders two valid versions; `compare.ts` adds the fallback for
 * everything else. Every function here runs in time linear in its input.
 */

/** Versions longer than this are invalid in every scheme (no real package version comes close). */
export const MAX_VERSION_LENGTH = 256;

/** One scheme's rules. `compare` is only called with two strings `valid` accepted. */
export interface VersionOrder {
  valid(v: string): boolean;
  compare(a: string, b: string): number;
}

/** -1, 0 or 1 from any number. */
export function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Code-unit order of two strings, the way C's strcmp and Java's compareTo order ASCII. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

export function isAsciiLetter(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

export function isAllDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isDigit(s[i])) return false;
  return true;
}

/**
 * Numeric order of two runs of ASCII digits of any length (leading zeros ignored; an empty run
 * counts as 0), without converting to a number, so 30-digit dates and build numbers stay exact.
 */
export function compareDigits(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && a[i] === '0') i++;
  while (j < b.length && b[j] === '0') j++;
  const lenA = a.length - i;
  const lenB = b.length - j;
  if (lenA !== lenB) return lenA < lenB ? -1 : 1;
  return compareStrings(a.slice(i), b.slice(j));
}
