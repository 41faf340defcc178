/**
 * The built-in scanner's answers as data: its metadata document, which report type an `Accept`
 * header asks for, and the vulnerability and SBOM report bodies. Pure.
 */
import {
  CYCLONEDX_JSON,
  DB_UPDATED_AT_PROPERTY,
  REGISTRY_AUTH_TYPE_PROPERTY,
  SBOM_MEDIA_TYPES,
  SBOM_REPORT_MIME,
  SCANNER_TYPE_PROPERTY,
  SPDX_JSON,
  VULN_REPORT_MIME_1_1,
  VULN_REPORT_MIME_HARBOR,
  maxSeverity,
  normalizeMediaType,
  type SbomReport,
  type Scanner,
  type ScannerAdapterMetadata,
  type VulnerabilityItem,
  type VulnerabilityReport,
} from '../adapter/index.ts';
import type { Inventory } from '../analyzer/index.ts';
import { CONSUMED_MIME_TYPES } from './scan-request.ts';

/** The report types the built-in scanner produces, in its order of preference. */
export const PRODUCED_REPORT_MIMES: readonly string[] = [VULN_REPORT_MIME_1_1, VULN_REPORT_MIME_HARBOR, SBOM_REPORT_MIME];

/** Extra metadata properties (free-form, as the spec allows). */
export const ADVISORIES_PROPERTY = 'wharf.scanner/vulnerability-database-advisories';
export const DB_SOURCE_PROPERTY = 'wharf.scanner/vulnerability-database-source';

/** The scanner as reports and metadata name it. */
export function wharfScanner(version: string): Scanner {
  return { name: 'Wharf', vendor: 'Wharf', version };
}

/** The built-in scanner's metadata, with the vulnerability database's state in its properties. */
export function scannerMetadata(version: string, db: { updatedAt: string | null; advisories: number; source: string | null }): ScannerAdapterMetadata {
  const properties: Record<string, string> = {
    [SCANNER_TYPE_PROPERTY]: 'os-package-vulnerability',
    // Wharf's scan service hands the scanner a pull-only registry token; Basic also works (the token flow).
    [REGISTRY_AUTH_TYPE_PROPERTY]: 'Bearer',
    [ADVISORIES_PROPERTY]: String(db.advisories),
  };
  if (db.updatedAt !== null) properties[DB_UPDATED_AT_PROPERTY] = db.updatedAt;
  if (db.source !== null) properties[DB_SOURCE_PROPERTY] = db.source;
  return {
    scanner: wharfScanner(version),
    capabilities: [
      { type: 'vulnerability', consumes_mime_types: [...CONSUMED_MIME_TYPES], produces_mime_types: [VULN_REPORT_MIME_1_1, VULN_REPORT_MIME_HARBOR] },
      {
        type: 'sbom',
        consumes_mime_types: [...CONSUMED_MIME_TYPES],
        produces_mime_types: [SBOM_REPORT_MIME],
        additional_attributes: { sbom_media_types: [SPDX_JSON, CYCLONEDX_JSON] },
      },
    ],
    properties,
  };
}

/**
 * The report type an `Accept` header asks for: the first listed type the scanner produces
 * (parameters other than `q` must match), `*` / `*\/*` / no header meaning the v1.1 vulnerability
 * report. Null when it names only types the scanner does not produce. Linear in the header.
 */
export function chooseReportMime(accept: string | undefined): string | null {
  if (accept === undefined || accept.trim() === '') return VULN_REPORT_MIME_1_1;
  const produced = new Map(PRODUCED_REPORT_MIMES.map((m) => [normalizeMediaType(m), m]));
  for (const item of accept.split(',')) {
    const withoutQ = item
      .split(';')
      .filter((p, i) => i === 0 || !/^\s*q\s*=/i.test(p))
      .join(';');
    const n = normalizeMediaType(withoutQ);
    if (n === '*/*' || n === '*') return VULN_REPORT_MIME_1_1;
    const hit = produced.get(n);
    if (hit) return hit;
  }
  return null;
}

/** True for the two vulnerability report types. */
export function isVulnerabilityMime(mime: string): boolean {
  return mime === VULN_REPORT_MIME_1_1 || mime === VULN_REPORT_MIME_HARBOR;
}

/** True for an `sbom_media_type` the scanner writes. */
export function isSbomMediaType(v: string): boolean {
  return SBOM_MEDIA_TYPES.includes(v);
}

/** The artifact block of a report. */
export interface ReportArtifact {
  repository: string;
  digest: string;
  tag: string;
  mime_type: string;
}

/** A vulnerability report: the items as found, the overall severity the highest of theirs (`None` when there are none). */
export function vulnerabilityReport(scanner: Scanner, artifact: ReportArtifact, items: VulnerabilityItem[], generatedAt: string): VulnerabilityReport {
  return { generated_at: generatedAt, artifact: { ...artifact }, scanner, severity: maxSeverity(items), vulnerabilities: items };
}

/** An SBOM report around a document; `vendor_attributes` tells the detected OS and the package count. */
export function sbomReport(scanner: Scanner, artifact: ReportArtifact, inv: Inventory, mediaType: string, sbom: Record<string, unknown>, generatedAt: string): SbomReport {
  return {
    generated_at: generatedAt,
    artifact: { ...artifact },
    scanner,
    vendor_attributes: { os: inv.os, packages: inv.packages.length, layers: inv.layers },
    media_type: mediaType,
    sbom,
  };
}
