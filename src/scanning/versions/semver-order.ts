/**
 * SemVer 2.0 order for npm, crates.io, NuGet and Packagist (`semver`) and for Go modules (`go`).
 *
 * A version becomes a key: its numeric release components and its pre-release identifiers; build
 * metadata (`+...`, Go's `+incompatible` included) is dropped. Keys compare release components
 * numerically (missing ones count as 0, so NuGet's `1.2.3.4` > `1.2.3` = `1.2.3.0`), then a version
 * without pre-release above one with, then the identifiers: numeric ones numerically and below
 * alphanumeric ones, alphanumeric ones in ASCII order, a shorter list first when it is a prefix.
 * Numbers are compared as digit strings, so any length is exact.
 *
 * - `semver`: parsed by the `semver` package in loose mode (`v1.2.3`, `=1.2.3`, `1.2.3beta`);
 *   when that fails, by a lenient rule: an optional `v`, one or more dotted numbers, then an
 *   optional pre-release (after `-`, or directly after the numbers) and build metadata. The
 *   ordering of keys equals `semver.compare` wherever the package parses both versions.
 * - `go`: an optional `v` then strict SemVer (no leading zeros), or Go's shorthands `v1` and
 *   `v1.2` (= `v1.0.0`, `v1.2.0`); pseudo-versions (`v0.0.0-20240101000000-abcdef123456`,
 *   `v1.2.4-0.2024...`) are ordinary pre-releases. Toolchain versions as the Go standard library
 *   reports them (`go1.21.3`, `go1.22`, `go1.21rc2`) map to `1.21.3`, `1.22.0`, `1.21.0-rc.2`.
 */
import { parse as parseSemver } from 'semver';
import { MAX_VERSION_LENGTH, compareDigits, compareStrings, isAllDigits, isAsciiLetter, isDigit, type VersionOrder } from './order.ts';

interface SemverKey {
  release: string[];
  pre: string[];
}

function isIdentChar(c: string | undefined): boolean {
  return isDigit(c) || isAsciiLetter(c) || c === '-';
}

/** The lenient rule: [v] N{.N} [[-]pre{.pre}] [+build]. */
function parseLenient(v: string): SemverKey | null {
  let pos = v[0] === 'v' || v[0] === 'V' ? 1 : 0;
  const release: string[] = [];
  for (;;) {
    const start = pos;
    while (isDigit(v[pos])) pos++;
    if (pos === start) return null;
    release.push(v.slice(start, pos));
    if (v[pos] !== '.' || !isDigit(v[pos + 1])) break;
    pos++;
  }
  const pre: string[] = [];
  if (v[pos] === '-' || isAsciiLetter(v[pos])) {
    if (v[pos] === '-') pos++;
    for (;;) {
      const start = pos;
      while (isIdentChar(v[pos])) pos++;
      if (pos === start) return null;
      pre.push(v.slice(start, pos));
      if (v[pos] !== '.') break;
      pos++;
    }
  }
  if (v[pos] === '+') {
    pos++;
    const start = pos;
    while (isIdentChar(v[pos]) || v[pos] === '.') pos++;
    if (pos === start) return null;
  }
  return pos === v.length ? { release, pre } : null;
}

function fromPackage(v: string, loose: boolean): SemverKey | null {
  const p = parseSemver(v, { loose });
  if (p === null) return null;
  return { release: [String(p.major), String(p.minor), String(p.patch)], pre: p.prerelease.map(String) };
}

function parseSemverKey(v: string): SemverKey | null {
  if (v.length === 0 || v.length > MAX_VERSION_LENGTH) return null;
  return fromPackage(v, true) ?? parseLenient(v);
}

function isPlainNumber(s: string): boolean {
  return isAllDigits(s) && (s === '0' || s[0] !== '0');
}

/** Go toolchain tags: go1, go1.21, go1.21.3, go1.21rc2, go1.21beta1. */
function parseGoToolchain(v: string): SemverKey | null {
  let rest = v.slice(2);
  let pre: string[] = [];
  for (const kind of ['rc', 'beta']) {
    const at = rest.indexOf(kind);
    if (at > 0) {
      const n = rest.slice(at + kind.length);
      if (!isPlainNumber(n)) return null;
      pre = [kind, n];
      rest = rest.slice(0, at);
      break;
    }
  }
  const release = rest.split('.');
  if (release.length > 3 || !release.every(isPlainNumber)) return null;
  while (release.length < 3) release.push('0');
  return { release, pre };
}

function parseGoKey(v: string): SemverKey | null {
  if (v.length === 0 || v.length > MAX_VERSION_LENGTH || /\s/.test(v)) return null;
  if (v.startsWith('go')) return parseGoToolchain(v);
  const bare = v[0] === 'v' ? v.slice(1) : v;
  if (bare.length === 0 || bare[0] === 'v') return null;
  const full = fromPackage(bare, false);
  if (full !== null) return full;
  // Go's shorthands: v1 and v1.2, with nothing after them.
  const parts = bare.split('.');
  if (parts.length > 2 || !parts.every(isPlainNumber)) return null;
  while (parts.length < 3) parts.push('0');
  return { release: parts, pre: [] };
}

function compareIdentifiers(a: string, b: string): number {
  const numA = isAllDigits(a);
  const numB = isAllDigits(b);
  if (numA && numB) return compareDigits(a, b);
  if (numA) return -1;
  if (numB) return 1;
  return compareStrings(a, b);
}

function compareKeys(a: SemverKey, b: SemverKey): number {
  const n = Math.max(a.release.length, b.release.length);
  for (let i = 0; i < n; i++) {
    const r = compareDigits(a.release[i] ?? '0', b.release[i] ?? '0');
    if (r !== 0) return r;
  }
  if (a.pre.length === 0 || b.pre.length === 0) {
    return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  }
  for (let i = 0; ; i++) {
    const ia = a.pre[i];
    const ib = b.pre[i];
    if (ia === undefined || ib === undefined) return ia === ib ? 0 : ia === undefined ? -1 : 1;
    const r = compareIdentifiers(ia, ib);
    if (r !== 0) return r;
  }
}

function orderFor(parseKey: (v: string) => SemverKey | null): VersionOrder {
  return {
    valid: (v) => parseKey(v) !== null,
    compare(a, b) {
      const ka = parseKey(a);
      const kb = parseKey(b);
      if (ka === null || kb === null) return 0; // not reached: compare.ts only passes valid versions
      return compareKeys(ka, kb);
    },
  };
}

export const semver: VersionOrder = orderFor(parseSemverKey);
export const go: VersionOrder = orderFor(parseGoKey);
