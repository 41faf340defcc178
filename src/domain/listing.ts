/**
 * Harbor's list semantics, pure: the `q` query language, `sort`, and what a list declares about
 * its fields. Every /api/v2.0 list goes through this one parser (src/api/harbor/paging.ts reads
 * the request, src/db/listing.ts turns the result into SQL, `conditionMatches` filters in memory).
 *
 * `q` (Harbor's src/lib/q): comma-separated `key=value` terms, after one more URL-unescape of the
 * whole string (invalid escapes leave it as sent; unlike Go's QueryUnescape a `+` stays a `+`, so
 * that `name=robot$p+ci` sent as `%2B` finds the robot):
 *   k=v         exact match             k=~v        fuzzy: substring, case-insensitive
 *   k=[a~b]     range, either end open  k={a b c}   any of (OR)    k=(a b c)   all of (AND)
 * Values may be quoted ("a b" or 'a b'). Keys a list does not know are ignored, as Harbor's ORM
 * ignores fields that are not filterable. `sort` is `k1,-k2`; fields a list cannot sort by are
 * ignored, and when none is left the list's default order applies.
 *
 * Everything here runs in one pass over the input (no regular expression sees user input where
 * it could backtrack); fuzzy values become SQL LIKE patterns with escaped wildcards.
 */
import { fail } from './errors.ts';

/** A text filter from Harbor's `q` (`k=v` exact, `k=~v` fuzzy). */
export interface TextFilter {
  value: string;
  fuzzy: boolean;
}

/** One sort key (Harbor's `sort=name,-creation_time`). */
export interface SortKey {
  field: string;
  desc: boolean;
}

/** One page of a list and the total number of matching items. */
export interface Page<T> {
  items: T[];
  total: number;
}

/** One `q` term as written: its form and its (unquoted) text values. */
export type Condition =
  | { kind: 'exact'; value: string }
  | { kind: 'fuzzy'; value: string }
  | { kind: 'range'; min?: string; max?: string }
  | { kind: 'or'; values: string[] }
  | { kind: 'and'; values: string[] };

/** A page request with Harbor's `q` and `sort`, as parsed from a request. */
export interface ListQuery {
  page: number;
  pageSize: number;
  filters: Map<string, Condition>;
  sort: SortKey[];
}

/** How a field's values are compared: text, integers, booleans (stored 0/1) or times (stored as ms). */
export type FieldType = 'text' | 'int' | 'bool' | 'time';

/** One field a list exposes to `q` and `sort`. */
export interface ListField {
  type: FieldType;
  /** The SQL column (possibly `table.column`); omitted for fields only filtered in memory. */
  column?: string;
  /** False when `sort` may not use it (default true when it has a column). */
  sortable?: boolean;
}

/** The fields of one list by their API name. */
export type ListSpec = Readonly<Record<string, ListField>>;

/** A value of a typed field: text, or a number (ints, 0/1 for booleans, ms for times). */
export type FieldValue = string | number;

/** A condition with its values converted to the field's type. */
export type TypedCondition =
  | { kind: 'exact'; value: FieldValue }
  | { kind: 'fuzzy'; value: string }
  | { kind: 'range'; min?: FieldValue; max?: FieldValue }
  | { kind: 'or'; values: FieldValue[] }
  | { kind: 'and'; values: FieldValue[] };

/** A filter a list understood: the field and the typed condition. */
export interface ResolvedFilter {
  key: string;
  field: ListField;
  condition: TypedCondition;
}

/** A sort key a list understood. */
export interface ResolvedSort {
  key: string;
  field: ListField;
  desc: boolean;
}

/** One more URL-unescape (`%XX`); an invalid string stays as it is. */
function queryUnescape(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Splits at commas that are not inside [], {} or (). */
function splitTerms(q: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (c === '[' || c === '{' || c === '(') depth++;
    else if ((c === ']' || c === '}' || c === ')') && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      out.push(q.slice(start, i));
      start = i + 1;
    }
  }
  out.push(q.slice(start));
  return out;
}

/** Harbor's parsePattern: a value in double or single quotes is the text between them. */
function unquote(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) return v.slice(1, -1);
  return v;
}

/** Go's strings.Fields: the runs of non-whitespace characters. */
function fields(s: string): string[] {
  return s.split(/\s+/).filter((x) => x !== '');
}

function parseValue(raw: string): Condition {
  const v = raw;
  if (v.startsWith('[') && v.endsWith(']')) {
    const inner = v.slice(1, -1);
    const tilde = inner.indexOf('~');
    if (tilde < 0) throw fail('BAD_REQUEST', `invalid query string value: ${raw}: pattern "${inner}" is invalid`);
    const min = inner.slice(0, tilde).trim();
    const max = inner.slice(tilde + 1).trim();
    if (min === '' && max === '') throw fail('BAD_REQUEST', `invalid query string value: ${raw}: pattern "${inner}" is invalid`);
    return { kind: 'range', ...(min === '' ? {} : { min: unquote(min) }), ...(max === '' ? {} : { max: unquote(max) }) };
  }
  if (v.startsWith('{') && v.endsWith('}')) return { kind: 'or', values: fields(v.slice(1, -1)).map(unquote) };
  if (v.startsWith('(') && v.endsWith(')')) return { kind: 'and', values: fields(v.slice(1, -1)).map(unquote) };
  if (v.startsWith('~')) return { kind: 'fuzzy', value: unquote(v.slice(1)) };
  return { kind: 'exact', value: unquote(v) };
}

/**
 * Parses Harbor's `q` into conditions by key (a key given twice: the last wins, as in Harbor's map).
 * BAD_REQUEST, with Harbor's messages, for a term without `=`, with an empty key or value, or a
 * range without `~` or with both ends empty.
 */
export function parseQuery(q: string): Map<string, Condition> {
  const out = new Map<string, Condition>();
  if (q === '') return out;
  for (const term of splitTerms(queryUnescape(q))) {
    const eq = term.indexOf('=');
    const key = eq < 0 ? '' : term.slice(0, eq);
    const value = eq < 0 ? '' : term.slice(eq + 1);
    if (key === '' || value === '') throw fail('BAD_REQUEST', 'the query string must contain "=" and the key/value cannot be empty');
    out.set(key, parseValue(value));
  }
  return out;
}

/** Parses Harbor's `sort` (`name,-creation_time`); empty parts are skipped. */
export function parseSortKeys(sort: string): SortKey[] {
  const out: SortKey[] = [];
  for (const part of sort.split(',')) {
    const t = part.trim();
    if (t === '' || t === '-') continue;
    out.push(t.startsWith('-') ? { field: t.slice(1), desc: true } : { field: t, desc: false });
  }
  return out;
}

const goTrue = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const goFalse = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/**
 * A time in `q`: Harbor's `2006-01-02 15:04:05` (UTC), ISO 8601 or Unix seconds, in ms; `end` 'max'
 * makes a time without milliseconds cover its whole second.
 */
export function parseQueryTime(key: string, s: string, end: 'min' | 'max'): number {
  const t = s.trim();
  let ms: number;
  if (t.length > 0 && t.length <= 12 && [...t].every((c) => c >= '0' && c <= '9')) ms = Number(t) * 1000;
  else {
    // Harbor's layout is read as UTC; anything else must be ISO 8601.
    const harbor = t.length === 19 && t[10] === ' ';
    ms = t.length > 64 ? Number.NaN : Date.parse(harbor ? t.replace(' ', 'T') + 'Z' : t);
  }
  if (Number.isNaN(ms)) throw fail('BAD_REQUEST', `q: ${key} "${t.slice(0, 64)}" is not a time (use YYYY-MM-DD HH:mm:ss in UTC, ISO 8601 or Unix seconds)`);
  return end === 'max' && !t.includes('.') ? ms + 999 : ms;
}

function typed(key: string, type: FieldType, v: string, end: 'min' | 'max' = 'min'): FieldValue {
  switch (type) {
    case 'text':
      return v;
    case 'int': {
      const digits = v.startsWith('-') ? v.slice(1) : v;
      if (digits === '' || digits.length > 15 || ![...digits].every((c) => c >= '0' && c <= '9')) throw fail('BAD_REQUEST', `q: ${key} must be an integer, not "${v.slice(0, 64)}"`);
      return Number(v);
    }
    case 'bool':
      if (goTrue.has(v)) return 1;
      if (goFalse.has(v)) return 0;
      throw fail('BAD_REQUEST', `q: ${key} must be true or false, not "${v.slice(0, 64)}"`);
    case 'time':
      return parseQueryTime(key, v, end);
  }
}

/**
 * Converts a condition to a field's type. A fuzzy match on a field that is not text is an exact
 * one; an exact time without milliseconds is the range of its second. BAD_REQUEST for a value the
 * type cannot hold (`public=maybe`, `project_id=abc`).
 */
export function typeCondition(key: string, type: FieldType, c: Condition): TypedCondition {
  switch (c.kind) {
    case 'fuzzy':
      if (type === 'text') return c;
      return typeCondition(key, type, { kind: 'exact', value: c.value });
    case 'exact':
      if (type === 'time') return { kind: 'range', min: typed(key, type, c.value, 'min'), max: typed(key, type, c.value, 'max') };
      return { kind: 'exact', value: typed(key, type, c.value) };
    case 'range':
      return {
        kind: 'range',
        ...(c.min === undefined ? {} : { min: typed(key, type, c.min, 'min') }),
        ...(c.max === undefined ? {} : { max: typed(key, type, c.max, 'max') }),
      };
    case 'or':
    case 'and':
      return { kind: c.kind, values: c.values.map((v) => typed(key, type, v)) };
  }
}

/** The filters of `query` that `spec` knows, typed; other keys are ignored. */
export function resolveFilters(filters: Map<string, Condition>, spec: ListSpec): ResolvedFilter[] {
  const out: ResolvedFilter[] = [];
  for (const [key, c] of filters) {
    const field = Object.hasOwn(spec, key) ? spec[key] : undefined;
    if (field === undefined) continue;
    out.push({ key, field, condition: typeCondition(key, field.type, c) });
  }
  return out;
}

/** The sort keys `spec` can sort by (a column, not marked unsortable); others are ignored. */
export function resolveSort(sort: readonly SortKey[], spec: ListSpec): ResolvedSort[] {
  const out: ResolvedSort[] = [];
  for (const k of sort) {
    const field = Object.hasOwn(spec, k.field) ? spec[k.field] : undefined;
    if (field === undefined || field.column === undefined || field.sortable === false) continue;
    out.push({ key: k.field, field, desc: k.desc });
  }
  return out;
}

/** The typed condition of `key` in `filters`, when `spec` knows it. */
export function filterOf(filters: readonly ResolvedFilter[], key: string): TypedCondition | undefined {
  return filters.find((f) => f.key === key)?.condition;
}

/** In-memory form of a condition on one value (fuzzy: substring, case-insensitive). An empty list matches everything, as in Harbor. */
export function conditionMatches(value: FieldValue, c: TypedCondition): boolean {
  switch (c.kind) {
    case 'exact':
      return value === c.value;
    case 'fuzzy':
      return String(value).toLowerCase().includes(c.value.toLowerCase());
    case 'range':
      return (c.min === undefined || value >= c.min) && (c.max === undefined || value <= c.max);
    case 'or':
      return c.values.length === 0 || c.values.includes(value);
    case 'and':
      return c.values.every((v) => v === value);
  }
}

/** A condition on a field with several values (an artifact's tags): AND needs every value present, the other forms any one. */
export function conditionMatchesAny(values: readonly FieldValue[], c: TypedCondition): boolean {
  if (c.kind === 'and') return c.values.every((v) => values.includes(v));
  if (c.kind === 'or' && c.values.length === 0) return true;
  return values.some((v) => conditionMatches(v, c));
}

/** Compares two values for a sort (numbers numerically, text by code unit, as SQLite's BINARY collation). */
export function compareValues(a: FieldValue, b: FieldValue): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One page of an in-memory list. */
export function pageOf<T>(all: readonly T[], page: number, pageSize: number): Page<T> {
  const start = (page - 1) * pageSize;
  return { items: all.slice(start, start + pageSize), total: all.length };
}
