/**
 * Test helpers for the version tables: a list that must be strictly increasing under a scheme,
 * and groups of spellings that must compare equal. Each checks both directions of every pair.
 */
import assert from 'node:assert/strict';
import { compareVersions, isValidVersion, type VersionScheme } from './compare.ts';

function signOf(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Every version valid, and every earlier one strictly below every later one. */
export function assertIncreasing(scheme: VersionScheme, versions: readonly string[]): void {
  for (const v of versions) assert.equal(isValidVersion(scheme, v), true, `${scheme}: ${v} should be valid`);
  for (let i = 0; i < versions.length; i++) {
    for (let j = i + 1; j < versions.length; j++) {
      const a = versions[i] ?? '';
      const b = versions[j] ?? '';
      assert.equal(signOf(compareVersions(scheme, a, b)), -1, `${scheme}: expected ${a} < ${b}`);
      assert.equal(signOf(compareVersions(scheme, b, a)), 1, `${scheme}: expected ${b} > ${a}`);
    }
  }
}

/** Every version in a group is valid and the same version as every other in it. */
export function assertSame(scheme: VersionScheme, group: readonly string[]): void {
  for (const a of group) {
    assert.equal(isValidVersion(scheme, a), true, `${scheme}: ${a} should be valid`);
    for (const b of group) assert.equal(compareVersions(scheme, a, b), 0, `${scheme}: expected ${a} = ${b}`);
  }
}

/** Each version is invalid in the scheme. */
export function assertInvalid(scheme: VersionScheme, versions: readonly string[]): void {
  for (const v of versions) assert.equal(isValidVersion(scheme, v), false, `${scheme}: ${JSON.stringify(v)} should be invalid`);
}
