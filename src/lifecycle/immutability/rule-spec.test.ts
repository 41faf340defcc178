import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileMatcher, filterText, parseRule, readFilter } from './rule-spec.ts';

const body = (tag: string, tagDec = 'matches', repo = '**', repoDec = 'repoMatches') => ({
  tag_selectors: [{ kind: 'doublestar', decoration: tagDec, pattern: tag }],
  scope_selectors: { repository: [{ kind: 'doublestar', decoration: repoDec, pattern: repo }] },
});

test('parseRule fills Harbor’s defaults and keeps the selectors as sent', () => {
  const r = parseRule({ ...body('v*'), id: 3, disabled: true });
  assert.equal(r.id, 3);
  assert.equal(r.disabled, true);
  assert.deepEqual(r.filter, { priority: 0, action: 'immutable', template: 'immutable_template', ...body('v*') });
  // Equal rules store equal text whatever the key order of the body (Harbor's duplicate check).
  const reordered = { scope_selectors: { repository: [{ pattern: '**', decoration: 'repoMatches', kind: 'doublestar' }] }, tag_selectors: [{ pattern: 'v*', decoration: 'matches', kind: 'doublestar' }] };
  assert.equal(filterText(parseRule(reordered).filter), filterText(r.filter));
  assert.deepEqual(readFilter(filterText(r.filter)), r.filter);
});

test('parseRule refuses with a message naming the field', () => {
  assert.throws(() => parseRule({ ...body('v*'), priority: 1.5 }), { message: 'priority must be an integer' });
  assert.throws(() => parseRule(body('v*', 'repoMatches')), { message: 'tag_selectors[0].decoration must be one of "matches", "excludes"' });
  assert.throws(() => parseRule(body('v*', 'matches', '**', 'nsMatches')), { message: 'scope_selectors.repository[0].decoration must be one of "repoMatches", "repoExcludes", "matches", "excludes"' });
  assert.throws(() => parseRule(body('[z-a]')), { message: 'tag_selectors[0].pattern is not a valid glob: range z-a is out of order' });
  assert.throws(() => parseRule({ ...body('v*'), tag_selectors: Array.from({ length: 9 }, () => body('v*').tag_selectors[0]) }), { message: 'tag_selectors: at most 8 selectors' });
});

test('compileMatcher: first selectors only, repository without the project, excludes, empty pattern', () => {
  assert.equal(compileMatcher([]), null);
  const m = compileMatcher([parseRule(body('{v[0-9]*,release-*}', 'matches', 'a/**')).filter]);
  assert.ok(m);
  assert.equal(m('a', 'v1'), true);
  assert.equal(m('a/b/c', 'release-2'), true);
  assert.equal(m('a', 'latest'), false);
  assert.equal(m('b', 'v1'), false);
  const ex = compileMatcher([parseRule(body('dev-*', 'excludes', 'a', 'repoExcludes')).filter]);
  assert.ok(ex);
  assert.equal(ex('b', '1.0'), true);
  assert.equal(ex('b', 'dev-1'), false);
  assert.equal(ex('a', '1.0'), false);
  const second = parseRule({ ...body(''), tag_selectors: [...body('').tag_selectors, ...body('never').tag_selectors] }).filter;
  const all = compileMatcher([second]);
  assert.ok(all);
  assert.equal(all('x/y', 'anything'), true);
});

test('compileMatcher stays linear on a hostile pattern', () => {
  const m = compileMatcher([parseRule(body(`${'*a'.repeat(40)}!`)).filter]);
  assert.ok(m);
  const t0 = performance.now();
  assert.equal(m('r', 'a'.repeat(128)), false);
  assert.ok(performance.now() - t0 < 200);
});
