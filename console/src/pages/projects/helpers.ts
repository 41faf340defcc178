/**
 * Pure helpers of the project pages (unit-tested in helpers.test.ts): the scan overview of an
 * artifact and its counts by severity, platform text, a project's access level and type, the
 * `q` terms the lists send, storage units, and how a repository name sits in Harbor's URLs.
 */
import { roleNames } from '../../lib/format.ts';
import type { Artifact, NativeReportSummary, Platform, Project, Vulnerability } from './types.ts';

/** Severities from worst to least, as Harbor orders them. */
export const severities = ['Critical', 'High', 'Medium', 'Low', 'Negligible', 'Unknown'] as const;
export type Severity = (typeof severities)[number];

/** The vulnerability report summary of an artifact: the first entry of `scan_overview` (Wharf keys it by the first accepted report type). */
export function scanOverviewOf(a: Pick<Artifact, 'scan_overview'>): NativeReportSummary | null {
  const o = a.scan_overview;
  if (!o) return null;
  const first = Object.values(o)[0];
  return first ?? null;
}

/** Counts by severity, worst first, leaving out zeros; `None` findings count as Negligible (Harbor stores Negligible as None). */
export function severityCounts(s: NativeReportSummary | null | undefined): Array<{ severity: Severity; count: number }> {
  const raw = s?.summary?.summary ?? {};
  const counts = new Map<Severity, number>();
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'number' || v <= 0) continue;
    const key = k.toLowerCase();
    const sev = key === 'none' ? 'Negligible' : severities.find((x) => x.toLowerCase() === key) ?? 'Unknown';
    counts.set(sev, (counts.get(sev) ?? 0) + v);
  }
  return severities.filter((x) => counts.has(x)).map((severity) => ({ severity, count: counts.get(severity) ?? 0 }));
}

/** A one-line text for a scan: `Not scanned`, `Running 50%`, `No vulnerabilities`, `3 vulnerabilities (1 fixable)`, `Error`. */
export function scanText(s: NativeReportSummary | null | undefined): string {
  if (!s || !s.scan_status) return 'Not scanned';
  const st = s.scan_status;
  if (st === 'Pending' || st === 'Running' || st === 'Scheduled') return s.complete_percent ? `${st} ${s.complete_percent}%` : st;
  if (st !== 'Success') return st;
  const total = s.summary?.total ?? 0;
  if (total === 0) return 'No vulnerabilities';
  const fixable = s.summary?.fixable ?? 0;
  return `${total} ${total === 1 ? 'vulnerability' : 'vulnerabilities'}${fixable > 0 ? ` (${fixable} fixable)` : ''}`;
}

/** True while a scan of the artifact is not final (the list polls then). */
export function scanInProgress(a: Pick<Artifact, 'scan_overview' | 'sbom_overview'>): boolean {
  const busy = (st: string | undefined) => st === 'Pending' || st === 'Running' || st === 'Scheduled';
  return busy(scanOverviewOf(a)?.scan_status) || busy(a.sbom_overview?.scan_status ?? undefined);
}

/** `linux/arm64/v8` (os/architecture/variant), or ''. */
export function platformText(p: Platform | null | undefined): string {
  if (!p) return '';
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
}

/** The platforms of an artifact: its own (image), or its children's (index). */
export function artifactPlatforms(a: Pick<Artifact, 'extra_attrs' | 'references'>): string[] {
  if (a.references && a.references.length > 0) return a.references.map((r) => platformText(r.platform)).filter((x) => x !== '');
  const own = platformText(a.extra_attrs ?? null);
  return own === '' ? [] : [own];
}

/** True for an image index (its children are in `references`). */
export function isIndex(a: Pick<Artifact, 'manifest_media_type'>): boolean {
  return /image\.index|manifest\.list/.test(a.manifest_media_type);
}

/** `Public` or `Private` from the project's `public` metadata. */
export function accessLevel(p: Pick<Project, 'metadata'>): 'Public' | 'Private' {
  return p.metadata?.public === 'true' ? 'Public' : 'Private';
}

/** `Proxy Cache` for a project of a registry endpoint, else `Project`. */
export function projectType(p: Pick<Project, 'registry_id'>): 'Proxy Cache' | 'Project' {
  return p.registry_id !== null && p.registry_id !== undefined && p.registry_id > 0 ? 'Proxy Cache' : 'Project';
}

/** A `q` value for a substring match, quoted when it holds characters that `q` reads itself (`,` `"` spaces braces). */
export function containsTerm(key: string, value: string): string | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  if (/[,\s"'{}()[\]~]/.test(v)) return `${key}=~"${v.replace(/"/g, '')}"`;
  return `${key}=~${v}`;
}

/** Several `q` terms joined by commas, leaving out the empty ones. */
export function joinTerms(...terms: Array<string | undefined>): string | undefined {
  const t = terms.filter((x): x is string => x !== undefined && x !== '');
  return t.length === 0 ? undefined : t.join(',');
}

export type StorageUnit = 'MiB' | 'GiB' | 'TiB';

/** A byte count split into the largest unit that shows it as a whole number (for the quota field); -1 is unlimited. */
export function splitBytes(bytes: number | null | undefined): { value: number; unit: StorageUnit } {
  if (bytes === null || bytes === undefined || bytes < 0) return { value: -1, unit: 'GiB' };
  if (bytes >= 2 ** 40 && bytes % 2 ** 40 === 0) return { value: bytes / 2 ** 40, unit: 'TiB' };
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return { value: bytes / 2 ** 30, unit: 'GiB' };
  return { value: Math.round((bytes / 2 ** 20) * 100) / 100, unit: 'MiB' };
}

/** Percentage of a quota used (0–100), or null when unlimited. */
export function quotaPercent(used: number | undefined, hard: number | undefined): number | null {
  if (hard === undefined || hard < 0) return null;
  if (hard === 0) return 100;
  return Math.min(100, Math.round(((used ?? 0) / hard) * 100));
}

/** The name of a repository inside its project (`library/a/b` → `a/b`), as Harbor's URLs carry it. */
export function repoShortName(fullName: string, projectName: string): string {
  return fullName.startsWith(projectName + '/') ? fullName.slice(projectName.length + 1) : fullName;
}

/** The console's path segment of a repository (`a/b` → `a%2Fb`). */
export function repoSegment(shortName: string): string {
  return encodeURIComponent(shortName);
}

/**
 * Splits the rest of a `/projects/:id/repositories/...` URL into the repository (inside the project)
 * and what follows `artifacts-tab`: `a%2Fb/artifacts-tab/artifacts/sha256:1` → `{repo: 'a/b', digest: 'sha256:1'}`.
 * Unencoded slashes in the name work too.
 */
export function parseRepoPath(rest: string): { repo: string; digest: string | null; tab: boolean } {
  const clean = rest.replace(/^\/+|\/+$/g, '');
  const marker = clean.indexOf('/artifacts-tab');
  const repoPart = marker < 0 ? clean : clean.slice(0, marker);
  const after = marker < 0 ? '' : clean.slice(marker + '/artifacts-tab'.length);
  const m = /^\/artifacts\/([^/]+)/.exec(after);
  let repo = repoPart;
  try {
    repo = decodeURIComponent(repoPart);
  } catch {
    /* keep it as it is */
  }
  return { repo, digest: m?.[1] ? decodeURIComponent(m[1]) : null, tab: marker >= 0 };
}

/** Harbor's audit-log `q` from the filter fields. */
export function auditLogQuery(f: { username?: string; resource?: string; resourceType?: string; operation?: string; from?: string; to?: string }): string | undefined {
  const exact = (k: string, v: string | undefined) => (v && v.trim() !== '' ? `${k}=${v.trim()}` : undefined);
  let range: string | undefined;
  if ((f.from && f.from !== '') || (f.to && f.to !== '')) range = `op_time=[${f.from ? toQueryTime(f.from) : ''}~${f.to ? toQueryTime(f.to) : ''}]`;
  return joinTerms(containsTerm('username', f.username ?? ''), containsTerm('resource', f.resource ?? ''), exact('resource_type', f.resourceType), exact('operation', f.operation), range);
}

/** A datetime-local value (`2026-12-06T14:00`, local time) as the API's `YYYY-MM-DD HH:mm:ss` in UTC. */
export function toQueryTime(local: string): string {
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return local;
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** The report inside a `vulnerabilities` addition (keyed by report type; `{}` when there is none), or null. */
export function vulnerabilityReport(body: Record<string, unknown> | null | undefined): { generated_at?: string; scanner?: { name: string; version?: string }; severity?: string; vulnerabilities: Vulnerability[] } | null {
  if (!body) return null;
  for (const v of Object.values(body)) {
    if (v && typeof v === 'object' && Array.isArray((v as { vulnerabilities?: unknown }).vulnerabilities)) return v as { vulnerabilities: Vulnerability[] };
  }
  return null;
}

/** Worst first, then by CVSS v3 score (highest first), then by id. */
export function sortVulnerabilities(v: readonly Vulnerability[]): Vulnerability[] {
  const rank = (s: string) => {
    const i = severities.findIndex((x) => x.toLowerCase() === s.toLowerCase());
    return i < 0 ? (s.toLowerCase() === 'none' ? 4 : severities.length) : i;
  };
  return [...v].sort((a, b) => rank(a.severity) - rank(b.severity) || (b.preferred_cvss?.score_v3 ?? -1) - (a.preferred_cvss?.score_v3 ?? -1) || a.id.localeCompare(b.id));
}

/** CVE ids typed one per line or separated by commas or spaces: trimmed, empty ones and repeats dropped. */
export function parseCveIds(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s !== ''))];
}

/** An API time in the browser's locale, short (`12/6/26, 2:20 PM`); '' for none or Go's zero time. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso || iso.startsWith('0001-01-01')) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

/** The user's role in a project as the list shows it: the member role, else `System Admin` for the admin, else ''. */
export function roleText(p: Pick<Project, 'current_user_role_id'>, sysadmin: boolean): string {
  const r = p.current_user_role_id ? roleNames[p.current_user_role_id] : undefined;
  if (r) return r;
  return sysadmin ? 'System Admin' : '';
}
