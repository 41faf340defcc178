import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from './errors.ts';
import {
  conditionMatches,
  conditionMatchesAny,
  parseQuery,
  parseSortKeys,
  resolveFilters,
  resolveSort,
  typeCondition,
  type ListSpec,
} from './listing.ts';

const spec = {
  name: { type: 'text', column: 'name' },
  id: { type: 'int', column: 'id' },
  public: { type: 'bool', column: 'public' },
  creation_time: { type: 'time', column: 'creation_time' },
  tags: { type: 'text' },
  size: { type: 'int', column: 'size', sortable: false },
} as const satisfies ListSpec;

test('q: the five forms', () => {
  const q = parseQuery('a=x,b=~y,c=[1~5],d={p q  r},e=(s t)');
  assert.deepEqual(q.get('a'), { kind: 'exact', value: 'x' });
  assert.deepEqual(q.get('b'), { kind: 'fuzzy', value: 'y' });
  assert.deepEqual(q.get('c'), { kind: 'range', min: '1', max: '5' });
  assert.deepEqual(q.get('d'), { kind: 'or', values: ['p', 'q', 'r'] });
  assert.deepEqual(q.get('e'), { kind: 'and', values: ['s', 't'] });
  assert.equal(parseQuery('').size, 0);
});

test('q: open range ends, quotes, unescaping and commas inside brackets', () => {
  assert.deepEqual(parseQuery('t=[~2024-01-02 03:04:05]').get('t'), { kind: 'range', max: '2024-01-02 03:04:05' });
  assert.deepEqual(parseQuery('t=[5~]').get('t'), { kind: 'range', min: '5' });
  assert.deepEqual(parseQuery('n="a b"').get('n'), { kind: 'exact', value: 'a b' });
  assert.deepEqual(parseQuery("n={'x' \"y\"}").get('n'), { kind: 'or', values: ['x', 'y'] });
  // One more unescape of the whole string: %2F is '/', %20 a space; '+' stays (robot names hold it).
  assert.deepEqual(parseQuery('name=a%2Fb').get('name'), { kind: 'exact', value: 'a/b' });
  assert.deepEqual(parseQuery('tags={v1%20v2}').get('tags'), { kind: 'or', values: ['v1', 'v2'] });
  assert.deepEqual(parseQuery('name=robot$p+ci').get('name'), { kind: 'exact', value: 'robot$p+ci' });
  // An invalid escape leaves the string as sent.
  assert.deepEqual(parseQuery('name=%zz').get('name'), { kind: 'exact', value: '%zz' });
  assert.deepEqual(parseQuery('d={a,b},n=x').get('d'), { kind: 'or', values: ['a,b'] });
  assert.deepEqual(parseQuery('n=x,n=y').get('n'), { kind: 'exact', value: 'y' }, 'the last of a repeated key wins');
});

test('q: malformed terms are a 400 with Harbor messages', () => {
  for (const bad of ['name', '=x', 'name=', 'a=1,,b=2', 'r=[12]', 'r=[~]', 'r=[ ~ ]']) {
    assert.throws(() => parseQuery(bad), (e) => isDomainError(e, 'BAD_REQUEST'), bad);
  }
  assert.throws(() => parseQuery('name'), (e) => isDomainError(e) && e.message === 'the query string must contain "=" and the key/value cannot be empty');
});

test('q: long hostile inputs parse in one pass', () => {
  const many = '~'.repeat(200_000);
  assert.deepEqual(parseQuery(`r=[${many}]`).get('r'), { kind: 'range', max: many.slice(1) });
  assert.equal(parseQuery(`n={${' a'.repeat(50_000)}}`).get('n')?.kind, 'or');
  assert.equal(parseQuery('n=' + '('.repeat(100_000)).get('n')?.kind, 'exact');
});

test('sort: minus for descending, empty parts skipped', () => {
  assert.deepEqual(parseSortKeys('name,-creation_time'), [
    { field: 'name', desc: false },
    { field: 'creation_time', desc: true },
  ]);
  assert.deepEqual(parseSortKeys(''), []);
  assert.deepEqual(parseSortKeys(',-,x'), [{ field: 'x', desc: false }]);
});

test('a list keeps the keys and sort fields it knows, typed', () => {
  const filters = resolveFilters(parseQuery('name=~a,owner=x,public=true,id={1 2},creation_time=[2024-01-01 00:00:00~]'), spec);
  assert.deepEqual(
    filters.map((f) => [f.key, f.condition]),
    [
      ['name', { kind: 'fuzzy', value: 'a' }],
      ['public', { kind: 'exact', value: 1 }],
      ['id', { kind: 'or', values: [1, 2] }],
      ['creation_time', { kind: 'range', min: Date.UTC(2024, 0, 1) }],
    ],
  );
  assert.deepEqual(
    resolveSort(parseSortKeys('name,-nope,size,tags,-id'), spec).map((s) => [s.key, s.desc]),
    [
      ['name', false],
      ['id', true],
    ],
    'unknown, unsortable and column-less fields are dropped',
  );
});

test('typed values: bad ones are a 400; times in three forms', () => {
  assert.throws(() => typeCondition('id', 'int', { kind: 'exact', value: 'abc' }), (e) => isDomainError(e, 'BAD_REQUEST'));
  assert.throws(() => typeCondition('public', 'bool', { kind: 'exact', value: 'maybe' }), (e) => isDomainError(e, 'BAD_REQUEST'));
  assert.throws(() => typeCondition('t', 'time', { kind: 'range', min: 'yesterday' }), (e) => isDomainError(e, 'BAD_REQUEST'));
  const t = Date.UTC(2025, 0, 2, 3, 4, 5);
  assert.deepEqual(typeCondition('t', 'time', { kind: 'range', min: '2025-01-02 03:04:05', max: '2025-01-02T03:04:05.000Z' }), { kind: 'range', min: t, max: t });
  assert.deepEqual(typeCondition('t', 'time', { kind: 'exact', value: String(t / 1000) }), { kind: 'range', min: t, max: t + 999 }, 'an exact second');
  assert.deepEqual(typeCondition('id', 'int', { kind: 'fuzzy', value: '7' }), { kind: 'exact', value: 7 }, 'fuzzy on a number is exact');
});

test('in-memory matching of every form', () => {
  assert.ok(conditionMatches('Alpine', { kind: 'fuzzy', value: 'LPI' }));
  assert.ok(!conditionMatches('alpine', { kind: 'exact', value: 'alp' }));
  assert.ok(conditionMatches(5, { kind: 'range', min: 1, max: 5 }));
  assert.ok(!conditionMatches(6, { kind: 'range', max: 5 }));
  assert.ok(conditionMatches('b', { kind: 'or', values: ['a', 'b'] }));
  assert.ok(conditionMatches('b', { kind: 'or', values: [] }), 'an empty list filters nothing');
  assert.ok(!conditionMatches('b', { kind: 'and', values: ['a', 'b'] }));
  assert.ok(conditionMatchesAny(['v1', 'v2', 'latest'], { kind: 'and', values: ['v1', 'latest'] }));
  assert.ok(!conditionMatchesAny(['v1'], { kind: 'and', values: ['v1', 'latest'] }));
  assert.ok(conditionMatchesAny(['v1', 'x'], { kind: 'or', values: ['x', 'y'] }));
});
