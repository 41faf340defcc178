/**
 * RPM versions (Red Hat, Rocky, AlmaLinux, SUSE, openSUSE, Photon, Mageia, openEuler), written
 * `[epoch:]version[-release]` and ordered like rpm: the epoch numerically (missing = 0), then
 * rpmvercmp on the version, then rpmvercmp on the release (a missing release sorts before any).
 *
 * rpmvercmp splits a string into runs of ASCII digits and runs of ASCII letters; every other
 * character only separates runs, except two:
 * - `~` sorts before everything, the end of the string included (`1.0~rc1 < 1.0`);
 * - `^` sorts after the end of the string but before any further run (`1.0 < 1.0^git1 < 1.0.1`).
 * A digit run beats a letter run; digit runs compare numerically; letter runs with strcmp; when
 * one string runs out first, the longer one wins.
 *
 * Valid means: an epoch of digits when a `:` is present, a non-empty version, a non-empty release
 * after the last `-` when there is one, and only `A-Za-z0-9._+~^` in version and release.
 */
import { MAX_VERSION_LENGTH, compareDigits, compareStrings, isAllDigits, isAsciiLetter, isDigit, type VersionOrder } from './order.ts';

interface Evr {
  epoch: string;
  version: string;
  release: string;
}

function isRpmChar(c: string): boolean {
  return isDigit(c) || isAsciiLetter(c) || c === '.' || c === '_' || c === '+' || c === '~' || c === '^';
}

function parse(v: string): Evr | null {
  if (v.length === 0 || v.length > MAX_VERSION_LENGTH) return null;
  const colon = v.indexOf(':');
  let epoch = '0';
  let rest = v;
  if (colon >= 0) {
    epoch = v.slice(0, colon);
    if (!isAllDigits(epoch)) return null;
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const version = dash >= 0 ? rest.slice(0, dash) : rest;
  const release = dash >= 0 ? rest.slice(dash + 1) : '';
  if (version.length === 0 || (dash >= 0 && release.length === 0)) return null;
  for (const c of version) if (!isRpmChar(c)) return null;
  for (const c of release) if (!isRpmChar(c)) return null;
  return { epoch, version, release };
}

function isAlnum(c: string | undefined): boolean {
  return isDigit(c) || isAsciiLetter(c);
}

/** rpmvercmp. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const test = numeric ? isDigit : isAsciiLetter;
    const startA = i;
    const startB = j;
    while (i < a.length && test(a[i])) i++;
    while (j < b.length && test(b[j])) j++;
    // b's run is of the other kind: a digit run beats a letter run.
    if (j === startB) return numeric ? 1 : -1;
    const segA = a.slice(startA, i);
    const segB = b.slice(startB, j);
    const r = numeric ? compareDigits(segA, segB) : compareStrings(segA, segB);
    if (r !== 0) return r;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

export const rpm: VersionOrder = {
  valid: (v) => parse(v) !== null,
  compare(a, b) {
    const va = parse(a);
    const vb = parse(b);
    if (va === null || vb === null) return 0; // not reached: compare.ts only passes valid versions
    return compareDigits(va.epoch, vb.epoch) || rpmvercmp(va.version, vb.version) || rpmvercmp(va.release, vb.release);
  },
};
