/**
 * Package URLs for OS packages, as Trivy writes them: the namespace is the distribution,
 * `distro` is `<family>-<version>` for deb and rpm and the bare version for apk, and a non-zero
 * epoch is a qualifier rather than part of the version.
 */
import { PackageURL } from 'packageurl-js';
import type { OsInfo } from './types.ts';

/** Trivy's names for the RPM families, used as the purl namespace and in `distro`. */
const RPM_NAMESPACES: Record<string, string> = {
  rhel: 'redhat',
  almalinux: 'alma',
  ol: 'oracle',
  amzn: 'amazon',
  mariner: 'cbl-mariner',
  'opensuse-leap': 'opensuse.leap',
  'opensuse-tumbleweed': 'opensuse.tumbleweed',
};

const APK_FAMILIES = new Set(['alpine', 'wolfi', 'chainguard']);

/** Splits `[epoch:]rest` (deb and rpm full versions). */
export function splitEpoch(version: string): { epoch: string; version: string } {
  const colon = version.indexOf(':');
  if (colon > 0 && /^\d+$/.test(version.slice(0, colon))) return { epoch: version.slice(0, colon), version: version.slice(colon + 1) };
  return { epoch: '', version };
}

export interface OsPurlInput {
  type: 'deb' | 'apk' | 'rpm';
  name: string;
  /** The full version, `[epoch:]...` for deb and rpm. */
  version: string;
  arch?: string;
}

/** The purl of an OS package installed on `os` (null: no distro qualifier, the type's usual namespace). */
export function osPurl(pkg: OsPurlInput, os: OsInfo | null): string {
  const { epoch, version } = pkg.type === 'apk' ? { epoch: '', version: pkg.version } : splitEpoch(pkg.version);
  let namespace: string;
  let distro: string | undefined;
  if (pkg.type === 'deb') {
    namespace = os?.family === 'ubuntu' ? 'ubuntu' : 'debian';
    if (os) distro = `${namespace}-${os.version}`;
  } else if (pkg.type === 'apk') {
    namespace = os && APK_FAMILIES.has(os.family) ? os.family : 'alpine';
    if (os) distro = os.version;
  } else {
    namespace = os ? (RPM_NAMESPACES[os.family] ?? os.family) : 'redhat';
    if (os) distro = `${namespace}-${os.version}`;
  }
  const qualifiers: Record<string, string> = {};
  if (pkg.arch) qualifiers.arch = pkg.arch;
  if (distro) qualifiers.distro = distro;
  if (epoch !== '' && epoch !== '0') qualifiers.epoch = epoch;
  return new PackageURL(pkg.type, namespace, pkg.name, version, qualifiers, undefined).toString();
}

/** Merges per-file package lists, keeping the first of each (name, version, arch). */
export function dedupePackages<T extends { name: string; version: string; arch?: string }>(lists: Iterable<T[]>): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const list of lists) {
    for (const pkg of list) {
      const key = `${pkg.name}\u0000${pkg.version}\u0000${pkg.arch ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(pkg);
    }
  }
  return out;
}
