import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mergedTagPage, sliceOf } from './proxy-cache.ts';

test('tags of a proxy repository: the union, sorted, paged with n and last', () => {
  assert.deepEqual(mergedTagPage(['v2', 'v1'], ['v1', 'latest'], null, null), { names: ['latest', 'v1', 'v2'], next: null });
  assert.deepEqual(mergedTagPage(['v2', 'v1'], ['v1', 'latest'], 2, null), { names: ['latest', 'v1'], next: 'v1' });
  assert.deepEqual(mergedTagPage(['v2', 'v1'], ['v1', 'latest'], 2, 'v1'), { names: ['v2'], next: null });
  assert.deepEqual(mergedTagPage(['a'], [], 0, null), { names: [], next: null });
  assert.deepEqual(mergedTagPage([], ['a', 'b'], 1, 'a'), { names: ['b'], next: null });
});

test('a byte range of a stream, across chunk boundaries; the source is released', async () => {
  const bytes = Buffer.from('0123456789abcdefghij');
  for (const [start, end] of [
    [0, 19],
    [3, 12],
    [5, 5],
    [15, 19],
  ] as const) {
    const source = Readable.from([bytes.subarray(0, 4), bytes.subarray(4, 9), bytes.subarray(9, 16), bytes.subarray(16)]);
    const chunks: Buffer[] = [];
    for await (const c of sliceOf(source, start, end)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
    assert.equal(Buffer.concat(chunks).toString(), bytes.subarray(start, end + 1).toString(), `${start}-${end}`);
  }
  let read = 0;
  const endless = new Readable({
    read() {
      read++;
      this.push(Buffer.alloc(1024, 1));
    },
  });
  const chunks: Buffer[] = [];
  for await (const c of sliceOf(endless, 0, 2047)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  assert.equal(Buffer.concat(chunks).length, 2048);
  assert.equal(endless.destroyed, true, 'the upstream stream is closed once the range is through');
  assert.ok(read < 50);
});
