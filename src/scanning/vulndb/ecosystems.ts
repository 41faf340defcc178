/**
 * Where an installed package is looked up in OSV: its (ecosystem, name, version). Distribution
 * packages go to their release's ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.20`,
 * `Rocky Linux:9`, `AlmaLinux:9`) under their source package, never to the unscoped `Debian` or
 * `Ubuntu` ecosystems (whose records would match every release: mass false positives). Pure.
 */
import type { InstalledPackage, OsInfo } from '../analyzer/types.ts';
import { normalizePypiName } from './osv.ts';

/** An OSV lookup key of one installed package. */
export interface OsvKey {
  ecosystem: string;
  name: string;
  /** The version compared with the advisory's ranges (the source version for distro packages). */
  version: string;
}

/** `22.04` → `Ubuntu:22.04:LTS` (an even year's April release is LTS), `23.10` → `Ubuntu:23.10`. */
export function ubuntuEcosystem(version: string): string | null {
  const m = /^(\d{2})\.(\d{2})/.exec(version);
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  const lts = m[2] === '04' && Number(m[1]) % 2 === 0;
  return `Ubuntu:${m[1]}.${m[2]}${lts ? ':LTS' : ''}`;
}

/** The OSV ecosystem of an operating system's packages, or null when Wharf has none for it. */
export function osEcosystem(os: OsInfo | null): string | null {
  if (!os) return null;
  const major = /^(\d+)/.exec(os.version)?.[1];
  switch (os.family) {
    case 'debian':
      return major ? `Debian:${major}` : null;
    case 'ubuntu':
      return ubuntuEcosystem(os.version);
    case 'alpine': {
      const mm = /^(\d+)\.(\d+)/.exec(os.version);
      return mm ? `Alpine:v${mm[1]}.${mm[2]}` : null;
    }
    case 'rocky':
      return major ? `Rocky Linux:${major}` : null;
    case 'almalinux':
      return major ? `AlmaLinux:${major}` : null;
    default:
      return null;
  }
}

/** The package manager each distro family writes its packages with. */
const osPackageType: Readonly<Record<string, InstalledPackage['type']>> = { debian: 'deb', ubuntu: 'deb', alpine: 'apk', rocky: 'rpm', almalinux: 'rpm' };

/**
 * The OSV key of a package, or null when it has none (an OS package of an unknown or undetected
 * OS, a package type of another distribution).
 */
export function osvKeyOf(pkg: InstalledPackage, os: OsInfo | null, osEco: string | null = osEcosystem(os)): OsvKey | null {
  switch (pkg.type) {
    case 'deb':
    case 'apk':
    case 'rpm':
      if (osEco === null || !os || osPackageType[os.family] !== pkg.type) return null;
      return { ecosystem: osEco, name: pkg.srcName || pkg.name, version: pkg.srcVersion || pkg.version };
    case 'npm':
      return { ecosystem: 'npm', name: pkg.name, version: pkg.version };
    case 'pypi':
      return { ecosystem: 'PyPI', name: normalizePypiName(pkg.name), version: pkg.version };
    case 'golang':
      // OSV's Go versions carry no `v` (modules) and no `go` (the toolchain, `stdlib`).
      return { ecosystem: 'Go', name: pkg.name, version: pkg.version.replace(/^(v|go)(?=\d)/, '') };
    case 'maven':
      return { ecosystem: 'Maven', name: pkg.name, version: pkg.version };
  }
}
