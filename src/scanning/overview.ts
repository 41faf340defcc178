/**
 * Harbor's overview objects (pure; the reference §1.3, §1.8, harbor-webhooks.md §2.4):
 * `scan_overview` values (NativeReportSummary) of one report or merged over an index's children,
 * `sbom_overview`, Harbor's status merge, and the `additions/vulnerabilities` object with its
 * quirks (`[""]` for empty links and cwe_ids; an index merges its children by id-package-version
 * and collects `artifact_digests`).
 */
import type { IngestedItem, ScannerInfo, SeverityCounts, StoredSeverity } from './report-ingest.ts';
import { severityCode } from './report-ingest.ts';

/** Harbor's scan statuses. */
export type ScanStatus = 'Pending' | 'Scheduled' | 'Running' | 'Success' | 'Error' | 'Stopped';

/** Final statuses: the report will not change any more. */
export const finalScanStatuses: readonly string[] = ['Success', 'Error', 'Stopped'];

/** One report as the overviews need it. */
export interface ReportState {
  uuid: string;
  status: string;
  startTime: number | null;
  endTime: number | null;
  /** '' until Success. */
  severity: string;
  /** Set on Success. */
  counts: SeverityCounts | null;
  scanner: ScannerInfo | null;
}

/** Zero times render as Go's zero time, as Harbor's REST models do. */
export const zeroTime = '0001-01-01T00:00:00.000Z';

function iso(ms: number | null): string {
  return ms === null ? zeroTime : new Date(ms).toISOString();
}

/** `{total, fixable, summary:{<Severity>: n}}` with only the severities present. */
export function summaryOf(c: SeverityCounts): { total: number; fixable: number; summary: Record<string, number> } {
  const summary: Record<string, number> = {};
  for (const s of ['Critical', 'High', 'Medium', 'Low', 'None', 'Unknown'] as const) if (c[s] > 0) summary[s] = c[s];
  return { total: c.total, fixable: c.fixable, summary };
}

function seconds(start: number | null, end: number | null): number {
  return start !== null && end !== null && end >= start ? Math.floor((end - start) / 1000) : 0;
}

/** One report's `scan_overview` value; empty fields (severity "", duration 0, summary null) are dropped. */
export function reportOverview(r: ReportState): Record<string, unknown> {
  const out: Record<string, unknown> = { report_id: r.uuid, scan_status: r.status };
  if (r.status === 'Success' && r.severity !== '') out.severity = r.severity;
  const duration = seconds(r.startTime, r.endTime);
  if (duration > 0) out.duration = duration;
  if (r.status === 'Success' && r.counts) out.summary = summaryOf(r.counts);
  out.start_time = iso(r.startTime);
  out.end_time = iso(r.endTime);
  out.complete_percent = r.status === 'Success' ? 100 : 0;
  if (r.scanner) out.scanner = r.scanner;
  return out;
}

/**
 * Harbor's merge of an index's children: any Running (or Pending/Scheduled) -> Running; else any
 * Stopped -> Stopped; else any Success -> Success (even when siblings failed); else the last.
 */
export function mergeStatus(statuses: readonly string[]): string {
  if (statuses.length === 0) return 'Error';
  if (statuses.some((s) => s === 'Running' || s === 'Pending' || s === 'Scheduled')) return 'Running';
  if (statuses.includes('Stopped')) return 'Stopped';
  if (statuses.includes('Success')) return 'Success';
  return statuses[statuses.length - 1] ?? 'Error';
}

/** The merged report id of an index: base64("u1|u2|…"). A single child keeps its own id. */
export function mergedReportId(uuids: readonly string[]): string {
  return uuids.length === 1 ? (uuids[0] ?? '') : Buffer.from(uuids.join('|'), 'utf8').toString('base64');
}

/** The uuids a (possibly merged) report id stands for. */
export function splitReportId(id: string): string[] {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return [id];
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(id)) return [id];
  const parts = Buffer.from(id, 'base64').toString('utf8').split('|');
  return parts.every((p) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(p)) ? parts : [id];
}

function addCounts(a: SeverityCounts, b: SeverityCounts): SeverityCounts {
  return { total: a.total + b.total, fixable: a.fixable + b.fixable, Critical: a.Critical + b.Critical, High: a.High + b.High, Medium: a.Medium + b.Medium, Low: a.Low + b.Low, None: a.None + b.None, Unknown: a.Unknown + b.Unknown };
}

/** An index's `scan_overview` value merged from its children's reports (one per child). */
export function mergedOverview(children: readonly ReportState[]): Record<string, unknown> {
  const first = children[0];
  if (children.length === 1 && first) return reportOverview(first);
  const status = mergeStatus(children.map((c) => c.status));
  const out: Record<string, unknown> = { report_id: mergedReportId(children.map((c) => c.uuid)), scan_status: status };
  let severity: StoredSeverity | '' = '';
  let counts: SeverityCounts | null = null;
  for (const c of children) {
    if (c.status !== 'Success' || !c.counts) continue;
    const s = (c.severity || 'None') as StoredSeverity; // written by this module's writer from StoredSeverity
    if (severity === '' || severityCode[s] > severityCode[severity]) severity = s;
    counts = counts ? addCounts(counts, c.counts) : c.counts;
  }
  if (status === 'Success' && severity !== '') out.severity = severity;
  const starts = children.map((c) => c.startTime).filter((t): t is number => t !== null);
  const ends = children.map((c) => c.endTime).filter((t): t is number => t !== null);
  const start = starts.length ? Math.min(...starts) : null;
  const end = ends.length ? Math.max(...ends) : null;
  const duration = seconds(start, end);
  if (duration > 0) out.duration = duration;
  if (status === 'Success' && counts) out.summary = summaryOf(counts);
  out.start_time = iso(start);
  out.end_time = iso(end);
  const done = children.filter((c) => finalScanStatuses.includes(c.status)).length;
  out.complete_percent = children.length ? Math.floor((done * 100) / children.length) : 0;
  const scanner = children.find((c) => c.scanner)?.scanner;
  if (scanner) out.scanner = scanner;
  return out;
}

/** One SBOM report as the overview needs it. */
export interface SbomState {
  uuid: string;
  status: string;
  startTime: number | null;
  endTime: number | null;
  sbomDigest: string | null;
  sbomRepository: string | null;
  scanner: ScannerInfo | null;
}

/**
 * `sbom_overview`: on Success `{start_time,end_time,scan_status,sbom_digest,duration,scanner}`
 * (events add `sbom_repository`); while running or after a failure `{report_id, scan_status}`.
 */
export function sbomOverview(s: SbomState, forEvent = false): Record<string, unknown> {
  if (s.status !== 'Success') return { report_id: s.uuid, scan_status: s.status };
  const out: Record<string, unknown> = { start_time: iso(s.startTime), end_time: iso(s.endTime), scan_status: s.status, sbom_digest: s.sbomDigest ?? '' };
  if (forEvent) out.sbom_repository = s.sbomRepository ?? '';
  out.duration = seconds(s.startTime, s.endTime);
  if (s.scanner) out.scanner = s.scanner;
  return out;
}

/** One child's finished report and its items, for the vulnerabilities addition. */
export interface ReportWithItems {
  digest: string;
  generatedAt: string;
  scanner: ScannerInfo | null;
  severity: string;
  items: readonly IngestedItem[];
}

/**
 * The value under the MIME key of `additions/vulnerabilities`: `generated_at`, `scanner`,
 * `severity`, `vulnerabilities` (never null; an index's children merged by id-package-version).
 */
export function vulnerabilitiesAddition(reports: readonly ReportWithItems[]): Record<string, unknown> {
  const byKey = new Map<string, Record<string, unknown> & { artifact_digests: string[] }>();
  let severity: StoredSeverity = 'None';
  let generated = '';
  for (const r of reports) {
    if (r.generatedAt > generated) generated = r.generatedAt;
    const rs = (r.severity || 'None') as StoredSeverity; // written from StoredSeverity
    if (severityCode[rs] > severityCode[severity] || (rs === 'Unknown' && severity === 'None' && r.items.length > 0)) severity = rs;
    for (const it of r.items) {
      const key = `${it.id}-${it.package}-${it.version}`;
      const seen = byKey.get(key);
      if (seen) {
        if (!seen.artifact_digests.includes(r.digest)) seen.artifact_digests.push(r.digest);
        continue;
      }
      byKey.set(key, {
        id: it.id,
        package: it.package,
        version: it.version,
        fix_version: it.fix_version,
        severity: it.severity,
        status: it.status,
        description: it.description,
        links: it.links.length ? [...it.links] : [''],
        artifact_digests: [r.digest],
        preferred_cvss: it.preferred_cvss,
        cwe_ids: it.cwe_ids.length ? [...it.cwe_ids] : [''],
        vendor_attributes: it.vendor_attributes,
      });
    }
  }
  const scanner = reports.find((r) => r.scanner)?.scanner ?? null;
  return { generated_at: generated, scanner, severity, vulnerabilities: [...byKey.values()] };
}
