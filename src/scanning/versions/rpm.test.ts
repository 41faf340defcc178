import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, isValidVersion } from './compare.ts';
import { rpmvercmp } from './rpm.ts';
import { assertIncreasing, assertInvalid, assertSame } from './assert-order.ts';

test('rpmvercmp: segments, separators, digits beat letters, longer wins', () => {
  const table: [string, string, number][] = [
    ['1.0', '1.0', 0],
    ['1.0', '2.0', -1],
    ['2.0.1', '2.0', 1],
    ['2.0.1a', '2.0.1', 1],
    ['5.5p1', '5.5p10', -1],
    ['5.5p2', '5.6p1', -1],
    ['10xyz', '10.1xyz', -1],
    ['xyz10', 'xyz10.1', -1],
    ['xyz.4', '8', -1],
    ['6.0.rc1', '6.0', 1],
    ['10b2', '10a1', 1],
    ['1.0a', '1.0aa', -1],
    ['10.0001', '10.1', 0],
    ['10.0001', '10.0039', -1],
    ['4.999.9', '5.0', -1],
    ['20101121', '20101122', -1],
    ['2.0', '2_0', 0],
    ['a+', 'a_', 0],
    ['+', '_', 0],
    ['1.el9', '1.el9_1', -1],
    ['1.el9_1', '1.el9_2', -1],
    ['12345678901234567890', '12345678901234567891', -1],
  ];
  for (const [a, b, want] of table) {
    assert.equal(rpmvercmp(a, b), want, `${a} vs ${b}`);
    assert.equal(rpmvercmp(b, a), -want || 0, `${b} vs ${a}`);
  }
});

test('rpmvercmp: ~ sorts before everything, ^ after the end but before any further segment', () => {
  const table: [string, string, number][] = [
    ['1.0~rc1', '1.0', -1],
    ['1.0~rc1', '1.0~rc2', -1],
    ['1.0~rc1~git123', '1.0~rc1', -1],
    ['1.0^', '1.0', 1],
    ['1.0^git1', '1.0', 1],
    ['1.0^git1', '1.0^git2', -1],
    ['1.0^git1', '1.01', -1],
    ['1.0^20160101', '1.0.1', -1],
    ['1.0^20160102', '1.0^20160101^git1', 1],
    ['1.0~rc1^git1', '1.0~rc1', 1],
    ['1.0^git1', '1.0^git1~pre', 1],
    ['1.0^git1~pre', '1.0', 1],
  ];
  for (const [a, b, want] of table) {
    assert.equal(rpmvercmp(a, b), want, `${a} vs ${b}`);
    assert.equal(rpmvercmp(b, a), -want, `${b} vs ${a}`);
  }
});

test('rpm: epoch first (missing = 0), then version, then release', () => {
  assertIncreasing('rpm', ['1.0~rc1-1', '1.0-1', '1.0^git1-1', '1.0.1-1']);
  assertIncreasing('rpm', ['2.0-1.el9', '2.0-1.el9_0.1', '2.0-1.el9_1', '2.0-2.el9', '1:1.0-1.el9', '2:0.1-1']);
  assertIncreasing('rpm', ['3.0.7', '3.0.7-16.el9', '3.0.7-16.el9_2', '3.0.7-17.el9']);
  assertSame('rpm', ['1.0-1', '0:1.0-1', '00:1.0-1', '1.00-1', '1_0-01']);
  assert.equal(compareVersions('rpm', '1:1.0-1', '9.9-9') > 0, true);
});

test('rpm: validity', () => {
  for (const v of ['1', '1.0', '1:1.0-1.el9', '1.0~rc1^git1-0.fc40', '2.34-60.el9_2.7', '0:4.16.1.3-22.el9']) {
    assert.equal(isValidVersion('rpm', v), true, v);
  }
  assertInvalid('rpm', ['', 'x:1.0', ':1.0', '1:', '1.0-', '-1', '1.0 -1', '1.0-1/2', `1.${'0'.repeat(255)}`]);
});
