/**
 * Which version order an OSV ecosystem uses. OSV writes distributions as `Name[:release...]`
 * (`Debian:12`, `Ubuntu:Pro:18.04:LTS`, `Alpine:v3.20`, `Red Hat:enterprise_linux:9::appstream`),
 * so the name before the first `:` decides.
 *
 * npm, crates.io and NuGet are SemVer (NuGet's fourth component is handled); Packagist is
 * Composer's own order, which SemVer approximates for the usual `1.2.3[-beta.1]` versions. The
 * unscoped `Debian` ecosystem maps to dpkg too: whether records from it should be matched at all
 * is the caller's decision (they cause mass false positives for distribution packages).
 */
import type { VersionScheme } from './compare.ts';

const BY_NAME: ReadonlyMap<string, VersionScheme> = new Map<string, VersionScheme>([
  ['Debian', 'dpkg'],
  ['Ubuntu', 'dpkg'],
  ['Alpine', 'apk'],
  ['Wolfi', 'apk'],
  ['Chainguard', 'apk'],
  ['Alpaquita', 'apk'],
  ['BellSoft Hardened Containers', 'apk'],
  ['Rocky Linux', 'rpm'],
  ['AlmaLinux', 'rpm'],
  ['Red Hat', 'rpm'],
  ['Photon OS', 'rpm'],
  ['Mageia', 'rpm'],
  ['openEuler', 'rpm'],
  ['npm', 'semver'],
  ['crates.io', 'semver'],
  ['NuGet', 'semver'],
  ['Packagist', 'semver'],
  ['PyPI', 'pep440'],
  ['Go', 'go'],
  ['Maven', 'maven'],
]);

/** The version scheme for an OSV `affected[].package.ecosystem` string, or null when Wharf has none. */
export function schemeForEcosystem(osvEcosystem: string): VersionScheme | null {
  const colon = osvEcosystem.indexOf(':');
  const name = colon >= 0 ? osvEcosystem.slice(0, colon) : osvEcosystem;
  const scheme = BY_NAME.get(name);
  if (scheme !== undefined) return scheme;
  // SUSE writes `SUSE:Linux Enterprise Server 15 SP5` and `openSUSE:Leap 15.5`, older data
  // `openSUSE Leap`; all are rpm.
  if (name.startsWith('SUSE') || name.startsWith('openSUSE')) return 'rpm';
  return null;
}
