import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Readable, type Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { findIgzip } from './layer-walker.ts';
import { decoderSocketAddress, ProgramDecoder } from './program-decoder.ts';

/** igzip when installed; .ci/run installs it, and WHARF_REQUIRE_E2E=1 fails these tests without it. */
const igzip = findIgzip();
const igzipSkip = igzip === null && process.env.WHARF_REQUIRE_E2E !== '1' ? 'igzip is not installed (apt-get install isal)' : false;

/** Where a decoder started without `inputFd` takes its bytes. */
function inputOf(decoder: ProgramDecoder): Writable {
  assert.ok(decoder.input, 'the decoder has a stdin to write');
  return decoder.input;
}

/** 24 MiB that gzip shrinks a little: random runs between repeated ones. */
function sample(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 96; i++) parts.push(randomBytes(128 * 1024), Buffer.alloc(128 * 1024, i));
  return Buffer.concat(parts);
}

/** Decodes `gz` through igzip, asking for chunks slowly every few; the output's hash, its chunks and the distinct buffers they lay in. */
async function decode(gz: Buffer, stdoutPipe: boolean): Promise<{ sha: string; chunks: number; buffers: number }> {
  assert.ok(igzip, 'igzip is installed');
  const decoder = await ProgramDecoder.start(igzip, 'igzip', 'gzip', { stdoutPipe });
  const hash = createHash('sha256');
  const buffers = new Set<ArrayBufferLike>();
  let chunks = 0;
  const feeding = pipeline(Readable.from([gz.subarray(0, gz.length >> 1), gz.subarray(gz.length >> 1)]), inputOf(decoder));
  for await (const chunk of decoder.output) {
    hash.update(chunk);
    buffers.add(chunk.buffer);
    // A slow reader: the program must wait for it, not this process buffer its output.
    if (++chunks % 16 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await feeding;
  return { sha: hash.digest('hex'), chunks, buffers: buffers.size };
}

test('the program output comes lent in a few reused buffers, complete and in order, also to a slow reader', { skip: igzipSkip }, async () => {
  const plain = sample();
  const gz = gzipSync(plain, { level: 1 });
  const want = createHash('sha256').update(plain).digest('hex');
  const lent = await decode(gz, false);
  assert.equal(lent.sha, want);
  assert.ok(lent.chunks > 48, `${lent.chunks} chunks`);
  // At most the queued chunks, the one lent and the one being read into (plus one in flight).
  assert.ok(lent.buffers <= 8, `${lent.buffers} distinct buffers for ${lent.chunks} chunks`);
  // The stdout pipe (where no socket can listen): the same bytes, in a new buffer per read.
  const piped = await decode(gz, true);
  assert.equal(piped.sha, want);
  assert.ok(piped.buffers > 8, `${piped.buffers} distinct buffers for ${piped.chunks} chunks`);
});

test('the output fails with the program\u2019s message on a truncated input, and destroy kills the program', { skip: igzipSkip }, async () => {
  assert.ok(igzip, 'igzip is installed');
  const gz = gzipSync(randomBytes(1_000_000));
  const decoder = await ProgramDecoder.start(igzip, 'igzip', 'gzip');
  const feeding = pipeline(Readable.from([gz.subarray(0, 5000)]), inputOf(decoder));
  await assert.rejects(
    (async () => {
      for await (const chunk of decoder.output) assert.ok(chunk.length > 0);
    })(),
    /^Error: the gzip layer is corrupt or truncated \(igzip: .+\)$/,
  );
  await feeding;

  const stopped = await ProgramDecoder.start(igzip, 'igzip', 'gzip');
  inputOf(stopped).write(gz.subarray(0, 1000));
  stopped.destroy(new Error('stopped by the test'));
  await assert.rejects(stopped.output.next(), /^Error: stopped by the test$/);
});

test('a connection to the decoder socket without a walk\u2019s token is closed and joins nothing', { skip: igzipSkip }, async () => {
  const address = await decoderSocketAddress();
  assert.ok(address, 'the decoder socket listens (Linux)');
  const closed = (socket: net.Socket): Promise<string> =>
    new Promise((resolve) => {
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(got));
    });
  // A wrong token of the right length, then one too long: each is closed at once, having received nothing.
  for (const token of [randomBytes(16), randomBytes(40)]) {
    const stranger: net.Socket = net.connect({ path: address });
    stranger.write(token);
    assert.equal(await closed(stranger), '');
  }
  // One that connects with a wrong token while a walk is pairing, and one that waits silently:
  // the walk gets all of its output, the stranger none of it.
  const silent = net.connect({ path: address });
  silent.on('error', () => undefined);
  const plain = randomBytes(300_000);
  const walking = decode(gzipSync(plain), false);
  const thief: net.Socket = net.connect({ path: address });
  thief.write(randomBytes(16));
  const stolen = closed(thief);
  assert.equal((await walking).sha, createHash('sha256').update(plain).digest('hex'));
  assert.equal(await stolen, '');
  silent.destroy();
});
