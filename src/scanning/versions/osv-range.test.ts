import { test } from 'node:test';
import assert from 'node:assert/strict';
import { affects, fixedVersionFor, type OsvRange } from './osv-range.ts';

const range = (type: OsvRange['type'], ...events: OsvRange['events']): OsvRange => ({ type, events });

test('introduced "0" is below everything; fixed is exclusive', () => {
  const r = range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.2-3' });
  const table: [string, boolean][] = [
    ['0.1-1', true],
    ['1:0.1-1', false], // the epoch puts it above the fix
    ['1.2-2', true],
    ['1.2-3~deb12u1', true],
    ['1.2-3', false],
    ['1.2-3+b1', false],
    ['1.3-1', false],
  ];
  for (const [v, want] of table) assert.equal(affects('dpkg', v, r), want, v);
});

test('introduced is inclusive; last_affected is inclusive', () => {
  const r = range('SEMVER', { introduced: '1.0.0' }, { last_affected: '1.4.2' });
  const table: [string, boolean][] = [
    ['0.9.9', false],
    ['1.0.0-rc.1', false],
    ['1.0.0', true],
    ['1.4.2', true],
    ['1.4.2+build', true],
    ['1.4.3-alpha', false],
    ['1.4.3', false],
  ];
  for (const [v, want] of table) assert.equal(affects('semver', v, r), want, v);
});

test('several introduced/fixed pairs in one range, listed in any order', () => {
  const events = [{ introduced: '2.0.0' }, { fixed: '2.3.1' }, { introduced: '0' }, { fixed: '1.9.5' }, { introduced: '3.0.0' }];
  const r = range('ECOSYSTEM', ...events);
  const table: [string, boolean][] = [
    ['1.0.0', true],
    ['1.9.5', false],
    ['1.9.9', false],
    ['2.0.0', true],
    ['2.3.0', true],
    ['2.3.1', false],
    ['2.9.9', false],
    ['3.0.0', true],
    ['99.0.0', true],
  ];
  for (const [v, want] of table) assert.equal(affects('semver', v, r), want, v);
  assert.equal(fixedVersionFor('semver', '1.0.0', [r]), '1.9.5');
  assert.equal(fixedVersionFor('semver', '2.1.0', [r]), '2.3.1');
  assert.equal(fixedVersionFor('semver', '3.1.0', [r]), ''); // affected, no fix yet
  assert.equal(fixedVersionFor('semver', '2.5.0', [r]), ''); // not affected
});

test('a fix and a re-introduction at the same version keep their order', () => {
  const r = range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.0' }, { introduced: '1.0' }, { fixed: '2.0' });
  assert.equal(affects('pep440', '1.0', r), true);
  assert.equal(affects('pep440', '2.0', r), false);
});

test('limit caps the range; "*" is above everything', () => {
  const r = range('ECOSYSTEM', { introduced: '0' }, { limit: '2.0' });
  assert.equal(affects('pep440', '1.9', r), true);
  assert.equal(affects('pep440', '2.0', r), false);
  assert.equal(affects('pep440', '2.1', r), false);
  const open = range('ECOSYSTEM', { introduced: '1.0' }, { limit: '*' });
  assert.equal(affects('pep440', '0.9', open), false);
  assert.equal(affects('pep440', '1000.0', open), true);
  const two = range('ECOSYSTEM', { introduced: '0' }, { limit: '1.5' }, { limit: '3.0' });
  assert.equal(affects('pep440', '2.0', two), true); // below one of the limits
});

test('GIT ranges never match; unparseable installed versions match nothing', () => {
  assert.equal(affects('semver', '1.0.0', range('GIT', { introduced: '0' }, { fixed: 'abc123' })), false);
  assert.equal(affects('dpkg', 'not a version', range('ECOSYSTEM', { introduced: '0' })), false);
  assert.equal(fixedVersionFor('dpkg', 'not a version', [range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.0-1' })]), '');
});

test('unparseable event versions err towards reporting', () => {
  // An unparseable introduced counts as "0"; an unparseable fixed is ignored.
  assert.equal(affects('semver', '0.1.0', range('SEMVER', { introduced: 'garbage' }, { fixed: '1.0.0' })), true);
  assert.equal(affects('semver', '5.0.0', range('SEMVER', { introduced: '0' }, { fixed: 'garbage' })), true);
  assert.equal(fixedVersionFor('semver', '5.0.0', [range('SEMVER', { introduced: '0' }, { fixed: 'garbage' })]), '');
});

test('SEMVER ranges use SemVer; Go keeps v-prefixed installed versions and pseudo-versions', () => {
  const r = range('SEMVER', { introduced: '0' }, { fixed: '1.2.4' });
  assert.equal(affects('go', 'v1.2.3', r), true);
  assert.equal(affects('go', 'v1.2.4-0.20240101000000-abcdef123456', r), true);
  assert.equal(affects('go', 'v1.2.4', r), false);
  assert.equal(affects('go', 'v1.2.4+incompatible', r), false);
  assert.equal(fixedVersionFor('go', 'v1.2.3', [r]), '1.2.4');
  // A SEMVER range on a PyPI package compares by SemVer: 1.0.0-rc1 is a pre-release there too.
  assert.equal(affects('pep440', '1.0.0-rc1', range('SEMVER', { introduced: '1.0.0' })), false);
});

test('each scheme evaluates ECOSYSTEM ranges by its own order', () => {
  assert.equal(affects('apk', '1.2.3-r0', range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.2.3-r1' })), true);
  assert.equal(affects('apk', '1.2.3_p1-r0', range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.2.3-r1' })), false);
  assert.equal(affects('rpm', '0:3.0.7-16.el9', range('ECOSYSTEM', { introduced: '0' }, { fixed: '1:3.0.7-16.el9_2' })), true);
  assert.equal(affects('rpm', '1:3.0.7-17.el9', range('ECOSYSTEM', { introduced: '0' }, { fixed: '1:3.0.7-16.el9_2' })), false);
  assert.equal(affects('maven', '2.13.0-rc1', range('ECOSYSTEM', { introduced: '2.13.0-rc1' }, { fixed: '2.13.0' })), true);
  assert.equal(affects('maven', '2.13.0.Final', range('ECOSYSTEM', { introduced: '2.13.0-rc1' }, { fixed: '2.13.0' })), false);
  assert.equal(affects('pep440', '2.0.0rc1', range('ECOSYSTEM', { introduced: '0' }, { fixed: '2.0.0' })), true);
  assert.equal(affects('pep440', '2.0.0.post1', range('ECOSYSTEM', { introduced: '0' }, { fixed: '2.0.0' })), false);
});

test('fixedVersionFor: the smallest fix above the version among the ranges that affect it', () => {
  const ranges = [
    range('ECOSYSTEM', { introduced: '0' }, { fixed: '2.31-13+deb11u2' }, { fixed: '2.36-9+deb12u4' }),
    range('ECOSYSTEM', { introduced: '0' }, { fixed: '2.36-9+deb12u3' }),
    range('ECOSYSTEM', { introduced: '3.0' }, { fixed: '2.36-1' }),
  ];
  assert.equal(fixedVersionFor('dpkg', '2.36-9+deb12u1', ranges), '2.36-9+deb12u3');
  assert.equal(fixedVersionFor('dpkg', '2.31-13', ranges), '2.31-13+deb11u2');
  assert.equal(fixedVersionFor('dpkg', '2.36-9+deb12u4', ranges), '');
  // A range that does not affect the version contributes no fix.
  assert.equal(fixedVersionFor('dpkg', '2.36-9+deb12u3', ranges), '');
  assert.equal(fixedVersionFor('dpkg', '2.36-9+deb12u1', []), '');
});
