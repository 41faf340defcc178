import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, isValidVersion } from './compare.ts';
import { assertIncreasing, assertInvalid, assertSame } from './assert-order.ts';

test('pep440: dev < a < b < rc < final < post', () => {
  assertIncreasing('pep440', ['1.0.dev0', '1.0.dev1', '1.0a1.dev1', '1.0a1', '1.0a2', '1.0b1', '1.0rc1', '1.0rc1.post1', '1.0', '1.0.post1.dev1', '1.0.post1', '1.0.post2', '1.0.1', '1.1.dev1', '1.1']);
});

test('pep440: the PEP 440 ordering example', () => {
  assertIncreasing('pep440', ['1.0.dev456', '1.0a1', '1.0a2.dev456', '1.0a12.dev456', '1.0a12', '1.0b1.dev456', '1.0b2', '1.0b2.post345.dev456', '1.0b2.post345', '1.0rc1.dev456', '1.0rc1', '1.0', '1.0+abc.5', '1.0+abc.7', '1.0+5', '1.0.post456.dev34', '1.0.post456', '1.0.15', '1.1.dev1']);
});

test('pep440: epochs, zero padding, normalised spellings', () => {
  assertIncreasing('pep440', ['2024.1', '1!0.1', '1!1.0', '2!0.0.1']);
  assertSame('pep440', ['1.0', '1.0.0', '1', 'v1.0', 'V1.0.0', '0!1.0']);
  assertSame('pep440', ['1.0a1', '1.0alpha1', '1.0-a1', '1.0.a.1', '1.0A1', '1.0a01']);
  assertSame('pep440', ['1.0rc1', '1.0c1', '1.0pre1', '1.0preview1', '1.0-rc-1']);
  assertSame('pep440', ['1.0.post1', '1.0-1', '1.0post1', '1.0.rev1', '1.0-r1', '1.0_post_1']);
  assertSame('pep440', ['1.0a', '1.0a0']);
  assertSame('pep440', ['1.0.dev', '1.0.dev0', '1.0-dev0']);
});

test('pep440: validity', () => {
  assertInvalid('pep440', ['', 'latest', '1.0-beta-x', '1.0+', '1.0+a..b', ' 1.0', '1.0.', 'x'.repeat(257), `1.${'1'.repeat(255)}`]);
  assert.equal(isValidVersion('pep440', '1.0+ubuntu-1.2'), true);
  assert.equal(compareVersions('pep440', 'latest', '0.0.1'), -1); // invalid sorts first
});
