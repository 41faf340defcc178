/**
 * Maven versions, ordered like Maven's `ComparableVersion` (the current upstream rules, which
 * include combination items such as `rc1` and the `ga`/`final`/`release` release aliases).
 *
 * Parsing, after lower-casing: `.` and `-` separate items, and so does every switch between
 * digits and non-digits. Digit runs are numbers (any length, leading zeros ignored); other runs
 * are qualifiers; letters followed by digits (`rc1`, `beta-2`) form one combination item. A `-`,
 * a digit-to-letter switch and a trailing `.qualifier` open a sub-list. Trailing "null" items
 * (`0`, the empty qualifier, an empty sub-list) are dropped, so `1` = `1.0` = `1-0` = `1.0.0`.
 *
 * Ordering: qualifiers rank `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final =
 * release < sp`, with unknown qualifiers after `sp` in alphabetical order; `a1`, `b1`, `m1` mean
 * `alpha-1`, `beta-1`, `milestone-1`. A number beats any qualifier and any sub-list
 * (`1-sp < 1-1 < 1.1`); a sub-list beats a qualifier. Where one side has run out, the other
 * side's next item decides against "nothing" (`1-rc < 1 < 1-sp`, `1 < 1.1`).
 *
 * Every non-empty string without whitespace or control characters is a Maven version.
 */
import { MAX_VERSION_LENGTH, compareDigits, compareStrings, isDigit, sign, type VersionOrder } from './order.ts';

interface NumberItem {
  kind: 'number';
  /** Digits without leading zeros; `0` for zero. */
  digits: string;
}
interface QualifierItem {
  kind: 'qualifier';
  value: string;
}
interface CombinationItem {
  kind: 'combination';
  qualifier: QualifierItem;
  number: NumberItem;
}
interface ListItem {
  kind: 'list';
  items: Item[];
}
type Item = NumberItem | QualifierItem | CombinationItem | ListItem;

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const RELEASE_ALIASES = new Set(['ga', 'final', 'release']);
const RELEASE_RANK = String(QUALIFIERS.indexOf(''));
const ZERO: NumberItem = { kind: 'number', digits: '0' };

function numberItem(digits: string): NumberItem {
  let i = 0;
  while (i < digits.length - 1 && digits[i] === '0') i++;
  return { kind: 'number', digits: digits.length === 0 ? '0' : digits.slice(i) };
}

function qualifierItem(value: string, followedByDigit: boolean): QualifierItem {
  let v = value;
  if (followedByDigit && v.length === 1) {
    if (v === 'a') v = 'alpha';
    else if (v === 'b') v = 'beta';
    else if (v === 'm') v = 'milestone';
  }
  return { kind: 'qualifier', value: v === 'cr' ? 'rc' : v };
}

function combinationItem(text: string): CombinationItem {
  let at = 0;
  while (at < text.length && !isDigit(text[at])) at++;
  return { kind: 'combination', qualifier: qualifierItem(text.slice(0, at), true), number: numberItem(text.slice(at)) };
}

function parseItem(isCombination: boolean, digits: boolean, text: string): Item {
  if (isCombination) return combinationItem(text.replaceAll('-', ''));
  if (digits) return numberItem(text);
  return qualifierItem(text, false);
}

/** A string that orders qualifiers by rank, then unknown ones alphabetically after all ranks. */
function rankKey(q: string): string {
  if (RELEASE_ALIASES.has(q)) return RELEASE_RANK;
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

function isNull(item: Item): boolean {
  switch (item.kind) {
    case 'number':
      return item.digits === '0';
    case 'qualifier':
      return item.value === '';
    case 'combination':
      return false;
    case 'list':
      return item.items.length === 0;
  }
}

function normalize(list: ListItem): void {
  const items = list.items;
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item === undefined || !isNull(item)) continue;
    const next = items[i + 1];
    if (next === undefined || next.kind === 'qualifier') {
      items.splice(i, 1);
    } else if (next.kind === 'list') {
      const first = next.items[0];
      if (first !== undefined && (first.kind === 'combination' || first.kind === 'qualifier')) items.splice(i, 1);
    }
  }
}

function parse(version: string): ListItem {
  const v = version.toLowerCase();
  const root: ListItem = { kind: 'list', items: [] };
  let list = root;
  const stack: ListItem[] = [root];
  const openSubList = (): void => {
    const sub: ListItem = { kind: 'list', items: [] };
    list.items.push(sub);
    list = sub;
    stack.push(sub);
  };
  let digits = false;
  let isCombination = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '.') {
      list.items.push(i === start ? ZERO : parseItem(isCombination, digits, v.slice(start, i)));
      isCombination = false;
      start = i + 1;
    } else if (c === '-') {
      if (i === start) {
        list.items.push(ZERO);
      } else {
        // `x-1` is read as `x1`.
        if (!digits && i !== v.length - 1 && /\p{Nd}/u.test(v[i + 1] ?? '')) {
          isCombination = true;
          continue;
        }
        list.items.push(parseItem(isCombination, digits, v.slice(start, i)));
      }
      start = i + 1;
      if (list.items.length > 0) openSubList();
      isCombination = false;
    } else if (isDigit(c)) {
      if (!digits && i > start) {
        isCombination = true;
        if (list.items.length > 0) openSubList();
      }
      digits = true;
    } else {
      if (digits && i > start) {
        list.items.push(parseItem(isCombination, true, v.slice(start, i)));
        start = i;
        openSubList();
        isCombination = false;
      }
      digits = false;
    }
  }
  if (v.length > start) {
    // `1.0.0.x1` reads like `1.0.0-x1`.
    if (!digits && list.items.length > 0) openSubList();
    list.items.push(parseItem(isCombination, digits, v.slice(start)));
  }
  for (let l = stack.pop(); l !== undefined; l = stack.pop()) normalize(l);
  return root;
}

/** `item` against nothing: how an item compares with the end of the other version. */
function compareWithNothing(item: Item): number {
  switch (item.kind) {
    case 'number':
      return item.digits === '0' ? 0 : 1;
    case 'qualifier':
      return compareStrings(rankKey(item.value), RELEASE_RANK);
    case 'combination':
      return compareWithNothing(item.qualifier);
    case 'list':
      for (const i of item.items) {
        const r = compareWithNothing(i);
        if (r !== 0) return r;
      }
      return 0;
  }
}

function compareItems(a: Item, b: Item): number {
  switch (a.kind) {
    case 'number':
      return b.kind === 'number' ? compareDigits(a.digits, b.digits) : 1;
    case 'qualifier':
      if (b.kind === 'qualifier') return compareStrings(rankKey(a.value), rankKey(b.value));
      if (b.kind === 'combination') return compareItems(a, b.qualifier) || -1;
      return -1;
    case 'combination':
      if (b.kind === 'qualifier') return compareItems(a.qualifier, b) || 1;
      if (b.kind === 'combination') return compareItems(a.qualifier, b.qualifier) || compareItems(a.number, b.number);
      return -1;
    case 'list':
      if (b.kind === 'number') return -1;
      if (b.kind !== 'list') return 1;
      for (let i = 0; i < a.items.length || i < b.items.length; i++) {
        const l = a.items[i];
        const r = b.items[i];
        const result =
          l === undefined ? (r === undefined ? 0 : -compareWithNothing(r)) : r === undefined ? compareWithNothing(l) : compareItems(l, r);
        if (result !== 0) return result;
      }
      return 0;
  }
}

function isValid(v: string): boolean {
  if (v.length === 0 || v.length > MAX_VERSION_LENGTH) return false;
  for (let i = 0; i < v.length; i++) {
    const code = v.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f || /\s/.test(v[i] ?? '')) return false;
  }
  return true;
}

export const maven: VersionOrder = {
  valid: isValid,
  compare: (a, b) => sign(compareItems(parse(a), parse(b))),
};
