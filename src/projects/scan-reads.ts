/**
 * The projects module's scan port: what artifact reads show about scans (Harbor's `scan_overview`,
 * `sbom_overview` and the vulnerabilities addition). Projects declares it; scanning implements it
 * from its stored reports (never by calling an adapter while listing); main.ts wires them
 * (ProjectDeps.scanReads). Absent, artifacts show no overviews and the addition is `{}`.
 */

/** An artifact as scans see it: its digest, an index's child digests, and its project. */
export interface ScanTarget {
  digest: string;
  /** For an image index: the digests of its child manifests (their reports make the index's overview); else empty. */
  children: string[];
  projectId: number;
}

/** What artifact reads ask about scans. */
export interface ScanReads {
  /** `scan_overview` per artifact digest, keyed by report media type; digests never scanned are absent. `accept` is X-Accept-Vulnerabilities in order. */
  scanOverviews(targets: ScanTarget[], accept: readonly string[]): Promise<Map<string, Record<string, unknown>>>;
  /** `sbom_overview` per artifact digest; digests without an SBOM run are absent. */
  sbomOverviews(targets: ScanTarget[]): Promise<Map<string, Record<string, unknown>>>;
  /** The vulnerabilities addition: `{}` without a finished report, else one media type key with the report. */
  vulnerabilities(target: ScanTarget, accept: readonly string[]): Promise<Record<string, unknown>>;
}

/** Harbor's two vulnerability report types, the default X-Accept-Vulnerabilities order (1.1 first). */
export const defaultAcceptVulnerabilities: readonly string[] = [
  'application/vnd.security.vulnerability.report; version=1.1',
  'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0',
];

/**
 * Parses X-Accept-Vulnerabilities: a comma-separated list of media types, first preferred. Only the
 * two vulnerability report types count; none recognised means the 1.0 type only; absent means 1.1, then 1.0.
 */
export function parseAcceptVulnerabilities(header: string | undefined): string[] {
  if (header === undefined || header.trim() === '') return [...defaultAcceptVulnerabilities];
  const known = new Set(defaultAcceptVulnerabilities);
  const out: string[] = [];
  for (const part of header.slice(0, 4096).split(',')) {
    const t = part.trim().replace(/\s*;\s*/g, '; ');
    if (known.has(t) && !out.includes(t)) out.push(t);
  }
  return out.length ? out : ['application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0'];
}
