/**
 * OSV range evaluation (OSV schema, `affected[].ranges`): is an installed version inside a range,
 * and which fixed version to report.
 *
 * A range's events are sorted by version (stable: events with equal versions keep their order)
 * and walked: `introduced` at or below the version opens the range, `fixed` at or below it closes
 * it (fixed is exclusive), `last_affected` strictly below it closes it (inclusive). `introduced:
 * "0"` is below everything. When a range has `limit` events the version must also be below one
 * of them (`limit: "*"` is above everything). A range may open and close several times.
 *
 * - `SEMVER` ranges compare with SemVer whatever the ecosystem (Go keeps its own rules, which
 *   accept the range's versions without `v`); `ECOSYSTEM` ranges with the ecosystem's scheme;
 *   `GIT` ranges (commit hashes) never match a package version.
 * - An installed version the scheme cannot parse matches nothing.
 * - An event whose version the scheme cannot parse errs towards reporting: an unparseable
 *   `introduced` counts as "0", an unparseable `fixed`, `last_affected` or `limit` is ignored.
 */
import { compareVersions, isValidVersion, type VersionScheme } from './compare.ts';

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: 'SEMVER' | 'ECOSYSTEM' | 'GIT';
  events: readonly OsvEvent[];
}

type Kind = 'introduced' | 'fixed' | 'last_affected' | 'limit';

interface Boundary {
  kind: Kind;
  /** null: below everything (introduced "0") or above everything (limit "*"). */
  version: string | null;
}

function schemeFor(scheme: VersionScheme, range: OsvRange): VersionScheme {
  return range.type === 'SEMVER' && scheme !== 'go' ? 'semver' : scheme;
}

function boundariesOf(scheme: VersionScheme, events: readonly OsvEvent[]): Boundary[] {
  const out: Boundary[] = [];
  for (const e of events) {
    if (e.introduced !== undefined) {
      const below = e.introduced === '0' || !isValidVersion(scheme, e.introduced);
      out.push({ kind: 'introduced', version: below ? null : e.introduced });
    } else if (e.fixed !== undefined) {
      if (isValidVersion(scheme, e.fixed)) out.push({ kind: 'fixed', version: e.fixed });
    } else if (e.last_affected !== undefined) {
      if (isValidVersion(scheme, e.last_affected)) out.push({ kind: 'last_affected', version: e.last_affected });
    } else if (e.limit !== undefined) {
      if (e.limit === '*') out.push({ kind: 'limit', version: null });
      else if (isValidVersion(scheme, e.limit)) out.push({ kind: 'limit', version: e.limit });
    }
  }
  // Only introduced can be "below everything" and only limit "above everything".
  const rank = (b: Boundary): number => (b.version !== null ? 0 : b.kind === 'introduced' ? -1 : 1);
  return out.sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    if (ra !== 0 || rb !== 0) return ra - rb;
    return compareVersions(scheme, a.version ?? '', b.version ?? '');
  });
}

function inRange(scheme: VersionScheme, version: string, boundaries: readonly Boundary[]): boolean {
  const limits = boundaries.filter((b) => b.kind === 'limit');
  if (limits.length > 0 && !limits.some((b) => b.version === null || compareVersions(scheme, version, b.version) < 0)) {
    return false;
  }
  let affected = false;
  for (const b of boundaries) {
    if (b.kind === 'limit') continue;
    const c = b.version === null ? 1 : compareVersions(scheme, version, b.version);
    if (b.kind === 'introduced' && c >= 0) affected = true;
    else if (b.kind === 'fixed' && c >= 0) affected = false;
    else if (b.kind === 'last_affected' && c > 0) affected = false;
  }
  return affected;
}

/** Whether `version` of a package in an ecosystem using `scheme` lies inside `range`. */
export function affects(scheme: VersionScheme, version: string, range: OsvRange): boolean {
  if (range.type === 'GIT') return false;
  const s = schemeFor(scheme, range);
  if (!isValidVersion(s, version)) return false;
  return inRange(s, version, boundariesOf(s, range.events));
}

/**
 * The fix to report for `version`: among the ranges that affect it, the smallest `fixed` above
 * it, written as the record writes it; "" when no affecting range names a fix.
 */
export function fixedVersionFor(scheme: VersionScheme, version: string, ranges: readonly OsvRange[]): string {
  let best: { version: string; scheme: VersionScheme } | null = null;
  for (const range of ranges) {
    if (!affects(scheme, version, range)) continue;
    const s = schemeFor(scheme, range);
    for (const e of range.events) {
      const fixed = e.fixed;
      if (fixed === undefined || !isValidVersion(s, fixed) || compareVersions(s, fixed, version) <= 0) continue;
      if (best === null || compareVersions(s, fixed, best.version) < 0) best = { version: fixed, scheme: s };
    }
  }
  return best?.version ?? '';
}
