import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterMatches, globMatch } from './glob.ts';

test('* stays within one path segment', () => {
  assert.equal(globMatch('library/*', 'library/alpine'), true);
  assert.equal(globMatch('library/*', 'library/a/b'), false);
  assert.equal(globMatch('library/*', 'other/alpine'), false);
  assert.equal(globMatch('*', 'library/alpine'), false);
  assert.equal(globMatch('v*', 'v1.2.3'), true);
  assert.equal(globMatch('v*', 'latest'), false);
});

test('** crosses segments; a trailing /** also matches the folder itself', () => {
  assert.equal(globMatch('team/**', 'team/a'), true);
  assert.equal(globMatch('team/**', 'team/a/b/c'), true);
  assert.equal(globMatch('team/**', 'team'), true);
  assert.equal(globMatch('team/**', 'teams/a'), false);
  assert.equal(globMatch('**/alpine', 'library/alpine'), true);
  assert.equal(globMatch('**/alpine', 'a/b/alpine'), true);
  assert.equal(globMatch('**/alpine', 'alpine'), true);
  assert.equal(globMatch('**/alpine', 'library/alpine2'), false);
  assert.equal(globMatch('library/**/base', 'library/x/y/base'), true);
  assert.equal(globMatch('library/**/base', 'library/base'), true);
  assert.equal(globMatch('**', 'anything/at/all'), true);
});

test('?, classes and alternatives', () => {
  assert.equal(globMatch('v?', 'v1'), true);
  assert.equal(globMatch('v?', 'v10'), false);
  assert.equal(globMatch('a?b', 'a/b'), false);
  assert.equal(globMatch('v[0-9]', 'v7'), true);
  assert.equal(globMatch('v[0-9]', 'vx'), false);
  assert.equal(globMatch('v[!0-9]', 'vx'), true);
  assert.equal(globMatch('v[!0-9]', 'v1'), false);
  assert.equal(globMatch('{prod,stage}-*', 'prod-1'), true);
  assert.equal(globMatch('{prod,stage}-*', 'stage-x'), true);
  assert.equal(globMatch('{prod,stage}-*', 'dev-1'), false);
});

test('regex metacharacters are literal', () => {
  assert.equal(globMatch('1.0', '1.0'), true);
  assert.equal(globMatch('1.0', '1x0'), false);
  assert.equal(globMatch('a+b', 'a+b'), true);
  assert.equal(globMatch('a+b', 'aab'), false);
  assert.equal(globMatch('(x)|y', '(x)|y'), true);
  assert.equal(globMatch('[abc', '[abc'), true);
  assert.equal(globMatch('{a', '{a'), true);
});

test('filterMatches: empty matches all; a missing value matches only an empty filter', () => {
  assert.equal(filterMatches([], 'x'), true);
  assert.equal(filterMatches([], null), true);
  assert.equal(filterMatches(['v*'], null), false);
  assert.equal(filterMatches(['v*', 'latest'], 'latest'), true);
  assert.equal(filterMatches(['v*', 'latest'], 'dev'), false);
});
