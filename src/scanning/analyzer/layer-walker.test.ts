import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { classifyEntry, findIgzip, isBlobFile, type BlobFile, findZstd, sniffCompression, walkLayer, type Decoders, type LayerEntry, type LayerVisitor } from './layer-walker.ts';
import { readText } from './read-body.ts';
import { tarOf } from '../../../test/helpers/image-layers.ts';

const ZSTD_FIXTURE = readFileSync(new URL('../../../test/fixtures/scanning/alpine-layer.tar.zst', import.meta.url));

function chunked(bytes: Buffer, size = 4096): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return Readable.from(chunks, { objectMode: false });
}

async function entriesOf(blob: Buffer, readPaths: string[] = []): Promise<{ entries: LayerEntry[]; texts: Record<string, string>; bytes: number; compression: string }> {
  const entries: LayerEntry[] = [];
  const texts: Record<string, string> = {};
  const walked = await walkLayer(chunked(blob), async (entry, body) => {
    entries.push(entry);
    if (readPaths.includes(entry.path)) texts[entry.path] = await readText(Readable.from(body));
  });
  return { entries, texts, bytes: walked.compressedBytes, compression: walked.compression };
}

test('sniffCompression by magic bytes', () => {
  assert.equal(sniffCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  assert.equal(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  assert.equal(sniffCompression(Buffer.from('etc/')), 'none');
  assert.equal(sniffCompression(Buffer.alloc(0)), 'none');
});

test('classifyEntry: whiteouts, opaque markers, aufs metadata, links, paths normalized', () => {
  const h = (name: string, type: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' = 'file', linkname = '') => classifyEntry({ name, type, size: 3, mode: 0o755, linkname });
  assert.deepEqual(h('./usr/bin/x'), { path: 'usr/bin/x', type: 'file', size: 3, mode: 0o755 });
  assert.deepEqual(h('/etc/', 'directory'), { path: 'etc', type: 'dir', size: 0, mode: 0o755 });
  assert.deepEqual(h('etc/.wh.hosts'), { path: 'etc/hosts', type: 'whiteout', size: 0, mode: 0 });
  assert.deepEqual(h('.wh.opt'), { path: 'opt', type: 'whiteout', size: 0, mode: 0 });
  assert.deepEqual(h('./var/lib/.wh..wh..opq'), { path: 'var/lib', type: 'opaque', size: 0, mode: 0 });
  assert.equal(h('.wh..wh.plnk/123.456'), null);
  assert.equal(h('./'), null);
  assert.deepEqual(h('etc/os-release', 'symlink', '../usr/lib/os-release'), { path: 'etc/os-release', type: 'symlink', size: 0, mode: 0o755, linkname: '../usr/lib/os-release' });
  assert.deepEqual(h('bin/b', 'link', './bin/a'), { path: 'bin/b', type: 'hardlink', size: 0, mode: 0o755, linkname: 'bin/a' });
  assert.equal(h('run/fifo', 'fifo')?.type, 'other');
});

test('plain, gzip and zstd layers give the same entries; bodies left unread are skipped', async () => {
  const items = [
    { path: 'etc/', type: 'directory' as const },
    { path: 'etc/alpine-release', content: '3.20.3\n' },
    { path: 'etc/big', content: Buffer.alloc(300_000, 7) },
    { path: `opt/${'long-directory-name/'.repeat(8)}file.txt`, content: 'pax' },
  ];
  const plain = await tarOf(items);
  for (const [blob, compression] of [[plain, 'none'], [gzipSync(plain), 'gzip']] as const) {
    const got = await entriesOf(blob, ['etc/alpine-release']);
    assert.equal(got.compression, compression);
    assert.equal(got.bytes, blob.length);
    assert.deepEqual(got.entries.map((e) => `${e.type}:${e.path}:${e.size}`), [
      'dir:etc:0',
      'file:etc/alpine-release:7',
      'file:etc/big:300000',
      `file:opt/${'long-directory-name/'.repeat(8)}file.txt:3`,
    ]);
    assert.deepEqual(got.texts, { 'etc/alpine-release': '3.20.3\n' });
  }
  const zstd = await entriesOf(ZSTD_FIXTURE, ['etc/alpine-release']);
  assert.equal(zstd.compression, 'zstd');
  assert.equal(zstd.bytes, ZSTD_FIXTURE.length);
  assert.deepEqual(zstd.texts, { 'etc/alpine-release': '3.20.3\n' });
  assert.deepEqual(zstd.entries.map((e) => `${e.type}:${e.path}`), [
    'dir:etc',
    'file:etc/alpine-release',
    'file:etc/os-release',
    'dir:lib',
    'dir:lib/apk',
    'dir:lib/apk/db',
    'file:lib/apk/db/installed',
  ]);
});

test('a corrupt gzip stream, a truncated zstd stream and an abort reject', async () => {
  const gz = gzipSync(await tarOf([{ path: 'a', content: randomBytes(100_000) }]));
  const broken = Buffer.from(gz);
  broken.fill(0, 40, 200);
  await assert.rejects(entriesOf(broken));
  await assert.rejects(entriesOf(ZSTD_FIXTURE.subarray(0, ZSTD_FIXTURE.length - 20)));
  const controller = new AbortController();
  const walking = walkLayer(chunked(gz, 512), async () => {
    controller.abort();
  }, controller.signal);
  await assert.rejects(walking, { name: 'AbortError' });
});

/**
 * igzip (ISA-L, Debian's `isal`) when installed; .ci/run installs it, and with WHARF_REQUIRE_E2E=1
 * its absence fails these tests instead of skipping them.
 */
const igzip = findIgzip();
const igzipSkip = igzip === null && process.env.WHARF_REQUIRE_E2E !== '1' ? 'igzip is not installed (apt-get install isal)' : false;

/** The processes named `name` still running (children of this process). */
function programChildren(name: string): number {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-x', name], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}

/** Every entry of `layer` as `type:path:size:sha256 of its body`, walked with `decoders`; checks the compression and the bytes counted. */
async function hashedEntries(layer: Buffer, compression: string, decoders: Decoders, asFile = false): Promise<string[]> {
  const out: string[] = [];
  const walked = await walkLayer(asFile ? await layerFile(layer) : chunked(layer, 65_536), async (entry, body) => {
    const hash = createHash('sha256');
    for await (const chunk of body) hash.update(chunk);
    out.push(`${entry.type}:${entry.path}:${entry.size}:${hash.digest('hex')}`);
  }, undefined, decoders);
  assert.equal(walked.compression, compression);
  assert.equal(walked.compressedBytes, layer.length);
  return out;
}

test('igzip and zlib inflate a layer to the same entries and bytes', { skip: igzipSkip }, async () => {
  assert.ok(igzip, 'igzip is installed');
  // Two gzip members back to back (what a concatenating writer produces) and bodies of every size.
  const first = await tarOf([{ path: 'etc/', type: 'directory' }, { path: 'etc/os-release', content: 'ID=debian\n' }, { path: 'big', content: randomBytes(3_000_000) }]);
  const layer = Buffer.concat([gzipSync(first.subarray(0, 5120)), gzipSync(first.subarray(5120))]);
  const seen: Record<string, string[]> = {};
  for (const gzip of ['zlib', 'auto', igzip ?? 'igzip'] as const) seen[gzip] = await hashedEntries(layer, 'gzip', { gzip });
  assert.equal(seen.zlib?.length, 3);
  assert.deepEqual(seen.auto, seen.zlib);
  assert.deepEqual(seen[igzip ?? 'igzip'], seen.zlib);
  assert.equal(programChildren('igzip'), 0, 'every igzip has exited');
});

/**
 * What every decompressing program must do (`program` igzip or zstd, chosen by `use`): a
 * truncated `layer` fails with its message (`truncated`), one with bytes `corrupt` zeroed fails
 * too (`corrupted`), an abort kills the program, and a program that cannot run is an error.
 */
async function programFailures(program: string, layer: Buffer, use: (choice: string) => Decoders, truncated: RegExp, corrupt: [number, number], corrupted: RegExp): Promise<void> {
  const walk = (blob: Buffer, choice: string, signal?: AbortSignal, visit: LayerVisitor = async () => undefined) => walkLayer(chunked(blob, 8192), visit, signal, use(choice));
  await assert.rejects(walk(layer.subarray(0, layer.length >> 1), 'auto'), truncated);
  const broken = Buffer.from(layer);
  broken.fill(0, ...corrupt);
  await assert.rejects(walk(broken, 'auto'), corrupted);
  const controller = new AbortController();
  await assert.rejects(walk(layer, 'auto', controller.signal, async () => controller.abort()), { name: 'AbortError' });
  const deadline = Date.now() + 5000;
  while (programChildren(program) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(programChildren(program), 0, `the aborted ${program} was killed`);
  await assert.rejects(walk(layer, `/nonexistent/${program}`), new RegExp(`^Error: ${program} could not run: spawn /nonexistent/${program} ENOENT`));
}

test('igzip: body chunks a visitor keeps stay intact after the walk moved on', { skip: igzipSkip }, async () => {
  // The program's output comes in reused buffers: a body handed out must be the visitor's to keep.
  const big = randomBytes(3_000_000);
  const small = Buffer.from('ID=debian\n');
  const gz = gzipSync(await tarOf([{ path: 'big', content: big }, { path: 'etc/os-release', content: small }, { path: 'after', content: randomBytes(2_000_000) }]));
  const kept: Record<string, Buffer[]> = {};
  await walkLayer(chunked(gz, 65_536), async (entry, body) => {
    const chunks: Buffer[] = [];
    kept[entry.path] = chunks;
    for await (const chunk of body) chunks.push(chunk);
  }, undefined, { gzip: 'auto' });
  assert.ok((kept.big?.length ?? 0) > 4, 'the big body came in several chunks');
  assert.ok(Buffer.concat(kept.big ?? []).equals(big), 'the big body as read');
  assert.ok(Buffer.concat(kept['etc/os-release'] ?? []).equals(small), 'the small body as read');
});

test('igzip: a truncated layer fails with its message, an abort kills it, a missing program is an error', { skip: igzipSkip }, async () => {
  const gz = gzipSync(await tarOf([{ path: 'a', content: randomBytes(400_000) }]));
  await programFailures('igzip', gz, (gzip) => ({ gzip }), /^Error: the gzip layer is corrupt or truncated \(igzip: .+\)$/, [40, 200], /corrupt or truncated/);
});

/** The zstd program when installed; .ci/run installs it, and WHARF_REQUIRE_E2E=1 fails these tests without it. */
const zstd = findZstd();
const zstdSkip = zstd === null && process.env.WHARF_REQUIRE_E2E !== '1' ? 'zstd is not installed (apt-get install zstd)' : false;

/** `bytes` compressed by the zstd program (level 3, several frames' worth of blocks). */
function zstdCompress(bytes: Buffer): Buffer {
  return execFileSync('zstd', ['-3', '-c', '-q'], { input: bytes, maxBuffer: 64 << 20 });
}

test('the zstd program and the built-in decoder give the same entries and bytes', { skip: zstdSkip }, async () => {
  assert.ok(zstd, 'zstd is installed');
  const plain = await tarOf([{ path: 'etc/', type: 'directory' }, { path: 'etc/os-release', content: 'ID=alpine\n' }, { path: 'big', content: randomBytes(3_000_000) }, { path: 'zeros', content: Buffer.alloc(2_000_000) }]);
  // Two frames back to back, as a concatenating writer produces them.
  const layer = Buffer.concat([zstdCompress(plain.subarray(0, 5120)), zstdCompress(plain.subarray(5120))]);
  const seen: Record<string, string[]> = {};
  for (const decoder of ['builtin', 'auto', zstd ?? 'zstd'] as const) seen[decoder] = await hashedEntries(layer, 'zstd', { zstd: decoder });
  assert.equal(seen.builtin?.length, 4);
  assert.deepEqual(seen.auto, seen.builtin);
  assert.deepEqual(seen[zstd ?? 'zstd'], seen.builtin);
  assert.equal(programChildren('zstd'), 0, 'every zstd has exited');
});

test('zstd: a truncated layer fails with its message, an abort kills it, a missing program is an error', { skip: zstdSkip }, async () => {
  const layer = zstdCompress(await tarOf([{ path: 'a', content: randomBytes(400_000) }]));
  await programFailures('zstd', layer, (zstd) => ({ zstd }), /^Error: the zstd layer is corrupt or truncated \(zstd: .*premature end.*\)$/, [4, 12], /the zstd layer is corrupt or truncated/);
});

const fileDir = mkdtempSync(join(tmpdir(), 'wharf-layer-file-'));
after(() => rmSync(fileDir, { recursive: true, force: true }));
let files = 0;
/** Handles given out by {@link layerFile}, to check that the walker closed them. */
const handles: FileHandle[] = [];

/** `layer` as a file, opened as a {@link BlobFile} whose check is `check` (default: passes after reading nothing). */
async function layerFile(layer: Buffer, check: BlobFile['verify'] = async () => undefined): Promise<BlobFile> {
  const path = join(fileDir, `layer-${files++}`);
  writeFileSync(path, layer);
  const handle = await open(path, 'r');
  handles.push(handle);
  return { handle, verify: check };
}

test('a layer file walks to the same entries as its stream, through every decoder, and is closed after', async () => {
  const plain = await tarOf([{ path: 'etc/', type: 'directory' }, { path: 'etc/os-release', content: 'ID=debian\n' }, { path: 'big', content: randomBytes(3_000_000) }, { path: 'zeros', content: Buffer.alloc(1_000_000) }]);
  const gz = Buffer.concat([gzipSync(plain.subarray(0, 5120)), gzipSync(plain.subarray(5120))]);
  const cases: Array<[Buffer, string, Decoders]> = [
    [plain, 'none', {}],
    [gz, 'gzip', { gzip: 'zlib' }],
    [zstdCompress(plain), 'zstd', { zstd: 'builtin' }],
  ];
  if (igzip !== null) cases.push([gz, 'gzip', { gzip: igzip }]);
  if (zstd !== null) cases.push([zstdCompress(plain), 'zstd', { zstd }]);
  for (const [layer, compression, decoders] of cases) {
    const fromFile = await hashedEntries(layer, compression, decoders, true);
    assert.equal(fromFile.length, 4, `${compression} ${JSON.stringify(decoders)}`);
    assert.deepEqual(fromFile, await hashedEntries(layer, compression, decoders), `${compression} ${JSON.stringify(decoders)}`);
  }
  assert.ok(handles.length >= 3 && handles.every((h) => h.fd === -1), 'the walker closed every file');
  assert.equal(programChildren('igzip') + programChildren('zstd'), 0, 'every program has exited');
  assert.equal(isBlobFile(chunked(gz)), false);
});

test('a layer file whose check fails fails the walk with the check\u2019s error and stops the decoding', async () => {
  const layer = gzipSync(await tarOf([{ path: 'a', content: randomBytes(4_000_000) }, { path: 'b', content: randomBytes(4_000_000) }]), { level: 1 });
  for (const gzip of ['zlib', ...(igzip === null ? [] : [igzip])]) {
    // The check fails while the walk is still in its first body.
    let entered!: () => void;
    const inBody = new Promise<void>((resolve) => (entered = resolve));
    const failing = await layerFile(layer, async () => {
      await inBody;
      throw new Error('blob sha256:x does not match its digest (got sha256:y)');
    });
    await assert.rejects(
      walkLayer(failing, async (_entry, body) => {
        for await (const chunk of body) {
          assert.ok(chunk.length > 0);
          entered();
          await new Promise((r) => setTimeout(r, 5));
        }
      }, undefined, { gzip }),
      /^Error: blob sha256:x does not match its digest \(got sha256:y\)$/,
      gzip,
    );
    assert.equal(failing.handle.fd, -1, 'closed');
    // A corrupt file whose check is slower than the walk: the walk waits for it, and its
    // error (the cause) is the one reported; with a check that passes, the walk's own.
    const broken = Buffer.from(layer);
    broken.fill(0, 40, 400);
    const slowly = (outcome: Error | null): BlobFile['verify'] => async () => {
      await new Promise((r) => setTimeout(r, 300));
      if (outcome) throw outcome;
    };
    const corrupt = await layerFile(broken, slowly(new Error('blob sha256:x does not match its digest (got sha256:z)')));
    await assert.rejects(walkLayer(corrupt, async () => undefined, undefined, { gzip }), /^Error: blob sha256:x does not match its digest \(got sha256:z\)$/, gzip);
    assert.equal(corrupt.handle.fd, -1, 'closed');
    await assert.rejects(walkLayer(await layerFile(broken, slowly(null)), async () => undefined, undefined, { gzip }), /corrupt|invalid|incorrect/i, gzip);
  }
  const deadline = Date.now() + 5000;
  while (programChildren('igzip') > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(programChildren('igzip'), 0, 'every igzip was killed or has exited');
});

test('a layer file: an abort stops the walk, the check and the program', async () => {
  const layer = gzipSync(await tarOf([{ path: 'a', content: randomBytes(2_000_000) }, { path: 'b', content: randomBytes(2_000_000) }]), { level: 1 });
  for (const gzip of ['zlib', ...(igzip === null ? [] : [igzip])]) {
    const controller = new AbortController();
    let checkStopped = false;
    const file = await layerFile(layer, (signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(void (checkStopped = true)))));
    await assert.rejects(walkLayer(file, async () => controller.abort(), controller.signal, { gzip }), { name: 'AbortError' });
    assert.ok(checkStopped, `${gzip}: the check was stopped`);
    assert.equal(file.handle.fd, -1, 'closed');
  }
  // Aborted before it starts: nothing is read, the file is closed.
  const early = await layerFile(layer, (signal) => (signal.aborted ? Promise.reject(signal.reason) : Promise.resolve()));
  let visited = 0;
  await assert.rejects(walkLayer(early, async () => void visited++, AbortSignal.abort(), { gzip: igzip ?? 'zlib' }), { name: 'AbortError' });
  assert.equal(visited, 0);
  assert.equal(early.handle.fd, -1, 'closed');
  const deadline = Date.now() + 5000;
  while (programChildren('igzip') > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(programChildren('igzip'), 0, 'the aborted igzip was killed');
});
