import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, isValidVersion } from './compare.ts';
import { assertIncreasing, assertInvalid, assertSame } from './assert-order.ts';

test('apk: the reference example, as apk-tools orders it', () => {
  assertIncreasing('apk', ['1.2.3_rc1-r0', '1.2.3-r0', '1.2.3_p1-r0']);
  // The reference also writes `1.2.3_p1-r0 < 1.2.3-r1`; apk-tools disagrees: `_p1` is a later
  // upstream release, so it beats any revision of 1.2.3.
  assertIncreasing('apk', ['1.2.3_rc1-r0', '1.2.3-r0', '1.2.3-r1', '1.2.3_p1-r0']);
});

test('apk: suffixes alpha < beta < pre < rc < none < cvs < svn < git < hg < p', () => {
  assertIncreasing('apk', ['2.0_alpha', '2.0_alpha1', '2.0_alpha2', '2.0_beta', '2.0_beta10', '2.0_pre1', '2.0_rc1', '2.0_rc2', '2.0', '2.0_cvs', '2.0_svn', '2.0_git20240101', '2.0_hg', '2.0_p1', '2.0_p10', '2.0.1']);
  assertIncreasing('apk', ['0.1.0_alpha_pre2', '0.1.0_alpha', '0.1.0_alpha1', '0.1.0_beta']);
  assertIncreasing('apk', ['1.0.0_pre20191002222144-r0', '1.0.0_pre20210530193627-r0', '1.0.0-r0']);
});

test('apk: numbers, letters, more components, revisions', () => {
  assertIncreasing('apk', ['0.9.9', '0.9.10', '0.10', '1', '1.0', '1.0.0', '1.0.1', '1.1', '1.2', '1.2.1', '1.2.12.1', '1.2.13', '2', '10', '222']);
  assertIncreasing('apk', ['2.3.0', '2.3.0a', '2.3.0b', '2.3.0b-r1', '2.3.0b-r2', '2.3.0.1']);
  assertIncreasing('apk', ['1.0-r0', '1.0-r1', '1.0-r9', '1.0-r10', '1.0.1-r0']);
  assertIncreasing('apk', ['1.2', '1.2a', '1.2.0']);
});

test('apk: a dotted number where either side has a leading zero compares as a string', () => {
  assertIncreasing('apk', ['8.2.0', '8.2.001', '8.2.0015', '8.2.002', '8.2.01', '8.2.1', '8.2.2']);
  assertIncreasing('apk', ['1.001', '1.01', '1.02', '1.1', '1.2', '1.15']); // no leading zero: numeric
  assertSame('apk', ['01.0', '1.0']); // the first number is always numeric
});

test('apk: a commit hash is one more component, compared as a string, before the revision', () => {
  assertIncreasing('apk', ['1.0', '1.0-r0', '1.0-r1', '1.0~1234', '1.0~1234-r0', '1.0~1234-r1', '1.0~2345', '1.0~2345-r0', '1.0.1']);
  assertIncreasing('apk', ['0.1_pre2', '0.1_pre2~abc', '0.1_pre2~abd', '0.1']);
});

test('apk: validity follows apk-tools', () => {
  for (const v of ['1', '1.2', '0.1_pre2', '0.1_pre2~1234abcd', '0.1_p1_pre2', '0.1_git20240101_pre1', '1.2.3a_rc1_p2~ff-r10']) {
    assert.equal(isValidVersion('apk', v), true, v);
  }
  assertInvalid('apk', ['', 'a', '.1', '_pre1', '-r1', '0.1bc', '0.1a1', '0.1a.1', '0.1_pre2~', '0.1_pre2~1234xbcd', '0.1_pre2~12_pre1', '0.1_foobar', '0.1_foobar1', '0.1-pre1.1', '0.1-r', '0.1-r2_pre1', '0.1-r2-r3', '0.1-r2.1', '0.1_', '0.1_-r0', '0.1__alpha', '0.1_1_alpha', '1.0A', '1.0_RC1', '1.0 ', `1.${'1'.repeat(255)}`]);
  assert.equal(isValidVersion('apk', `1.${'1'.repeat(254)}`), true);
});

test('apk: invalid versions sort below valid ones, by code units among themselves', () => {
  assert.equal(compareVersions('apk', '0.1bc', '0.0.1'), -1);
  assert.equal(compareVersions('apk', '0.1.0', '1.0A'), 1);
  assert.equal(compareVersions('apk', '1.0B', '1.0A'), 1);
  assert.equal(compareVersions('apk', '1.0A', '1.0A'), 0);
});
