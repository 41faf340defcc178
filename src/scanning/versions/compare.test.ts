import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, isValidVersion, schemeForEcosystem, type VersionScheme } from './index.ts';

const schemes: VersionScheme[] = ['dpkg', 'apk', 'rpm', 'semver', 'pep440', 'go', 'maven'];

test('OSV ecosystems map to their version schemes', () => {
  const table: [string, VersionScheme | null][] = [
    ['Debian:12', 'dpkg'],
    ['Debian', 'dpkg'],
    ['Ubuntu:22.04:LTS', 'dpkg'],
    ['Ubuntu:23.10', 'dpkg'],
    ['Ubuntu:Pro:18.04:LTS', 'dpkg'],
    ['Alpine:v3.20', 'apk'],
    ['Wolfi', 'apk'],
    ['Chainguard', 'apk'],
    ['Rocky Linux:9', 'rpm'],
    ['AlmaLinux:9', 'rpm'],
    ['Red Hat:enterprise_linux:9::appstream', 'rpm'],
    ['openSUSE:Tumbleweed', 'rpm'],
    ['SUSE:Linux Enterprise Server 15 SP5', 'rpm'],
    ['Photon OS:5.0', 'rpm'],
    ['Mageia:9', 'rpm'],
    ['npm', 'semver'],
    ['crates.io', 'semver'],
    ['NuGet', 'semver'],
    ['Packagist', 'semver'],
    ['PyPI', 'pep440'],
    ['Go', 'go'],
    ['Maven', 'maven'],
    ['RubyGems', null],
    ['GIT', null],
    ['', null],
    ['debian:12', null], // OSV spells ecosystems exactly
  ];
  for (const [ecosystem, want] of table) assert.equal(schemeForEcosystem(ecosystem), want, ecosystem);
});

test('every scheme: invalid versions sort first, by code units among themselves; never throws', () => {
  const odd = ['', ' ', '\u0000', '💥', 'x'.repeat(300), '~~~', '::', '--', '..', '-', '+', '^', 'v', 'latest'];
  for (const scheme of schemes) {
    const validOne = scheme === 'go' ? 'v1.0.0' : '1.0';
    assert.equal(isValidVersion(scheme, validOne), true, scheme);
    for (const a of odd) {
      if (isValidVersion(scheme, a)) continue;
      assert.equal(compareVersions(scheme, a, validOne), -1, `${scheme}: ${JSON.stringify(a)}`);
      assert.equal(compareVersions(scheme, validOne, a), 1, `${scheme}: ${JSON.stringify(a)}`);
      for (const b of odd) {
        if (isValidVersion(scheme, b)) continue;
        assert.equal(compareVersions(scheme, a, b), a < b ? -1 : a > b ? 1 : 0, `${scheme}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      }
    }
  }
});

test('every scheme: versions over 256 characters are invalid', () => {
  for (const scheme of schemes) {
    const long = `1.${'1'.repeat(300)}`;
    assert.equal(isValidVersion(scheme, long), false, scheme);
    assert.equal(isValidVersion(scheme, long.slice(0, 200)), true, scheme);
  }
});

test('every scheme: sorting a shuffled list gives the same order as sorting it in order', () => {
  const samples: Record<VersionScheme, string[]> = {
    dpkg: ['1:0.1', '1.0~rc1', '1.0', '1.0-1', '1.0-1+b1', '1.0+b1', '1.0.1', 'garbage!', '2.0~beta'],
    apk: ['1.0_alpha', '1.0', '1.0-r1', '1.0_p1', '1.0.1', 'BAD', '1.01', '1.1'],
    rpm: ['1.0~rc1', '1.0', '1.0^git1', '1.0.1', '1:0.1', 'a b', '1.0-1.el9'],
    semver: ['1.0.0-alpha', '1.0.0', '1.0.0.1', '1.0.1', 'nope', '2.0.0-rc.1'],
    pep440: ['1.0.dev1', '1.0a1', '1.0', '1.0.post1', '1!0.1', 'nope?'],
    go: ['v0.0.0-20240101000000-abcdef123456', 'v1.0.0', 'v1.0.1-pre', 'v1.0.1', 'go1.22rc1', 'nope'],
    maven: ['1.0-alpha-1', '1.0-SNAPSHOT', '1.0', '1.0-sp1', '1.0.1', 'a b'],
  };
  for (const scheme of schemes) {
    const list = samples[scheme];
    const sorted = [...list].sort((a, b) => compareVersions(scheme, a, b));
    const reversed = [...list].reverse().sort((a, b) => compareVersions(scheme, a, b));
    assert.deepEqual(reversed, sorted, scheme);
    for (let i = 1; i < sorted.length; i++) {
      assert.equal(compareVersions(scheme, sorted[i - 1] ?? '', sorted[i] ?? '') < 0, true, `${scheme}: ${sorted[i - 1]} < ${sorted[i]}`);
    }
  }
});
