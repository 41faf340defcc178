/**
 * Findings from stored advisories: whether an affected entry covers an installed version, the
 * report items it gives, and the final list (one item per CVE, package and version, in a fixed
 * order). Pure; the database lookups are in vulndb.ts.
 */
import type { InstalledPackage } from '../analyzer/types.ts';
import type { Severity, VulnerabilityItem } from '../adapter/protocol.ts';
import { affects, fixedVersionFor, type VersionScheme } from '../versions/index.ts';
import type { OsvKey } from './ecosystems.ts';
import type { CompactAdvisory, CompactAffected } from './osv.ts';
import { findingSeverity } from './severity.ts';

/** Characters of `details` a description keeps when the advisory has no summary. */
export const maxDescription = 500;

const cvePattern = /^CVE-\d{4}-\d{4,}$/;

/**
 * Whether `entry` covers `version` (listed in `versions[]`, or inside one of its SEMVER/ECOSYSTEM
 * ranges), and the fix to report: the smallest `fixed` above the version among the ranges that
 * cover it ('' when none names one). null when not affected.
 */
export function coverage(scheme: VersionScheme | null, version: string, entry: CompactAffected): { fix: string } | null {
  // versions[] lists the versions as the registry or distribution writes them: compared as strings.
  const listed = entry.versions.includes(version);
  const ranged = scheme !== null && entry.ranges.some((r) => affects(scheme, version, r));
  if (!listed && !ranged) return null;
  return { fix: scheme !== null ? fixedVersionFor(scheme, version, entry.ranges) : '' };
}

/** The CVE ids an advisory stands for: its own id when it is one, its aliases' and upstream's; none for a non-CVE advisory. */
export function cveIds(advisory: CompactAdvisory): string[] {
  const out: string[] = [];
  for (const id of [advisory.id, ...advisory.aliases, ...advisory.upstream]) if (cvePattern.test(id) && !out.includes(id)) out.push(id);
  return out;
}

/** A finding before de-duplication: the item and how specific its advisory is (fewer CVEs: more specific). */
export interface Finding {
  item: VulnerabilityItem;
  cves: number;
  osvId: string;
}

/**
 * The findings of one covered (package, advisory, entry): one per CVE the advisory names (a
 * DSA/USN/DLA fixing several CVEs gives one each), or one under the advisory's own id.
 */
export function findingsFor(pkg: InstalledPackage, key: OsvKey, advisory: CompactAdvisory, entry: CompactAffected, fix: string): Finding[] {
  const cves = cveIds(advisory);
  const { severity, preferred_cvss } = findingSeverity(advisory, entry);
  const description = advisory.summary !== '' ? advisory.summary : advisory.details.slice(0, maxDescription);
  const aliases = [...new Set([...advisory.aliases, ...advisory.upstream])];
  return (cves.length ? cves : [advisory.id]).map((id) => ({
    cves: cves.length,
    osvId: advisory.id,
    item: {
      id,
      package: pkg.name,
      version: pkg.version,
      fix_version: fix,
      severity,
      description,
      links: [...advisory.links],
      preferred_cvss: { ...preferred_cvss },
      cwe_ids: [...advisory.cwe_ids],
      vendor_attributes: { osv_id: advisory.id, aliases, purl: pkg.purl, ecosystem: key.ecosystem },
    },
  }));
}

const severityRank: Readonly<Record<Severity, number>> = { Critical: 6, High: 5, Medium: 4, Low: 3, Negligible: 2, Unknown: 1, None: 0 };

/**
 * One item per (id, package, version): the finding of the most specific advisory wins (one CVE
 * over several, then the smaller OSV id). Sorted by severity (highest first), id, package, version.
 */
export function finalize(findings: readonly Finding[]): VulnerabilityItem[] {
  const best = new Map<string, Finding>();
  for (const f of findings) {
    const k = `${f.item.id}\u0000${f.item.package}\u0000${f.item.version}`;
    const cur = best.get(k);
    if (!cur || f.cves < cur.cves || (f.cves === cur.cves && f.osvId < cur.osvId)) best.set(k, f);
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...best.values()]
    .map((f) => f.item)
    .sort((a, b) => severityRank[b.severity] - severityRank[a.severity] || cmp(a.id, b.id) || cmp(a.package, b.package) || cmp(a.version, b.version));
}
