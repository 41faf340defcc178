import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../../domain/index.ts';
import { linkHeader, listQuery, parseBoolParam, parsePaging, queryParam } from './paging.ts';

test('paging: Harbor defaults, 422 with Harbor messages, lenient below 1', () => {
  assert.deepEqual(parsePaging({}), { page: 1, pageSize: 10 });
  assert.deepEqual(parsePaging({ page: '3', page_size: '100' }), { page: 3, pageSize: 100 });
  assert.deepEqual(parsePaging({ page: '0', page_size: '0' }), { page: 1, pageSize: 100 }, 'page 0 is the first; page_size 0 the largest page');
  assert.deepEqual(parsePaging({ page: '-2', page_size: '+5' }), { page: 1, pageSize: 5 });
  assert.deepEqual(parsePaging({ page: ['1', '2'] }), { page: 2, pageSize: 10 }, 'a repeated parameter counts with its last value');
  assert.throws(
    () => parsePaging({ page_size: '101' }),
    (e) => isDomainError(e, 'UNPROCESSABLE') && e.message === 'validation failure list:\npage_size in query should be less than or equal to 100',
  );
  for (const bad of [{ page: 'x' }, { page_size: '1.5' }, { page: '1e3' }, { page_size: '' + '9'.repeat(30) }]) {
    assert.throws(() => parsePaging(bad), (e) => isDomainError(e, 'UNPROCESSABLE') && /must be of type int64/.test(e.message), JSON.stringify(bad));
  }
});

test('a list request: q with every key, sort with unknown fields kept for the list to drop', () => {
  const l = listQuery({ q: 'name=~a,whatever=1', sort: 'name,-nope', page: '2' });
  assert.equal(l.page, 2);
  assert.deepEqual([...l.filters.keys()], ['name', 'whatever']);
  assert.deepEqual(l.sort, [
    { field: 'name', desc: false },
    { field: 'nope', desc: true },
  ]);
  assert.equal(queryParam(undefined), undefined);
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

test('boolean parameters', () => {
  assert.equal(parseBoolParam(undefined, 'with_tag', true), true);
  assert.equal(parseBoolParam('false', 'with_tag', true), false);
  assert.throws(() => parseBoolParam('maybe', 'with_tag', true), (e) => isDomainError(e, 'BAD_REQUEST'));
});
