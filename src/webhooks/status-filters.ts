/**
 * Status filters on a webhook policy (Wharf extension, docs/webhook-api.md "Status filters"): a
 * policy may narrow the events of a type by their outcome, so a receiver can ask for failures only.
 *
 *   { "scan_status": ["Error"], "replication_status": ["Error", "Stopped"],
 *     "retention_status": ["Error"], "quota_min_percent": 90 }
 *
 * - `scan_status`: SCANNING_* events whose outcome is listed (SCANNING_COMPLETED is Success,
 *   SCANNING_FAILED is Error, SCANNING_STOPPED is Stopped).
 * - `replication_status`: REPLICATION events whose `job_status` is listed (Running, Success, Error,
 *   Stopped; Harbor's Pending counts as Running).
 * - `retention_status`: TAG_RETENTION events whose `result` is listed (Success, Error, Stopped).
 * - `quota_min_percent`: QUOTA_WARNING and QUOTA_EXCEED events whose usage, read from Harbor's
 *   `Details` text, is at least that percentage of the limit (an integer 1-100). QUOTA_EXCEED is a
 *   refused push beyond the limit, so it passes every level; an event whose usage cannot be read
 *   passes too (a filter that cannot read a warning does not hide it).
 *
 * Status words are case-insensitive and Harbor's spellings are accepted and stored as Wharf's:
 * Succeed/SUCCESS -> Success, Failed/FAILED -> Error, InProgress -> Running. An empty list or a
 * missing key is no filter. A filter only applies to its event types: every other event passes.
 * Lists are at most four words and matching reads one field, so a check is linear in the event.
 *
 * Pure: `parseStatusFilters` throws BAD_REQUEST DomainErrors with the field's path.
 */
import { fail } from '../domain/index.ts';
import type { QuotaEvent, WharfEvent } from '../events/index.ts';
import { isRecord } from './formats/common.ts';
import { parseJsonText } from './stored-json.ts';

/** A job outcome as the filters name it. */
export type StatusWord = 'Running' | 'Success' | 'Error' | 'Stopped';

/** A validated `status_filters` object; absent keys are no filter. */
export interface StatusFilters {
  scan_status?: StatusWord[];
  replication_status?: StatusWord[];
  retention_status?: StatusWord[];
  quota_min_percent?: number;
}

/** The words each list accepts. */
const allowed = {
  scan_status: ['Success', 'Error', 'Stopped'],
  replication_status: ['Running', 'Success', 'Error', 'Stopped'],
  retention_status: ['Success', 'Error', 'Stopped'],
} as const satisfies Record<string, readonly StatusWord[]>;

type ListKey = keyof typeof allowed;
const listKeys = Object.keys(allowed) as ListKey[]; // the keys of the literal above
const filterKeys = [...listKeys, 'quota_min_percent'];

/** Every spelling accepted, lower-cased, to its status word. */
const synonyms: ReadonlyMap<string, StatusWord> = new Map([
  ['running', 'Running'],
  ['inprogress', 'Running'],
  ['in_progress', 'Running'],
  ['pending', 'Running'],
  ['success', 'Success'],
  ['succeed', 'Success'],
  ['succeeded', 'Success'],
  ['error', 'Error'],
  ['failed', 'Error'],
  ['failure', 'Error'],
  ['stopped', 'Stopped'],
]);

/** The status word `s` spells (any case, Harbor's words too), or null. */
export function statusWord(s: unknown): StatusWord | null {
  return typeof s === 'string' && s.length <= 32 ? (synonyms.get(s.trim().toLowerCase()) ?? null) : null;
}

function wordList(v: unknown, key: ListKey): StatusWord[] {
  const field = `status_filters.${key}`;
  const words: readonly StatusWord[] = allowed[key];
  const usage = `use ${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}; Harbor's Succeed and Failed are accepted too`;
  if (!Array.isArray(v)) throw fail('BAD_REQUEST', `${field} must be an array of statuses (${usage})`);
  if (v.length > 16) throw fail('BAD_REQUEST', `${field}: at most 16 statuses`);
  const out: StatusWord[] = [];
  v.forEach((s: unknown, i) => {
    const w = statusWord(s);
    if (w === null || !words.includes(w)) {
      throw fail('BAD_REQUEST', `${field}[${i}]: unsupported status ${JSON.stringify(s)} (${usage})`);
    }
    if (!out.includes(w)) out.push(w);
  });
  return out;
}

/**
 * Validates a policy's `status_filters` (absent or null: none). Returns the filters to store:
 * status words normalised, duplicates and empty lists left out.
 */
export function parseStatusFilters(v: unknown): StatusFilters {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw fail('BAD_REQUEST', 'status_filters must be an object (keys: scan_status, replication_status, retention_status, quota_min_percent)');
  for (const k of Object.keys(v)) {
    if (!filterKeys.includes(k)) throw fail('BAD_REQUEST', `status_filters: unknown filter ${k} (use ${filterKeys.join(', ')})`);
  }
  const out: StatusFilters = {};
  for (const key of listKeys) {
    if (v[key] === undefined || v[key] === null) continue;
    const list = wordList(v[key], key);
    if (list.length > 0) out[key] = list;
  }
  const q = v.quota_min_percent;
  if (q !== undefined && q !== null) {
    if (typeof q !== 'number' || !Number.isInteger(q) || q < 1 || q > 100) {
      throw fail('BAD_REQUEST', 'status_filters.quota_min_percent must be an integer from 1 to 100');
    }
    out.quota_min_percent = q;
  }
  return out;
}

/** The filters of a stored `status_filters` column; null when it cannot be read (such a policy matches nothing). */
export function readStatusFilters(text: string): StatusFilters | null {
  const v = parseJsonText(text);
  if (!isRecord(v)) return null;
  try {
    return parseStatusFilters(v);
  } catch {
    return null;
  }
}

/** True when no filter is set. */
export function noStatusFilters(f: StatusFilters): boolean {
  return listKeys.every((k) => f[k] === undefined) && f.quota_min_percent === undefined;
}

/** The outcome an event reports, for the events a status list applies to; undefined for the others. */
export function eventStatus(event: WharfEvent): { key: ListKey; status: StatusWord | null } | undefined {
  switch (event.type) {
    case 'SCANNING_COMPLETED':
      return { key: 'scan_status', status: 'Success' };
    case 'SCANNING_FAILED':
      return { key: 'scan_status', status: 'Error' };
    case 'SCANNING_STOPPED':
      return { key: 'scan_status', status: 'Stopped' };
    case 'REPLICATION':
      return { key: 'replication_status', status: statusWord(event.replication['job_status']) };
    case 'TAG_RETENTION':
      return { key: 'retention_status', status: statusWord(event.retention['result']) };
    default:
      return undefined;
  }
}

/** Bytes of a size as Harbor's Details print it (`12.6 MiB`, `512 B`, `1.5GB`); NaN when unreadable. */
function bytesOf(num: string, unit: string): number {
  const u = unit.toUpperCase();
  const exp = u === 'B' ? 0 : 'KMGTPE'.indexOf(u.charAt(0)) + 1;
  return exp === 0 && u !== 'B' ? Number.NaN : Number(num) * 1024 ** exp;
}

const size = String.raw`(\d{1,20}(?:\.\d{1,20})?)\s?([KMGTPE]i?B|B)`;
const warningRe = new RegExp(String.raw`used ${size} of ${size}`, 'i');
const reachRe = /reach (\d{1,3}(?:\.\d{1,6})?)%/i;

/**
 * The usage a QUOTA_WARNING reports as a percentage of the limit, read from its Details (Harbor's
 * text, which Wharf writes too): `used X of Y`, else `reach N%`. As precise as the text's sizes
 * (one decimal); null when the text says neither.
 */
export function warningPercent(event: Pick<QuotaEvent, 'details'>): number | null {
  const text = event.details.slice(0, 2048);
  const m = warningRe.exec(text);
  if (m) {
    const [used, limit] = [bytesOf(m[1] ?? '', m[2] ?? ''), bytesOf(m[3] ?? '', m[4] ?? '')];
    if (limit > 0 && Number.isFinite(used)) return (used * 100) / limit;
  }
  const r = reachRe.exec(text);
  return r ? Number(r[1]) : null;
}

/** True when `filters` let `event` through (see the module comment); null filters (an unreadable column) let nothing through. */
export function statusFiltersMatch(filters: StatusFilters | null, event: WharfEvent): boolean {
  if (filters === null) return false;
  if (event.type === 'QUOTA_WARNING' || event.type === 'QUOTA_EXCEED') {
    const min = filters.quota_min_percent;
    if (min === undefined || event.type === 'QUOTA_EXCEED') return true;
    const pct = warningPercent(event);
    return pct === null || pct >= min;
  }
  const s = eventStatus(event);
  if (s === undefined) return true;
  const list = filters[s.key];
  return list === undefined || (s.status !== null && list.includes(s.status));
}
