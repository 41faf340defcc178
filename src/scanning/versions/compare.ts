/**
 * One entry point over the version schemes, with a total order for any input. Strings a scheme
 * cannot parse (see {@link isValidVersion}; anything over 256 characters included) sort before
 * every valid version and among themselves by UTF-16 code units. So a comparison never throws,
 * and sorting a mixed list is stable and deterministic.
 */
import { apk } from './apk.ts';
import { dpkg } from './dpkg.ts';
import { maven } from './maven.ts';
import { compareStrings, type VersionOrder } from './order.ts';
import { pep440 } from './pep440.ts';
import { rpm } from './rpm.ts';
import { go, semver } from './semver-order.ts';

export type VersionScheme = 'dpkg' | 'apk' | 'rpm' | 'semver' | 'pep440' | 'go' | 'maven';

const ORDERS: Readonly<Record<VersionScheme, VersionOrder>> = { dpkg, apk, rpm, semver, pep440, go, maven };

/** Whether `v` is a version of `scheme` (each scheme's module documents its rule). */
export function isValidVersion(scheme: VersionScheme, v: string): boolean {
  return ORDERS[scheme].valid(v);
}

/** Negative when a < b, 0 when they are the same version, positive when a > b. */
export function compareVersions(scheme: VersionScheme, a: string, b: string): number {
  const order = ORDERS[scheme];
  const validA = order.valid(a);
  const validB = order.valid(b);
  if (validA && validB) return order.compare(a, b);
  if (validA !== validB) return validA ? 1 : -1;
  return compareStrings(a, b);
}
