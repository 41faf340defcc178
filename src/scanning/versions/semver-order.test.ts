import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare as semverCompare, valid as semverValid } from 'semver';
import { compareVersions, isValidVersion } from './compare.ts';
import { assertIncreasing, assertInvalid, assertSame } from './assert-order.ts';

test('semver: the SemVer 2.0 precedence example', () => {
  assertIncreasing('semver', ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '2.0.0']);
});

test('semver: build metadata is ignored; loose spellings parse', () => {
  assertSame('semver', ['1.2.3', '1.2.3+build.7', '1.2.3+other', 'v1.2.3', '=1.2.3', 'V1.2.3+x']);
  assertSame('semver', ['1.2.3-beta', '1.2.3beta', '1.2.3-beta+exp.sha.5114f85']);
  assertIncreasing('semver', ['1.2.3-9', '1.2.3-10', '1.2.3-alpha', '1.2.3']);
});

test('semver: versions the package cannot parse fall back to dotted numbers of any count', () => {
  assertSame('semver', ['1.2', '1.2.0', '1.2.0.0']);
  assertIncreasing('semver', ['1', '1.2', '1.2.3', '1.2.3.4', '1.2.3.5', '1.2.4', '1.2.10']); // NuGet's fourth component
  assertIncreasing('semver', ['4.0.0.0-preview1', '4.0.0.0', '4.0.0.1-rc.1', '4.0.0.1']);
  assertIncreasing('semver', ['1.2.99999999999999999998', '1.2.99999999999999999999', '1.3']); // beyond 2^53, exact
  assertInvalid('semver', ['', 'latest', '1.', '.1', 'x1.2', '1.2.3+', '1.2.3-a..b', '1..2', '1.2.3 beta', 'v', `1.${'1'.repeat(255)}`]);
});

test('semver: agrees with semver.compare wherever the package parses both versions', () => {
  const versions = [
    '0.0.0', '0.0.1', '0.1.0', '1.0.0', '1.0.0-0', '1.0.0-0.0', '1.0.0-1', '1.0.0-01', '1.0.0-a', '1.0.0-a.0', '1.0.0-a.1',
    '1.0.0-a.b', '1.0.0-a-b', '1.0.0-A', '1.0.0-Z.1', '1.0.0-rc.1', '1.0.0-rc.1+b', '1.0.0-rc.10', '1.0.0-rc.2', '1.0.0+b',
    '1.0.1', '1.1.0-beta', '1.10.0', '1.9.9', '2.0.0-alpha.beta.1', '10.0.0', '3.7.2', '3.7.2-pre.0', '1.0.0-x.7.z.92', 'v2.1.0', '2.1.0beta', '=2.1.0-beta.2',
  ];
  for (const a of versions) {
    assert.notEqual(semverValid(a, { loose: true }), null, a);
    for (const b of versions) {
      assert.equal(Math.sign(compareVersions('semver', a, b)), semverCompare(a, b, { loose: true }), `${a} vs ${b}`);
    }
  }
});

test('go: v prefix optional, pseudo-versions are pre-releases, +incompatible is build metadata', () => {
  assertSame('go', ['v1.2.3', '1.2.3', 'v1.2.3+incompatible']);
  assertSame('go', ['v1', 'v1.0', 'v1.0.0']);
  assertIncreasing('go', [
    'v0.0.0-20190101000000-aaaaaaaaaaaa',
    'v0.0.0-20210101000000-abcdef123456',
    'v0.0.1',
    'v1.2.3',
    'v1.2.4-0.20230101000000-abcdef123456',
    'v1.2.4-0.20240101000000-abcdef123456',
    'v1.2.4-pre',
    'v1.2.4-pre.0.20240101000000-abcdef123456',
    'v1.2.4',
    'v2.0.0+incompatible',
    'v2.0.1',
  ]);
});

test('go: toolchain versions of the standard library', () => {
  assertSame('go', ['go1.21.0', 'go1.21', '1.21.0', 'v1.21.0']);
  assertIncreasing('go', ['go1.20.14', 'go1.21beta1', 'go1.21rc1', 'go1.21rc2', 'go1.21', 'go1.21.1', 'go1.21.10', 'go1.22.0']);
  assertSame('go', ['go1.21rc2', '1.21.0-rc.2']);
});

test('go: strict SemVer otherwise', () => {
  assertInvalid('go', ['', 'v', 'vv1.2.3', '01.2.3', 'v1.02.3', 'v1.2.3-01', 'v1.2-pre', 'v1.2.3.4', 'v1.2.3 ', 'latest', 'go1.x', 'go1.2.3.4', 'go1.21rc']);
  assert.equal(isValidVersion('go', 'v0.0.0-20240101000000-abcdef123456'), true);
});
