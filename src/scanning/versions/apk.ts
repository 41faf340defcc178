/**
 * Alpine (and Wolfi, Chainguard) package versions, ordered like apk-tools' version.c:
 * `digits{.digits}[letter]{_suffix[digits]}[~hexhash][-rdigits]`.
 *
 * - The version is read as tokens; two versions compare token by token while the token kinds
 *   agree. Numbers compare numerically, except that a dotted component where either side has a
 *   leading zero compares as a string (so `8.2.0 < 8.2.001` and `8.2.0015 < 8.2.002`, the way
 *   decimal fractions would). A letter compares by its character; `_suffix` by its rank
 *   `alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p`; a `~hash` as a string; the
 *   `-rN` revision numerically.
 * - When one version runs out of matching tokens: a pre-release suffix (`_alpha` … `_rc`) there
 *   makes it the smaller one; otherwise the version with more components is the larger one.
 *   So `1.2.3_rc1-r0 < 1.2.3-r0 < 1.2.3_p1-r0 < 1.2.3-r1`.
 *
 * Valid means apk's own validation accepts it; letters and suffixes are lowercase.
 */
import { MAX_VERSION_LENGTH, compareDigits, compareStrings, isDigit, type VersionOrder } from './order.ts';

// Token kinds in apk's order: a kind further down the list ends a version earlier.
const INITIAL_DIGIT = 0;
const DIGIT = 1;
const LETTER = 2;
const SUFFIX = 3;
const SUFFIX_NO = 4;
const COMMIT_HASH = 5;
const REVISION_NO = 6;
const END = 7;

interface Token {
  kind: number;
  /** The token's text: the digits, the letter, the suffix word or the hash. */
  text: string;
  /** For SUFFIX: its rank in SUFFIXES. */
  rank: number;
}

const SUFFIXES = ['alpha', 'beta', 'pre', 'rc', '', 'cvs', 'svn', 'git', 'hg', 'p'];
const NO_SUFFIX_RANK = SUFFIXES.indexOf('');

function isLower(c: string | undefined): boolean {
  return c !== undefined && c >= 'a' && c <= 'z';
}

function isHex(c: string | undefined): boolean {
  return isDigit(c) || (c !== undefined && c >= 'a' && c <= 'f');
}

/** The tokens followed by an END token, or null when apk would call the version invalid. */
function tokenize(v: string): Token[] | null {
  if (v.length > MAX_VERSION_LENGTH) return null;
  const tokens: Token[] = [];
  let pos = 0;
  const run = (test: (c: string | undefined) => boolean): string => {
    const start = pos;
    while (pos < v.length && test(v[pos])) pos++;
    return v.slice(start, pos);
  };
  const first = run(isDigit);
  if (first.length === 0) return null;
  tokens.push({ kind: INITIAL_DIGIT, text: first, rank: 0 });
  let last = INITIAL_DIGIT;
  while (pos < v.length) {
    const c = v[pos];
    let token: Token;
    if (isLower(c)) {
      if (last > DIGIT) return null;
      pos++;
      token = { kind: LETTER, text: c ?? '', rank: 0 };
    } else if (c === '.') {
      if (last > DIGIT) return null;
      pos++;
      const digits = run(isDigit);
      if (digits.length === 0) return null;
      token = { kind: DIGIT, text: digits, rank: 0 };
    } else if (isDigit(c)) {
      // Digits right after a letter or a number are not allowed; after a suffix they number it.
      if (last !== SUFFIX) return null;
      token = { kind: SUFFIX_NO, text: run(isDigit), rank: 0 };
    } else if (c === '_') {
      if (last > SUFFIX_NO) return null;
      pos++;
      const word = run(isLower);
      const rank = word.length === 0 ? -1 : SUFFIXES.indexOf(word);
      if (rank < 0 || rank === NO_SUFFIX_RANK) return null;
      token = { kind: SUFFIX, text: word, rank };
    } else if (c === '~') {
      if (last >= COMMIT_HASH) return null;
      pos++;
      const hash = run(isHex);
      if (hash.length === 0) return null;
      token = { kind: COMMIT_HASH, text: hash, rank: 0 };
    } else if (c === '-') {
      if (last >= REVISION_NO || v[pos + 1] !== 'r') return null;
      pos += 2;
      const digits = run(isDigit);
      if (digits.length === 0) return null;
      token = { kind: REVISION_NO, text: digits, rank: 0 };
    } else {
      return null;
    }
    tokens.push(token);
    last = token.kind;
  }
  tokens.push({ kind: END, text: '', rank: 0 });
  return tokens;
}

function compareTokens(a: Token, b: Token): number {
  switch (a.kind) {
    case DIGIT:
      if (a.text[0] === '0' || b.text[0] === '0') return compareStrings(a.text, b.text);
      return compareDigits(a.text, b.text);
    case INITIAL_DIGIT:
    case SUFFIX_NO:
    case REVISION_NO:
      return compareDigits(a.text, b.text);
    case SUFFIX:
      return a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0;
    default: // LETTER (one character) and COMMIT_HASH
      return compareStrings(a.text, b.text);
  }
}

function compareTokenLists(ta: Token[], tb: Token[]): number {
  let i = 0;
  for (;;) {
    const a = ta[i];
    const b = tb[i];
    if (a === undefined || b === undefined) return 0; // not reached: both lists end with END
    if (a.kind !== b.kind) {
      if (a.kind === SUFFIX && a.rank < NO_SUFFIX_RANK) return -1;
      if (b.kind === SUFFIX && b.rank < NO_SUFFIX_RANK) return 1;
      return a.kind > b.kind ? -1 : 1;
    }
    if (a.kind === END) return 0;
    const r = compareTokens(a, b);
    if (r !== 0) return r;
    i++;
  }
}

export const apk: VersionOrder = {
  valid: (v) => tokenize(v) !== null,
  compare(a, b) {
    const ta = tokenize(a);
    const tb = tokenize(b);
    if (ta === null || tb === null) return 0; // not reached: compare.ts only passes valid versions
    return compareTokenLists(ta, tb);
  },
};
