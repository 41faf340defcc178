/**
 * dpkg: `var/lib/dpkg/status` and the one-file-per-package `var/lib/dpkg/status.d/` of distroless
 * images (`*.md5sums` there are file lists, not packages). RFC 822 paragraphs; a paragraph whose
 * Status says deinstall or purge, or not-installed or config-files, is not installed.
 * Advisories are keyed by the source package (`Source: name` or `Source: name (version)`).
 */
import type { FileAnalyzer, InstalledPackage } from './types.ts';
import { readText } from './read-body.ts';
import { dedupePackages, osPurl } from './os-purl.ts';

export interface DpkgPackage {
  name: string;
  version: string;
  srcName: string;
  srcVersion: string;
  arch?: string;
}

const STATUS = 'var/lib/dpkg/status';
const STATUS_D = 'var/lib/dpkg/status.d/';

/** Splits an RFC 822 control file into paragraphs of fields (continuation lines folded away). */
export function parseControl(text: string): Array<Record<string, string>> {
  const paragraphs: Array<Record<string, string>> = [];
  let current: Record<string, string> = {};
  let fields = 0;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      if (fields > 0) paragraphs.push(current);
      current = {};
      fields = 0;
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t') || line.startsWith('#')) continue; // continuation or comment
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current[line.slice(0, colon)] = line.slice(colon + 1).trim();
    fields++;
  }
  if (fields > 0) paragraphs.push(current);
  return paragraphs;
}

/** Whether a `Status:` value (`want flag state`) describes an installed package. */
export function isInstalled(status: string | undefined): boolean {
  if (status === undefined) return true; // status.d paragraphs have no Status
  const words = status.split(/\s+/);
  if (words.includes('deinstall') || words.includes('purge')) return false;
  const state = words[2];
  return state !== 'not-installed' && state !== 'config-files';
}

/** The installed packages of a dpkg status file. */
export function parseDpkgStatus(text: string): DpkgPackage[] {
  const out: DpkgPackage[] = [];
  for (const p of parseControl(text)) {
    const name = p.Package;
    const version = p.Version;
    if (!name || !version || !isInstalled(p.Status)) continue;
    let srcName = name;
    let srcVersion = version;
    const source = p.Source;
    if (source) {
      const match = /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(source);
      if (match?.[1]) {
        srcName = match[1];
        if (match[2]) srcVersion = match[2].trim();
      }
    }
    const pkg: DpkgPackage = { name, version, srcName, srcVersion };
    if (p.Architecture) pkg.arch = p.Architecture;
    out.push(pkg);
  }
  return out;
}

export const dpkgAnalyzer: FileAnalyzer<DpkgPackage[]> = {
  name: 'dpkg',
  paths: [STATUS],
  wants(entry) {
    if (entry.path === STATUS) return true;
    return entry.path.startsWith(STATUS_D) && !entry.path.endsWith('.md5sums') && !entry.path.slice(STATUS_D.length).includes('/');
  },
  async read(_entry, body) {
    const packages = parseDpkgStatus(await readText(body));
    return packages.length > 0 ? packages : null;
  },
  collect(results, os) {
    const withPath = [...results].map(([path, list]) => list.map((pkg) => ({ ...pkg, path })));
    return dedupePackages(withPath).map((pkg): InstalledPackage => {
      const out: InstalledPackage = {
        type: 'deb',
        name: pkg.name,
        version: pkg.version,
        srcName: pkg.srcName,
        srcVersion: pkg.srcVersion,
        licenses: [],
        path: pkg.path,
        purl: osPurl({ type: 'deb', name: pkg.name, version: pkg.version, arch: pkg.arch }, os),
      };
      if (pkg.arch) out.arch = pkg.arch;
      return out;
    });
  },
};
