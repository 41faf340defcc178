import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, isValidVersion } from './compare.ts';
import { assertIncreasing, assertInvalid, assertSame } from './assert-order.ts';

test('maven: qualifier order alpha < beta < milestone < rc = cr < snapshot < release = ga = final < sp < unknown', () => {
  assertIncreasing('maven', ['1.0-alpha', '1.0-beta', '1.0-milestone', '1.0-rc', '1.0-snapshot', '1.0', '1.0-sp', '1.0-abc', '1.0-xyz']);
  assertSame('maven', ['1.0-rc', '1.0-cr', '1.0-RC', '1.0.rc']);
  assertSame('maven', ['1.0', '1', '1.0.0', '1-0', '1.0-0']);
  for (const alias of ['1.0-ga', '1.0-final', '1.0-release', '1.0.GA', '1.0.Final', '1.0.RELEASE']) {
    assert.equal(compareVersions('maven', alias, '1.0'), 0, alias);
    assert.equal(compareVersions('maven', alias, '1.0-sp'), -1, alias);
    assert.equal(compareVersions('maven', alias, '1.0-rc'), 1, alias);
  }
});

test('maven: a1 = alpha-1, b2 = beta-2, m3 = milestone-3; a qualifier followed by digits is one item', () => {
  assertSame('maven', ['1a1', '1-alpha-1', '1.0-alpha1', '1-ALPHA-1']);
  assertSame('maven', ['1b2', '1-beta-2', '1.0.0-beta2']);
  assertSame('maven', ['1m3', '1-milestone-3', '1-MileStone3']);
  assertIncreasing('maven', ['1-alpha2snapshot', '1-alpha2', '1-alpha-123', '1-beta-2', '1-beta123', '1-m2', '1-m11', '1-rc', '1-cr2', '1-rc123', '1-SNAPSHOT', '1', '1-sp', '1-sp2', '1-sp123', '1-abc', '1-def', '1-1-snapshot', '1-1', '1-2', '1-123']);
});

test('maven: numbers beat lists beat qualifiers; more numbers beat fewer', () => {
  assertIncreasing('maven', ['2.0', '2.0.a', '2-1', '2.0.2', '2.0.123', '2.1.0', '2.1-a', '2.1b', '2.1-1', '2.1.0.1', '2.2', '2.123']);
  assertIncreasing('maven', ['1.0-SNAPSHOT', '1.0', '1.0-1', '1.0-2', '1.0.1-SNAPSHOT', '1.0.1', '1.1']);
  assertIncreasing('maven', ['2.0.1', '2.0.1-xyz', '2.0.1-123']);
  assertIncreasing('maven', ['5.3.20', '5.3.21', '6.0.0-M1', '6.0.0-RC1', '6.0.0']);
  assertIncreasing('maven', ['2.12.7', '2.12.7.1', '2.13.0-rc1', '2.13.0']);
  assertIncreasing('maven', ['1.0.final-redhat', '1.0-sp1-redhat']);
  assertIncreasing('maven', ['9.2.0.Final', '9.2.1.Final', '9.2.2']);
});

test('maven: numbers of any length, leading zeros ignored', () => {
  assertSame('maven', ['1', '01', '0000000000000000001']);
  assertIncreasing('maven', ['20190126.230843', '1234567890.12345', '123456789012345.1', '12345678901234567890.1']);
  assertIncreasing('maven', ['1.99999999999999999999', '1.100000000000000000000']);
});

test('maven: validity is any printable string without blanks', () => {
  assert.equal(isValidVersion('maven', 'anything-goes_1'), true);
  assertInvalid('maven', ['', '1.0 ', '1.0\t', 'a\nb', 'x'.repeat(257)]);
});
