import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileDigest } from './file-digest.ts';

const dir = mkdtempSync(join(tmpdir(), 'wharf-file-digest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `bytes` written to a file, opened for reading. */
async function fileOf(name: string, bytes: Buffer) {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return open(path, 'r');
}

test('the worker hashes an open file by position: digests and lengths, several at once, the offset left alone', async () => {
  const datas = [randomBytes(5 * 1024 * 1024 + 17), Buffer.alloc(0), randomBytes(1000)];
  const handles = await Promise.all(datas.map((d, i) => fileOf(`f${i}`, d)));
  try {
    const never = new AbortController().signal;
    const got = await Promise.all(handles.map((h, i) => fileDigest(h, 'sha256', datas[i]?.length ?? 0, never)));
    got.forEach((g, i) => assert.deepEqual(g, { hex: createHash('sha256').update(datas[i] ?? Buffer.alloc(0)).digest('hex'), bytes: datas[i]?.length }));
    assert.deepEqual(await fileDigest(handles[2] ?? handles[0]!, 'sha512', 1000, never), { hex: createHash('sha512').update(datas[2] ?? Buffer.alloc(0)).digest('hex'), bytes: 1000 });
    // Positional reads: a reader of the file's own offset still starts at 0.
    const head = Buffer.alloc(16);
    const { bytesRead } = await (handles[0] ?? handles[1]!).read(head, 0, 16, null);
    assert.equal(bytesRead, 16);
    assert.ok(head.equals(datas[0]?.subarray(0, 16) ?? Buffer.alloc(0)));
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
});

test('a file longer than the limit stops early with no digest; an unknown algorithm and a closed file are errors', async () => {
  const data = randomBytes(3 * 1024 * 1024);
  const handle = await fileOf('long', data);
  const never = new AbortController().signal;
  const long = await fileDigest(handle, 'sha256', 1024 * 1024, never);
  assert.equal(long.hex, null);
  assert.ok(long.bytes > 1024 * 1024 && long.bytes <= 2 * 1024 * 1024, `read ${long.bytes} bytes`);
  await assert.rejects(fileDigest(handle, 'nosuchhash', data.length, never), /^Error: reading the file to check its digest: .*(Digest method not supported|Invalid digest)/);
  const fd = handle.fd;
  await handle.close();
  await assert.rejects(fileDigest({ fd } as unknown as typeof handle, 'sha256', data.length, never), /^Error: reading the file to check its digest: EBADF/);
});

test('a stopped digest rejects with the reason, after the worker stopped reading', async () => {
  const data = randomBytes(64 * 1024 * 1024);
  const handle = await fileOf('big', data);
  try {
    const stop = new AbortController();
    const digesting = fileDigest(handle, 'sha256', data.length, stop.signal);
    stop.abort(new Error('the walk failed'));
    await assert.rejects(digesting, /^Error: the walk failed$/);
    // The worker answers the next request at once: it is not still reading the big file.
    const small = await fileOf('small', Buffer.from('x'));
    const t0 = Date.now();
    assert.equal((await fileDigest(small, 'sha256', 1, new AbortController().signal)).bytes, 1);
    assert.ok(Date.now() - t0 < 5000);
    await small.close();
    await assert.rejects(fileDigest(handle, 'sha256', data.length, AbortSignal.abort(new Error('already stopped'))), /^Error: already stopped$/);
  } finally {
    await handle.close();
  }
});

test('the worker starts in a node run with options a worker refuses (--expose-gc, as the benchmarks run), and idle it does not hold the process', () => {
  const path = join(dir, 'gc');
  writeFileSync(path, 'hello');
  const script = `import { open } from 'node:fs/promises';
    import { fileDigest } from ${JSON.stringify(new URL('./file-digest.ts', import.meta.url).href)};
    const h = await open(${JSON.stringify(path)}, 'r');
    console.log(JSON.stringify(await fileDigest(h, 'sha256', 5, new AbortController().signal)));
    await h.close();`;
  // An idle worker ends after 10 s; the process must not wait for that: it exits as soon as the script is done.
  const out = execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=256', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 8000 });
  assert.deepEqual(JSON.parse(out), { hex: createHash('sha256').update('hello').digest('hex'), bytes: 5 });
});
