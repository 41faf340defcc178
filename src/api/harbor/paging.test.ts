import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../../domain/index.ts';
import { linkHeader, parsePaging, parseQ, parseBoolParam, parseSort } from './paging.ts';

test('paging defaults and limits', () => {
  assert.deepEqual(parsePaging({}), { page: 1, pageSize: 10 });
  assert.deepEqual(parsePaging({ page: '3', page_size: '100' }), { page: 3, pageSize: 100 });
  for (const bad of [{ page: '0' }, { page: '-1' }, { page: 'x' }, { page_size: '101' }, { page_size: '0' }, { page_size: '1.5' }]) {
    assert.throws(() => parsePaging(bad), (e) => isDomainError(e, 'BAD_REQUEST'), JSON.stringify(bad));
  }
});

test('Link header: prev and next with sorted keys and unescaped values', () => {
  const url = '/api/v2.0/projects?q=name%3D~a&page=2&page_size=2';
  assert.equal(
    linkHeader(url, 7, { page: 2, pageSize: 2 }),
    '</api/v2.0/projects?page=1&page_size=2&q=name=~a>; rel="prev" , </api/v2.0/projects?page=3&page_size=2&q=name=~a>; rel="next"',
  );
  assert.equal(linkHeader('/api/v2.0/projects', 7, { page: 1, pageSize: 10 }), '');
  assert.equal(linkHeader('/api/v2.0/projects', 7, { page: 1, pageSize: 5 }), '</api/v2.0/projects?page=2&page_size=5>; rel="next"');
  assert.equal(linkHeader('/api/v2.0/projects?page=2&page_size=5', 7, { page: 2, pageSize: 5 }), '</api/v2.0/projects?page=1&page_size=5>; rel="prev"');
  // Past the end: no prev either (Harbor's rule).
  assert.equal(linkHeader('/x?page=9', 7, { page: 9, pageSize: 5 }), '');
});

test('q: exact, fuzzy, several keys, errors', () => {
  const q = parseQ('name=~alp,public=true', ['name', 'public']);
  assert.deepEqual(q.get('name'), { value: 'alp', fuzzy: true });
  assert.deepEqual(q.get('public'), { value: 'true', fuzzy: false });
  assert.equal(parseQ(undefined, ['name']).size, 0);
  assert.deepEqual(parseQ('name=a%2Fb', ['name']).get('name'), { value: 'a/b', fuzzy: false });
  assert.throws(() => parseQ('owner=x', ['name']), (e) => isDomainError(e, 'BAD_REQUEST') && /unsupported key "owner"/.test(e.message));
  assert.throws(() => parseQ('name', ['name']), (e) => isDomainError(e, 'BAD_REQUEST'));
  assert.throws(() => parseQ('name={a b}', ['name']), (e) => isDomainError(e, 'BAD_REQUEST') && /not supported/.test(e.message));
});

test('boolean parameters', () => {
  assert.equal(parseBoolParam(undefined, 'with_tag', true), true);
  assert.equal(parseBoolParam('false', 'with_tag', true), false);
  assert.throws(() => parseBoolParam('maybe', 'with_tag', true), (e) => isDomainError(e, 'BAD_REQUEST'));
});

test('sort: fields with an optional minus, comma-separated', () => {
  assert.deepEqual(parseSort('name,-creation_time'), [
    { field: 'name', desc: false },
    { field: 'creation_time', desc: true },
  ]);
  assert.deepEqual(parseSort(undefined), []);
  assert.deepEqual(parsePaging({ sort: '-name' }).sort, [{ field: 'name', desc: true }]);
  assert.equal(parsePaging({}).sort, undefined);
  assert.throws(() => parseSort('name;drop'), (e) => isDomainError(e, 'BAD_REQUEST'));
  assert.throws(() => parseSort(['a', 'b']), (e) => isDomainError(e, 'BAD_REQUEST'));
});
