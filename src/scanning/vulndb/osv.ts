/**
 * OSV records (https://ossf.github.io/osv-schema/) as the vulnerability database keeps them: a
 * raw record (parsed JSON of unknown shape) becomes a compact advisory — what a report shows —
 * and one compact entry per affected package, with only what matching needs. Pure; every step is
 * linear in the record's size.
 */
import type { OsvEvent } from '../versions/index.ts';

/** One event of an OSV range (the version order's type). */
export type { OsvEvent };

/** An OSV range the matcher evaluates (`SEMVER` or `ECOSYSTEM`; `GIT` ranges are dropped on import). */
export interface OsvRange {
  type: 'SEMVER' | 'ECOSYSTEM';
  events: OsvEvent[];
}

/** An OSV `severity[]` entry: `CVSS_V2`, `CVSS_V3`, `CVSS_V4` (a vector), `Ubuntu` (a word), ... */
export interface OsvSeverity {
  type: string;
  score: string;
}

/** The advisory part of a record a report needs (stored as JSON in `vulndb_advisories.record`). */
export interface CompactAdvisory {
  id: string;
  summary: string;
  /** The start of `details` (at most {@link maxDetails} characters). */
  details: string;
  aliases: string[];
  upstream: string[];
  severity: OsvSeverity[];
  /** Reference URLs, in the record's order, without repeats. */
  links: string[];
  /** `database_specific.severity` (GitHub's LOW/MODERATE/HIGH/CRITICAL and the like), or ''. */
  dbSeverity: string;
  cwe_ids: string[];
}

/** One affected package of a record (stored as JSON in `vulndb_affected.entry`). */
export interface CompactAffected {
  ecosystem: string;
  name: string;
  purl: string;
  ranges: OsvRange[];
  versions: string[];
  /** `affected[].severity` (schema 1.5+). */
  severity: OsvSeverity[];
  /** The package's own severity word from `ecosystem_specific` or `database_specific` (`severity`, `urgency`, `priority`), or ''. */
  severityWord: string;
}

/** A record ready to store: its id, times (ms) and the two compact parts. */
export interface ParsedRecord {
  id: string;
  modified: number;
  withdrawn: number | null;
  advisory: CompactAdvisory;
  affected: CompactAffected[];
}

/** Characters of `details` kept (a report's description is its summary or the start of its details). */
export const maxDetails = 1000;
/** Reference URLs kept per advisory. */
export const maxLinks = 50;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
}

/** ms of an RFC 3339 time, or NaN. */
function time(v: unknown): number {
  return typeof v === 'string' && v !== '' ? Date.parse(v) : Number.NaN;
}

function severities(v: unknown): OsvSeverity[] {
  if (!Array.isArray(v)) return [];
  const out: OsvSeverity[] = [];
  for (const s of v) if (isObj(s) && typeof s.type === 'string' && typeof s.score === 'string' && s.score !== '') out.push({ type: s.type, score: s.score });
  return out;
}

function events(v: unknown): OsvEvent[] {
  if (!Array.isArray(v)) return [];
  const out: OsvEvent[] = [];
  for (const e of v) {
    if (!isObj(e)) continue;
    if (typeof e.introduced === 'string') out.push({ introduced: e.introduced });
    else if (typeof e.fixed === 'string') out.push({ fixed: e.fixed });
    else if (typeof e.last_affected === 'string') out.push({ last_affected: e.last_affected });
    else if (typeof e.limit === 'string') out.push({ limit: e.limit });
  }
  return out;
}

function ranges(v: unknown): OsvRange[] {
  if (!Array.isArray(v)) return [];
  const out: OsvRange[] = [];
  for (const r of v) {
    if (!isObj(r) || (r.type !== 'SEMVER' && r.type !== 'ECOSYSTEM')) continue;
    const ev = events(r.events);
    if (ev.length) out.push({ type: r.type, events: ev });
  }
  return out;
}

/** The first severity word of an `ecosystem_specific`/`database_specific` object. */
function severityWord(...objs: unknown[]): string {
  for (const o of objs) {
    if (!isObj(o)) continue;
    for (const k of ['severity', 'urgency', 'priority']) {
      const w = o[k];
      if (typeof w === 'string' && w.trim() !== '') return w.trim();
    }
  }
  return '';
}

/**
 * The PyPI names of records and of installed packages compare after PEP 503 normalisation
 * (lower case, runs of `-`, `_`, `.` as one `-`).
 */
export function normalizePypiName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The name a package is stored and looked up under in `ecosystem`. */
export function lookupName(ecosystem: string, name: string): string {
  return ecosystem === 'PyPI' ? normalizePypiName(name) : name;
}

/**
 * A raw OSV record as stored, or an error message saying why it is not one (no `id`, an invalid
 * `modified`). A withdrawn record keeps no affected entries. `keep` filters affected entries by
 * ecosystem (an import limited to some ecosystems).
 */
export function parseRecord(raw: unknown, keep?: (ecosystem: string) => boolean): ParsedRecord | string {
  if (!isObj(raw)) return 'not a JSON object';
  const id = str(raw.id);
  if (id === '' || id.length > 200) return 'no id';
  // `modified` is required by the schema; a record without one (hand-written, old test data)
  // counts as published then, else as the epoch: any dated copy of it replaces it.
  const m = time(raw.modified);
  const p = time(raw.published);
  const modified = Number.isFinite(m) ? m : raw.modified === undefined ? (Number.isFinite(p) ? p : 0) : Number.NaN;
  if (!Number.isFinite(modified)) return `${id}: "modified" is not a valid time`;
  const w = time(raw.withdrawn);
  const withdrawn = Number.isFinite(w) ? w : null;
  const db = isObj(raw.database_specific) ? raw.database_specific : {};
  const links: string[] = [];
  const seen = new Set<string>();
  if (Array.isArray(raw.references)) {
    for (const r of raw.references) {
      const url = isObj(r) ? str(r.url) : '';
      if (url !== '' && !seen.has(url) && links.length < maxLinks) {
        seen.add(url);
        links.push(url);
      }
    }
  }
  const advisory: CompactAdvisory = {
    id,
    summary: str(raw.summary).trim(),
    details: str(raw.details).trim().slice(0, maxDetails),
    aliases: strings(raw.aliases),
    upstream: strings(raw.upstream),
    severity: severities(raw.severity),
    links,
    dbSeverity: str(db.severity).trim(),
    cwe_ids: strings(db.cwe_ids),
  };
  const affected: CompactAffected[] = [];
  if (withdrawn === null && Array.isArray(raw.affected)) {
    for (const a of raw.affected) {
      if (!isObj(a) || !isObj(a.package)) continue;
      const ecosystem = str(a.package.ecosystem);
      const name = str(a.package.name);
      if (ecosystem === '' || name === '' || (keep && !keep(ecosystem))) continue;
      const entry: CompactAffected = {
        ecosystem,
        name: lookupName(ecosystem, name),
        purl: str(a.package.purl),
        ranges: ranges(a.ranges),
        versions: strings(a.versions),
        severity: severities(a.severity),
        severityWord: severityWord(a.ecosystem_specific, a.database_specific),
      };
      if (entry.ranges.length || entry.versions.length) affected.push(entry);
    }
  }
  return { id, modified, withdrawn, advisory, affected };
}
