/**
 * Harbor's Pluggable Scanner API v1.1/v1.2 (../shared/reference/scanner-adapter-openapi-v1.2.yaml):
 * the media types and bodies both sides speak. Wharf's adapter client (Wharf -> any adapter) and
 * Wharf's built-in scanner (an adapter) share these types.
 */

export const METADATA_MIME = 'application/vnd.scanner.adapter.metadata+json; version=1.0';
export const METADATA_MIME_1_1 = 'application/vnd.scanner.adapter.metadata+json; version=1.1';
export const SCAN_REQUEST_MIME = 'application/vnd.scanner.adapter.scan.request+json; version=1.0';
/** v1.2 also names a 1.1 request type (the same schema). */
export const SCAN_REQUEST_MIME_1_1 = 'application/vnd.scanner.adapter.scan.request+json; version=1.1';
export const SCAN_RESPONSE_MIME = 'application/vnd.scanner.adapter.scan.response+json; version=1.0';
export const ERROR_MIME = 'application/vnd.scanner.adapter.error+json; version=1.0';
/** The two vulnerability report types (one schema). */
export const VULN_REPORT_MIME_1_1 = 'application/vnd.security.vulnerability.report; version=1.1';
export const VULN_REPORT_MIME_HARBOR = 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0';
export const SBOM_REPORT_MIME = 'application/vnd.security.sbom.report+json; version=1.0';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
/** `sbom_media_type` values (v1.2). */
export const SPDX_JSON = 'application/spdx+json';
export const CYCLONEDX_JSON = 'application/vnd.cyclonedx+json';
/** Metadata property naming the form of `registry.authorization` the adapter wants (`Basic` default, or `Bearer`). */
export const REGISTRY_AUTH_TYPE_PROPERTY = 'harbor.scanner-adapter/registry-authorization-type';
export const DB_UPDATED_AT_PROPERTY = 'harbor.scanner-adapter/vulnerability-database-updated-at';
export const SCANNER_TYPE_PROPERTY = 'harbor.scanner-adapter/scanner-type';
/** The header of a 302 "not ready yet" report answer: seconds until the next poll. */
export const REFRESH_AFTER_HEADER = 'refresh-after';
/**
 * Wharf's extension of report polling (RFC 7240's `Prefer: wait=N`): a client that sends it lets
 * the adapter hold a "not ready" answer up to N seconds and answer as soon as the report is
 * ready. Wharf's built-in scanner honours it (and says `Preference-Applied: wait=N`); other
 * adapters ignore the header and answer 302 at once, so polling works as before.
 */
export const PREFER_HEADER = 'prefer';
export const PREFERENCE_APPLIED_HEADER = 'preference-applied';
/** The longest hold the built-in scanner grants a `Prefer: wait`, seconds. */
export const MAX_REPORT_WAIT_SECONDS = 60;

/**
 * The seconds of a `wait` preference in Prefer header values (RFC 7240 §4.3; the first one wins),
 * or 0 when there is none or it is not a whole number. Linear in the header's length.
 */
export function preferredWaitSeconds(value: string | string[] | undefined): number {
  for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
    for (const pref of v.split(',')) {
      const m = /^\s*wait\s*=\s*("?)(\d{1,9})\1\s*(?:;.*)?$/i.exec(pref);
      if (m) return Number(m[2]);
    }
  }
  return 0;
}

/** The report types Harbor can store (its metadata validation wants every capability to produce one). */
export const KNOWN_REPORT_MIMES: readonly string[] = [VULN_REPORT_MIME_HARBOR, VULN_REPORT_MIME_1_1, SBOM_REPORT_MIME];
/** The vulnerability report types: one schema, two names. */
export const VULN_REPORT_MIMES: readonly string[] = [VULN_REPORT_MIME_1_1, VULN_REPORT_MIME_HARBOR];
/** The SBOM formats an SBOM report may carry (`sbom_media_type`). */
export const SBOM_MEDIA_TYPES: readonly string[] = [SPDX_JSON, CYCLONEDX_JSON];

export interface Scanner {
  name: string;
  vendor: string;
  version: string;
}

export interface ScannerCapability {
  /** `vulnerability` (also when absent) or `sbom`. */
  type?: 'vulnerability' | 'sbom';
  consumes_mime_types: string[];
  produces_mime_types: string[];
  additional_attributes?: Record<string, unknown>;
}

export interface ScannerAdapterMetadata {
  scanner: Scanner;
  capabilities: ScannerCapability[];
  properties?: Record<string, string>;
}

export interface ScanRequest {
  registry: { url: string; authorization: string; insecure?: boolean };
  artifact: { repository: string; digest: string; tag?: string; mime_type: string; size?: number };
  enabled_capabilities?: Array<{ type: 'vulnerability' | 'sbom'; produces_mime_types: string[]; parameters?: { sbom_media_types?: string[] } | null }>;
}

export interface ScanResponse {
  id: string;
}

/** Harbor's severity words. `None` is accepted from adapters; `Negligible` is stored as `None`. */
export type Severity = 'Unknown' | 'None' | 'Negligible' | 'Low' | 'Medium' | 'High' | 'Critical';

/** Harbor's order of severities: None and Unknown 0, Negligible 1, Low 2, Medium 3, High 4, Critical 5. */
export function severityCode(s: Severity): number {
  switch (s) {
    case 'None':
    case 'Unknown':
      return 0;
    case 'Negligible':
      return 1;
    case 'Low':
      return 2;
    case 'Medium':
      return 3;
    case 'High':
      return 4;
    case 'Critical':
      return 5;
  }
}

/** A report's overall severity: the highest of its items' (the first of equals), `None` when there are none. */
export function maxSeverity(items: ReadonlyArray<{ severity: Severity }>): Severity {
  let best: Severity = 'None';
  let code = -1;
  for (const i of items) {
    const c = severityCode(i.severity);
    if (c > code) {
      best = i.severity;
      code = c;
    }
  }
  return best;
}

/**
 * Two media types are the same when their type/subtype match case-insensitively and their
 * parameters match after trimming (`a;version=1.0` is `a; version=1.0`). Linear in the lengths.
 */
export function sameMediaType(a: string, b: string): boolean {
  return normalizeMediaType(a) === normalizeMediaType(b);
}

/** `type/subtype; k=v; …` with the type and parameter names lowercased and spaces dropped around `;` and `=`. */
export function normalizeMediaType(mt: string): string {
  const parts = mt.split(';').map((p) => p.trim());
  const head = (parts.shift() ?? '').toLowerCase();
  const params = parts.filter((p) => p !== '').map((p) => {
    const eq = p.indexOf('=');
    return eq < 0 ? p.toLowerCase() : `${p.slice(0, eq).trim().toLowerCase()}=${p.slice(eq + 1).trim()}`;
  });
  return [head, ...params].join('; ');
}

export interface CvssDetails {
  score_v3?: number | null;
  score_v2?: number | null;
  vector_v3?: string;
  vector_v2?: string;
}

export interface VulnerabilityItem {
  /** A CVE id where the advisory has one (Harbor's allowlists are CVE-centric). */
  id: string;
  package: string;
  version: string;
  /** "" when there is no fix. */
  fix_version: string;
  severity: Severity;
  description: string;
  links: string[];
  preferred_cvss?: CvssDetails;
  cwe_ids?: string[];
  /** Wharf's built-in scanner puts the original advisory id (`osv_id`), its aliases and the package's purl here. */
  vendor_attributes?: Record<string, unknown>;
  /** Optional: `fixed`, `affected`, ... */
  status?: string;
}

export interface VulnerabilityReport {
  generated_at: string;
  artifact?: { repository: string; digest: string; tag?: string; mime_type: string };
  scanner: Scanner;
  severity: Severity;
  vulnerabilities: VulnerabilityItem[];
}

export interface SbomReport {
  generated_at: string;
  artifact?: { repository: string; digest: string; tag?: string; mime_type: string };
  scanner: Scanner;
  vendor_attributes?: Record<string, unknown>;
  media_type: string;
  sbom: Record<string, unknown>;
}

export interface ErrorResponse {
  error: { message: string };
}
