/**
 * apk: the installed database `lib/apk/db/installed` (or `usr/lib/apk/db/installed`), blank-line
 * separated paragraphs of `X:value` lines. P name, V version, A arch, o origin (the source
 * package advisories are keyed by), L license.
 */
import type { FileAnalyzer, InstalledPackage } from './types.ts';
import { readText } from './read-body.ts';
import { dedupePackages, osPurl } from './os-purl.ts';

export interface ApkPackage {
  name: string;
  version: string;
  origin: string;
  arch?: string;
  license?: string;
}

const PATHS = ['lib/apk/db/installed', 'usr/lib/apk/db/installed'];

/** The packages of an apk installed database. */
export function parseApkInstalled(text: string): ApkPackage[] {
  const out: ApkPackage[] = [];
  let fields = new Map<string, string>();
  const flush = (): void => {
    const name = fields.get('P');
    const version = fields.get('V');
    if (name && version) {
      const pkg: ApkPackage = { name, version, origin: fields.get('o') || name };
      const arch = fields.get('A');
      if (arch) pkg.arch = arch;
      const license = fields.get('L');
      if (license) pkg.license = license;
      out.push(pkg);
    }
    fields = new Map();
  };
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      flush();
      continue;
    }
    // One-letter keys: `P:musl`. Only the first of each key in a paragraph counts (F/R repeat).
    if (line[1] !== ':') continue;
    const key = line[0] ?? '';
    if (!fields.has(key)) fields.set(key, line.slice(2));
  }
  flush();
  return out;
}

export const apkAnalyzer: FileAnalyzer<ApkPackage[]> = {
  name: 'apk',
  paths: PATHS,
  wants(entry) {
    return PATHS.includes(entry.path);
  },
  async read(_entry, body) {
    const packages = parseApkInstalled(await readText(body));
    return packages.length > 0 ? packages : null;
  },
  collect(results, os) {
    const withPath = [...results].map(([path, list]) => list.map((pkg) => ({ ...pkg, path })));
    return dedupePackages(withPath).map((pkg): InstalledPackage => {
      const out: InstalledPackage = {
        type: 'apk',
        name: pkg.name,
        version: pkg.version,
        srcName: pkg.origin,
        srcVersion: pkg.version,
        licenses: pkg.license ? [pkg.license] : [],
        path: pkg.path,
        purl: osPurl({ type: 'apk', name: pkg.name, version: pkg.version, arch: pkg.arch }, os),
      };
      if (pkg.arch) out.arch = pkg.arch;
      return out;
    });
  },
};
