import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { readCapped, readHeaderBlock } from './read-stream.ts';

const chunks = (text: string, size: number): Buffer[] => {
  const out: Buffer[] = [];
  for (let i = 0; i < text.length; i += size) out.push(Buffer.from(text.slice(i, i + size)));
  return out;
};

test('readCapped: the whole file under the cap; null over it, the stream left flowing', async () => {
  const file = 'package.json';
  const size = statSync(file).size;
  assert.equal((await readCapped(createReadStream(file), size))?.length, size);
  const body = createReadStream(file, { highWaterMark: 64 });
  assert.equal(await readCapped(body, size - 1), null);
  assert.equal(body.destroyed, false);
  // Not paused: the rest flows on to the end, as the walker's drain expects.
  assert.notEqual(body.readableFlowing, false);
  await new Promise<void>((resolve) => body.once('end', () => resolve()));
});

test('readHeaderBlock: stops at the first blank line, LF or CRLF, wherever the chunks split', async () => {
  for (const size of [1, 2, 3, 5, 1000]) {
    assert.equal(await readHeaderBlock(Readable.from(chunks('A: 1\nB: 2\n\nbody\n\n', size)), 100), 'A: 1\nB: 2');
    assert.equal(await readHeaderBlock(Readable.from(chunks('A: 1\r\nB: 2\r\n\r\nbody', size)), 100), 'A: 1\r\nB: 2');
    assert.equal(await readHeaderBlock(Readable.from(chunks('A: 1\nB: 2', size)), 100), 'A: 1\nB: 2');
  }
  assert.equal(await readHeaderBlock(Readable.from(chunks('A: 1\nB: 2\n\n', 4)), 5), null);
});
