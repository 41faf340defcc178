import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, linkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import { MAX_EXTENDED_HEADER_BYTES, readTar, TarFormatError, type TarHeader } from './tar-reader.ts';
import { tarOf } from '../../../test/helpers/image-layers.ts';

async function* chunksOf(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** Each entry as `type:name:size:mode:linkname:sha256 of the body` (read when `read` says so, else skipped). */
async function listed(archive: Buffer, chunk = 4096, read: (h: TarHeader) => boolean = () => true): Promise<string[]> {
  const out: string[] = [];
  await readTar(chunksOf(archive, chunk), async (h, body) => {
    let digest = '-';
    if (read(h)) {
      const hash = createHash('sha256');
      for await (const c of body) hash.update(c);
      digest = hash.digest('hex').slice(0, 16);
    }
    out.push(`${h.type}:${h.name}:${h.size}:${h.mode.toString(8)}:${h.linkname}:${digest}`);
  });
  return out;
}

/** The same listing through tar-stream, the parser this one replaced. */
async function listedByTarStream(archive: Buffer): Promise<string[]> {
  const out: string[] = [];
  // v7 archives (no ustar magic) are tar-stream's "unknown format"; its types do not list the option.
  const options: object = { allowUnknownFormat: true };
  const extract = tar.extract(options as Parameters<typeof tar.extract>[0]);
  const fed = pipeline(Readable.from(chunksOf(archive, 65_536)), extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const hash = createHash('sha256');
    for await (const c of entry) hash.update(c as Buffer);
    const h = entry.header;
    const size = h.type === 'directory' ? 0 : (h.size ?? 0);
    out.push(`${h.type}:${h.name}:${size}:${(h.mode ?? 0).toString(8)}:${h.linkname ?? ''}:${hash.digest('hex').slice(0, 16)}`);
  }
  await fed;
  return out;
}

/** A directory tree with what real layers hold: long paths, links, an empty file, a big one. */
function sampleTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'wharf-tar-'));
  const deep = join(root, 'usr', 'share', 'a-very-long-directory-name-for-ustar-prefixes'.repeat(2), 'another-rather-long-name');
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, `${'long-file-name-'.repeat(8)}.txt`), 'deep\n');
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc', 'os-release'), 'ID=debian\nVERSION_ID="12"\n');
  writeFileSync(join(root, 'etc', 'empty'), '');
  writeFileSync(join(root, 'etc', 'exact-block'), Buffer.alloc(512, 1));
  writeFileSync(join(root, 'big'), randomBytes(123_457));
  symlinkSync('../usr/lib/os-release', join(root, 'etc', 'os-release-link'));
  symlinkSync(`../${'x'.repeat(150)}`, join(root, 'usr', 'long-link'));
  linkSync(join(root, 'etc', 'os-release'), join(root, 'etc', 'zz-hard'));
  writeFileSync(join(root, 'etc', 'ünïcödé'), 'utf-8 name\n');
  return root;
}

test('GNU, pax and ustar archives from GNU tar read as tar-stream read them, in any chunking', async () => {
  const root = sampleTree();
  try {
    for (const format of ['gnu', 'pax', 'ustar', 'v7'] as const) {
      // ustar and v7 cannot hold the longest names; those formats get the tree without them.
      const args = format === 'ustar' || format === 'v7' ? ['etc', 'big'] : ['etc', 'big', 'usr'];
      const archive = execFileSync('tar', ['-c', `--format=${format}`, '--sort=name', '-C', root, ...args], { maxBuffer: 64 << 20 });
      const ours = await listed(archive);
      assert.deepEqual(ours, await listedByTarStream(archive), format);
      assert.ok(ours.some((l) => l.startsWith('file:etc/os-release:')), format);
      assert.ok(ours.some((l) => l.startsWith('link:etc/zz-hard:0:') && l.includes(':etc/os-release:')), format);
      if (format === 'gnu' || format === 'pax') {
        assert.ok(ours.some((l) => l.includes(`${'long-file-name-'.repeat(8)}.txt:5:`)), format);
        assert.ok(ours.some((l) => l.startsWith('symlink:usr/long-link:0:') && l.includes(`../${'x'.repeat(150)}`)), format);
      }
      for (const chunk of [7, 511, 512, 513, 100_000]) assert.deepEqual(await listed(archive, chunk), ours, `${format}, chunks of ${chunk}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a ustar name split into prefix and name is joined', async () => {
  const name = `${'d'.repeat(120)}/file`;
  const archive = await tarOf([{ path: name, content: 'x' }]);
  // tar-stream's packer writes the 120-byte directory into the ustar prefix field.
  assert.notEqual(archive.subarray(345, 500).toString('latin1').replace(/\0+$/, ''), '');
  assert.deepEqual(await listed(archive), [`file:${name}:1:644::2d711642b726b044`]);
});

test('bodies left unread or read in part are skipped to the next entry', async () => {
  const archive = await tarOf([
    { path: 'a', content: randomBytes(70_000) },
    { path: 'b', content: 'second' },
    { path: 'c', content: randomBytes(1000) },
    { path: 'd', content: 'last' },
  ]);
  const names: string[] = [];
  let text = '';
  await readTar(chunksOf(archive, 3000), async (h, body) => {
    names.push(h.name);
    if (h.name === 'a') {
      for await (const c of body) {
        assert.ok(c.length > 0);
        break; // one chunk, then stop
      }
    }
    if (h.name === 'd') for await (const c of body) text += c.toString();
  });
  assert.deepEqual(names, ['a', 'b', 'c', 'd']);
  assert.equal(text, 'last');
});

test('archives back to back read as one; a pax global header names nothing', async () => {
  const one = await tarOf([{ path: 'one', content: '1' }]);
  const two = await tarOf([{ path: 'two', content: '2' }]);
  const global = paxBlock('g', 'comment', 'made by git archive');
  const got = await listed(Buffer.concat([global, one, two]));
  assert.deepEqual(got.map((l) => l.split(':').slice(0, 3).join(':')), ['file:one:1', 'file:two:1']);
});

test('a base-256 size and a pax size are honoured', async () => {
  const body = Buffer.from('hello, world');
  const header = rawHeader('big-size', '0', 0);
  header.fill(0, 124, 136);
  header[124] = 0x80;
  header[135] = body.length;
  const archive = Buffer.concat([fixChecksum(header), padded(body), Buffer.alloc(1024)]);
  assert.deepEqual(await listed(archive), [`file:big-size:12:644::${sha(body)}`]);
  const paxSized = Buffer.concat([paxBlock('x', 'size', String(body.length)), fixChecksum(rawHeader('pax-size', '0', 0)), padded(body), Buffer.alloc(1024)]);
  assert.deepEqual(await listed(paxSized), [`file:pax-size:12:644::${sha(body)}`]);
});

test('malformed archives fail with a TarFormatError that says what is wrong', async () => {
  const archive = await tarOf([{ path: 'etc/os-release', content: randomBytes(5000) }, { path: 'b', content: 'b' }]);
  const broken = Buffer.from(archive);
  broken[10] = (broken[10] ?? 0) ^ 0xff;
  await assert.rejects(listed(broken), (err: unknown) => err instanceof TarFormatError && /wrong checksum/.test(err.message));
  await assert.rejects(listed(archive.subarray(0, 2000)), /^TarFormatError: the tar stream ends inside the entry "etc\/os-release"$/);
  await assert.rejects(listed(archive.subarray(0, 2000), 4096, () => false), /ends inside the entry "etc\/os-release"/);
  await assert.rejects(listed(archive.subarray(0, 300)), /ends inside a header/);
  const huge = rawHeader('././@LongLink', 'L', MAX_EXTENDED_HEADER_BYTES + 1);
  await assert.rejects(listed(Buffer.concat([fixChecksum(huge), Buffer.alloc(1024)])), /extended header of 1048577 bytes is over the 1048576-byte limit/);
  const badPax = Buffer.concat([fixChecksum(rawHeader('pax', 'x', 12)), padded(Buffer.from('99 path=x\n\n\n')), Buffer.alloc(1024)]);
  await assert.rejects(listed(badPax), /malformed pax extended header/);
  const badOctal = rawHeader('f', '0', 0);
  badOctal.write('12x4', 124, 'latin1');
  await assert.rejects(listed(Buffer.concat([fixChecksum(badOctal), Buffer.alloc(1024)])), /invalid size in a tar header/);
  await assert.rejects(listed(Buffer.from('this is not a tar archive at all'.repeat(20))), TarFormatError);
});

test("the handler's error ends the read", async () => {
  const archive = await tarOf([{ path: 'a', content: 'a' }, { path: 'b', content: 'b' }]);
  const seen: string[] = [];
  await assert.rejects(
    readTar(chunksOf(archive, 100), async (h) => {
      seen.push(h.name);
      throw new Error('visitor failed');
    }),
    /visitor failed/,
  );
  assert.deepEqual(seen, ['a']);
});

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 16);
}

function padded(body: Buffer): Buffer {
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

/** A ustar header block with a placeholder checksum. */
function rawHeader(name: string, flag: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write(flag, 156, 'latin1');
  h.write('ustar\u000000', 257, 'latin1');
  return h;
}

function fixChecksum(h: Buffer): Buffer {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** A pax header (`x` per entry, `g` global) holding one record. */
function paxBlock(flag: 'x' | 'g', key: string, value: string): Buffer {
  const tail = ` ${key}=${value}\n`;
  let length = tail.length + 1;
  while (String(length).length + tail.length !== length) length = String(length).length + tail.length;
  const record = Buffer.from(`${length}${tail}`);
  return Buffer.concat([fixChecksum(rawHeader('pax', flag, record.length)), padded(record)]);
}

test('mutated archives parse or fail with a TarFormatError: never another error, never a hang', async () => {
  const archive = await tarOf([
    { path: 'etc/', type: 'directory' },
    { path: 'etc/os-release', content: 'ID=debian\n' },
    { path: `usr/${'long-name-'.repeat(15)}`, content: randomBytes(3000) },
    { path: 'usr/bin/link', type: 'symlink', linkname: '../lib/x' },
    { path: 'b', content: 'b' },
  ]);
  // A deterministic generator, so that a failure names a case that can be run again.
  let seed = 12345;
  const next = (n: number) => {
    // xorshift32
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  let failed = 0;
  for (let round = 0; round < 1000; round++) {
    const mutated = Buffer.from(archive);
    // Half of the bytes changed are in a header's numeric fields (mode to checksum, 100-155).
    for (let k = 1 + next(4); k > 0; k--) mutated[next(2) === 0 ? next(mutated.length) : 512 * next(mutated.length >> 9) + 100 + next(56)] = next(256);
    const cut = next(3) === 0 ? mutated.subarray(0, next(mutated.length)) : mutated;
    try {
      await listed(cut, 1 + next(2000));
    } catch (err) {
      failed++;
      assert.ok(err instanceof TarFormatError, `round ${round}: ${String(err)}`);
    }
  }
  // Most mutations hit a header and are caught by its checksum; some hit bodies and parse.
  assert.ok(failed > 200 && failed < 1000, `${failed} of 1000 failed`);
});
