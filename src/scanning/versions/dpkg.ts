/**
 * Debian and Ubuntu package versions, `[epoch:]upstream[-revision]`, ordered the way
 * `dpkg --compare-versions` orders them (deb-version(7)):
 *
 * - the epoch (digits, default 0) compares numerically first;
 * - the revision is whatever follows the LAST `-`; without one the revision is empty, which
 *   equals `0` (`1.0` = `1.0-0`);
 * - upstream, then revision, compare as alternating non-digit and digit runs: in a non-digit run
 *   `~` sorts before the end of the string, which sorts before letters, which sort before every
 *   other character (so `1.0~rc1 < 1.0 < 1.0-1 < 1.0-1+b1 < 1.0+b1`); digit runs compare
 *   numerically.
 *
 * Valid means dpkg parses it without an error or a warning: an epoch of digits no larger than
 * 2^31-1, an upstream part that starts with a digit and holds only `A-Za-z0-9.+~-:`, and a
 * non-empty revision of `A-Za-z0-9.+~` when a `-` is present. Surrounding blanks are not accepted.
 */
import { MAX_VERSION_LENGTH, compareDigits, isAllDigits, isAsciiLetter, isDigit, sign, type VersionOrder } from './order.ts';

interface DpkgVersion {
  epoch: string;
  upstream: string;
  revision: string;
}

const MAX_EPOCH = '2147483647';

function isUpstreamChar(c: string): boolean {
  return isDigit(c) || isAsciiLetter(c) || c === '.' || c === '+' || c === '~' || c === '-' || c === ':';
}

function isRevisionChar(c: string): boolean {
  return isDigit(c) || isAsciiLetter(c) || c === '.' || c === '+' || c === '~';
}

function parse(v: string): DpkgVersion | null {
  if (v.length === 0 || v.length > MAX_VERSION_LENGTH) return null;
  const colon = v.indexOf(':');
  let epoch = '0';
  let rest = v;
  if (colon >= 0) {
    epoch = v.slice(0, colon);
    if (!isAllDigits(epoch) || compareDigits(epoch, MAX_EPOCH) > 0) return null;
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '';
  if (upstream.length === 0 || !isDigit(upstream[0])) return null;
  if (dash >= 0 && revision.length === 0) return null;
  for (const c of upstream) if (!isUpstreamChar(c)) return null;
  for (const c of revision) if (!isRevisionChar(c)) return null;
  return { epoch, upstream, revision };
}

/** The weight of one character inside a non-digit run; `undefined` is the end of the string. */
function weight(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isAsciiLetter(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: one upstream or revision part against another. */
function compareParts(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const wa = weight(a[i]);
      const wb = weight(b[j]);
      if (wa !== wb) return sign(wa - wb);
      i++;
      j++;
    }
    const startA = i;
    const startB = j;
    while (i < a.length && isDigit(a[i])) i++;
    while (j < b.length && isDigit(b[j])) j++;
    const r = compareDigits(a.slice(startA, i), b.slice(startB, j));
    if (r !== 0) return r;
  }
  return 0;
}

export const dpkg: VersionOrder = {
  valid: (v) => parse(v) !== null,
  compare(a, b) {
    const va = parse(a);
    const vb = parse(b);
    if (va === null || vb === null) return 0; // not reached: compare.ts only passes valid versions
    return (
      compareDigits(va.epoch, vb.epoch) ||
      compareParts(va.upstream, vb.upstream) ||
      compareParts(va.revision, vb.revision)
    );
  },
};
