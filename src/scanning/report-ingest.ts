/**
 * Harbor's normalisation of what an adapter returns (pure; the reference §1.4, §1.9, §2.4):
 * a vulnerability report becomes counts per severity, the fixable count, the overall severity
 * and normalised items (`Negligible` stored as `None`, unknown words as `Unknown`, a missing
 * `preferred_cvss.score_v3` taken from `vendor_attributes.CVSS.nvd.V3Score`, else any vendor's);
 * an SBOM report becomes its document and scanner. A body that is not such a report throws an
 * Error whose message goes into the task log and the failed report.
 */
import { isJsonObject } from '../domain/index.ts';

/** The severities Wharf stores (Harbor's, with Negligible folded into None). */
export type StoredSeverity = 'Unknown' | 'None' | 'Low' | 'Medium' | 'High' | 'Critical';

/** Severity order by Harbor's codes: None/Unknown 0, (Negligible 1), Low 2, Medium 3, High 4, Critical 5. */
export const severityCode: Readonly<Record<StoredSeverity, number>> = Object.freeze({ Unknown: 0, None: 0, Low: 2, Medium: 3, High: 4, Critical: 5 });

/** The scanner that produced a report. */
export interface ScannerInfo {
  name: string;
  vendor: string;
  version: string;
}

/** One stored vulnerability. */
export interface IngestedItem {
  id: string;
  package: string;
  version: string;
  fix_version: string;
  severity: StoredSeverity;
  status: string;
  description: string;
  links: string[];
  cwe_ids: string[];
  preferred_cvss: { score_v3: number | null; score_v2: number | null; vector_v3: string; vector_v2: string };
  vendor_attributes: Record<string, unknown>;
}

/** Per-severity counts of a report. */
export interface SeverityCounts {
  total: number;
  fixable: number;
  Critical: number;
  High: number;
  Medium: number;
  Low: number;
  None: number;
  Unknown: number;
}

/** A vulnerability report ready to store. */
export interface IngestedReport {
  generatedAt: string;
  scanner: ScannerInfo;
  /** The highest item severity; `None` when there are no items. */
  severity: StoredSeverity;
  counts: SeverityCounts;
  items: IngestedItem[];
}

/** An SBOM report ready to push. */
export interface IngestedSbom {
  generatedAt: string;
  scanner: ScannerInfo;
  mediaType: string;
  sbom: Record<string, unknown>;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Harbor's severity words on ingest: Negligible -> None, unknown words -> Unknown (case-insensitive). */
export function normalizeSeverity(v: unknown): StoredSeverity {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : '';
  switch (s) {
    case 'critical':
      return 'Critical';
    case 'high':
      return 'High';
    case 'medium':
      return 'Medium';
    case 'low':
      return 'Low';
    case 'none':
    case 'negligible':
      return 'None';
    default:
      return 'Unknown';
  }
}

/** The higher of two severities by Harbor's codes (ties keep `a`, so None wins over Unknown only when first). */
export function maxSeverity(a: StoredSeverity, b: StoredSeverity): StoredSeverity {
  return severityCode[b] > severityCode[a] ? b : a;
}

function scannerOf(v: unknown): ScannerInfo {
  if (!isJsonObject(v)) throw new Error('the report has no scanner object');
  return { name: str(v.name), vendor: str(v.vendor), version: str(v.version) };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
}

/** A missing score_v3 from vendor_attributes.CVSS: nvd first, then any vendor's V3Score. */
export function fallbackScoreV3(vendorAttributes: Record<string, unknown>): number | null {
  const cvss = vendorAttributes.CVSS;
  if (!isJsonObject(cvss)) return null;
  const nvd = cvss.nvd;
  if (isJsonObject(nvd) && num(nvd.V3Score) !== null) return num(nvd.V3Score);
  for (const vendor of Object.keys(cvss).sort()) {
    const v = cvss[vendor];
    if (isJsonObject(v) && num(v.V3Score) !== null) return num(v.V3Score);
  }
  return null;
}

function item(v: unknown, i: number): IngestedItem {
  if (!isJsonObject(v)) throw new Error(`vulnerabilities[${i}] is not an object`);
  const id = str(v.id);
  if (id === '') throw new Error(`vulnerabilities[${i}] has no id`);
  const vendor = isJsonObject(v.vendor_attributes) ? v.vendor_attributes : {};
  const pc = isJsonObject(v.preferred_cvss) ? v.preferred_cvss : {};
  return {
    id,
    package: str(v.package),
    version: str(v.version),
    fix_version: str(v.fix_version),
    severity: normalizeSeverity(v.severity),
    status: str(v.status),
    description: str(v.description),
    links: strings(v.links),
    cwe_ids: strings(v.cwe_ids),
    preferred_cvss: { score_v3: num(pc.score_v3) ?? fallbackScoreV3(vendor), score_v2: num(pc.score_v2), vector_v3: str(pc.vector_v3), vector_v2: str(pc.vector_v2) },
    vendor_attributes: vendor,
  };
}

/** Counts per severity, the total and the fixable count (items with a fix_version). */
export function countItems(items: readonly IngestedItem[]): SeverityCounts {
  const c: SeverityCounts = { total: 0, fixable: 0, Critical: 0, High: 0, Medium: 0, Low: 0, None: 0, Unknown: 0 };
  for (const it of items) {
    c.total++;
    c[it.severity]++;
    if (it.fix_version !== '') c.fixable++;
  }
  return c;
}

/** Parses and normalises a vulnerability report (either vulnerability MIME type: one schema). */
export function ingestVulnerabilityReport(body: unknown): IngestedReport {
  if (!isJsonObject(body)) throw new Error('the vulnerability report is not a JSON object');
  const list = body.vulnerabilities ?? [];
  if (!Array.isArray(list)) throw new Error('the vulnerability report has no vulnerabilities array');
  const items = list.map(item);
  let severity: StoredSeverity = 'None';
  for (const it of items) severity = maxSeverity(severity, it.severity);
  // A report with items whose highest is Unknown is Unknown (None only when clean).
  if (items.length > 0 && severityCode[severity] === 0) severity = items.some((it) => it.severity === 'Unknown') ? 'Unknown' : 'None';
  return { generatedAt: str(body.generated_at), scanner: scannerOf(body.scanner), severity, counts: countItems(items), items };
}

/** Parses an SBOM report (v1.2): the `sbom` document must be an object. */
export function ingestSbomReport(body: unknown): IngestedSbom {
  if (!isJsonObject(body)) throw new Error('the SBOM report is not a JSON object');
  if (!isJsonObject(body.sbom)) throw new Error('the SBOM report has no sbom object');
  return { generatedAt: str(body.generated_at), scanner: scannerOf(body.scanner), mediaType: str(body.media_type), sbom: body.sbom };
}
