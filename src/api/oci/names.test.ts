import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../../domain/index.ts';
import { parseOciPath } from './names.ts';
import { parseByteRange, parseContentRange } from './blobs.ts';

const d = 'sha256:' + 'a'.repeat(64);

test('parseOciPath splits nested names from every path kind', () => {
  assert.deepEqual(parseOciPath('library/a/b/blobs/uploads/'), { name: 'library/a/b', kind: 'uploads', arg: '' });
  assert.deepEqual(parseOciPath('library/a/blobs/uploads'), { name: 'library/a', kind: 'uploads', arg: '' });
  assert.deepEqual(parseOciPath('library/a/blobs/uploads/abc-1?digest=x'), { name: 'library/a', kind: 'upload', arg: 'abc-1' });
  assert.deepEqual(parseOciPath(`library/a/blobs/${d}`), { name: 'library/a', kind: 'blob', arg: d });
  assert.deepEqual(parseOciPath(`library/a/blobs/sha256%3A${'a'.repeat(64)}`), { name: 'library/a', kind: 'blob', arg: d });
  assert.deepEqual(parseOciPath('library/blobs/manifests/latest'), { name: 'library/blobs', kind: 'manifest', arg: 'latest' });
  assert.deepEqual(parseOciPath('library/a/tags/list?n=1'), { name: 'library/a', kind: 'tags', arg: '' });
  assert.deepEqual(parseOciPath(`library/a/referrers/${d}`), { name: 'library/a', kind: 'referrers', arg: d });
  assert.equal(parseOciPath('library/a/nothing'), null);
  assert.equal(parseOciPath('library/a/blobs/'), null);
});

test('parseOciPath refuses bad names with NAME_INVALID', () => {
  for (const bad of ['Library/a', 'library%2Fa/b', 'library/%2e%2e/a', 'library/../a', 'library//a', 'alone', 'library/a-', '/library/a']) {
    assert.throws(() => parseOciPath(`${bad}/blobs/uploads/`), (e) => isDomainError(e, 'NAME_INVALID'), bad);
  }
});

test('parseByteRange reads the single-range forms and refuses unsatisfiable ones', () => {
  assert.equal(parseByteRange(undefined, 10), null);
  assert.deepEqual(parseByteRange('bytes=0-4', 10), { start: 0, end: 4 });
  assert.deepEqual(parseByteRange('bytes=5-', 10), { start: 5, end: 9 });
  assert.deepEqual(parseByteRange('bytes=-3', 10), { start: 7, end: 9 });
  assert.deepEqual(parseByteRange('bytes=-30', 10), { start: 0, end: 9 });
  assert.deepEqual(parseByteRange('bytes=8-100', 10), { start: 8, end: 9 });
  assert.equal(parseByteRange('bytes=0-1,3-4', 10), null, 'several ranges: serve the whole blob');
  assert.equal(parseByteRange('items=0-1', 10), null);
  for (const bad of ['bytes=10-', 'bytes=5-4', 'bytes=-0']) {
    assert.throws(() => parseByteRange(bad, 10), (e) => isDomainError(e, 'RANGE_INVALID'), bad);
  }
  assert.throws(() => parseByteRange('bytes=0-0', 0), (e) => isDomainError(e, 'RANGE_INVALID'));
});

test('parseContentRange returns the chunk start and checks it against Content-Length', () => {
  assert.equal(parseContentRange(undefined, '5'), undefined);
  assert.equal(parseContentRange('0-9', '10'), 0);
  assert.equal(parseContentRange('10-19', undefined), 10);
  assert.equal(parseContentRange('bytes 10-19/*', '10'), 10);
  for (const [bad, len] of [['10-19', '5'], ['9-3', undefined], ['x-y', undefined], ['', undefined]] as const) {
    assert.throws(() => parseContentRange(bad, len), (e) => isDomainError(e, 'RANGE_INVALID'), bad);
  }
});
