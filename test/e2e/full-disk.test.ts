/**
 * A full disk, end to end: `wharf serve` as a child process with its data folder AND its log file
 * on a real 40 MiB tmpfs that this test mounts. A 200 MiB push answers 503 UNAVAILABLE (no hang,
 * no crash) and gives its space back; /readyz reports the full disk, /healthz still answers and
 * reads are served; with the disk so full that no log line fits, the process keeps serving and
 * counts the lines it drops; once space is freed it is ready again and the next push succeeds,
 * without a restart (the same process throughout).
 * The same with skopeo as the client. Mounting needs root: skipped otherwise (and the skopeo test
 * without skopeo), unless WHARF_REQUIRE_E2E=1 (CI runs as root), then they fail.
 */
// run-tests: sqlite pass only (the subject is a full data folder, where the blobs are; PostgreSQL keeps its data elsewhere).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { adminAuth, adminPassword, freePort } from '../helpers/wharf.ts';
import { OciLayout, writeMultiLayerImage, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { describeRun, e2eRequired, requireSkopeo, skipWithoutSkopeo, skopeo } from '../helpers/skopeo.ts';

const isRoot = process.getuid?.() === 0;
const skip = isRoot || e2eRequired() ? false : 'mounting a tmpfs needs root (set WHARF_REQUIRE_E2E=1 to fail instead of skipping)';
const repoRoot = join(import.meta.dirname, '../..');
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Free bytes on the filesystem holding `path`. */
function freeBytes(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

/** Writes zeros to `path` until `leave` bytes are free on its filesystem (or until ENOSPC when leave is 0). */
function fill(path: string, leave: number): void {
  const fd = openSync(path, 'a');
  const chunk = Buffer.alloc(MiB);
  try {
    for (;;) {
      const room = freeBytes(path) - leave;
      if (room <= 0) return;
      try {
        writeSync(fd, chunk, 0, Math.min(chunk.length, room));
      } catch (err) {
        if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOSPC') return;
        throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** A request with a deadline: a wedged server fails the test instead of hanging it. */
async function call(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 10_000) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The bytes of a `size`-byte blob made of one repeated random MiB, and its digest, streamed. */
function bigBlob(size: number): { digest: string; chunks: () => Generator<Buffer> } {
  const unit = randomBytes(MiB);
  function* chunks(): Generator<Buffer> {
    for (let sent = 0; sent < size; sent += unit.length) yield unit.subarray(0, Math.min(unit.length, size - sent));
  }
  const h = createHash('sha256');
  for (const c of chunks()) h.update(c);
  return { digest: `sha256:${h.digest('hex')}`, chunks };
}

/**
 * A monolithic blob push (POST, then PUT with the whole body), the body streamed with
 * backpressure. Resolves with the PUT's answer as soon as it comes, even mid-body (a 503 for a
 * full disk comes early); rejects after `timeoutMs` without one.
 */
async function pushBlob(base: string, repo: string, blob: { digest: string; chunks: () => Generator<Buffer> }, size: number, timeoutMs = 60_000): Promise<{ status: number; text: string }> {
  const post = await call(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth } });
  assert.equal(post.status, 202, `POST /v2/${repo}/blobs/uploads/: ${post.text}`);
  const location = post.headers.get('location');
  assert.ok(location);
  const target = new URL(location, base);
  target.searchParams.set('digest', blob.digest);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(target, {
      method: 'PUT',
      headers: { authorization: adminAuth, 'content-type': 'application/octet-stream', 'content-length': String(size) },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer to the ${size}-byte PUT within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy(); // stop sending the rest of a body the server refused
        resolve({ status: res.statusCode ?? 0, text });
      });
    });
    req.on('error', (err) => {
      if (answered) return; // the server closed the connection after answering
      clearTimeout(timer);
      reject(err);
    });
    const it = blob.chunks();
    const pump = () => {
      for (;;) {
        if (answered || req.destroyed) return;
        const next = it.next();
        if (next.done) {
          req.end();
          return;
        }
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

/** Starts `wharf serve` with stdout and stderr appended to `logPath`; resolves once /readyz answers 200. */
async function serve(dataDir: string, logPath: string, port: number): Promise<ChildProcess> {
  const logFd = openSync(logPath, 'a');
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      WHARF_HOST: '127.0.0.1',
      WHARF_PORT: String(port),
      WHARF_DATA_DIR: dataDir,
      WHARF_ADMIN_PASSWORD: adminPassword,
      WHARF_EXTERNAL_URL: `http://127.0.0.1:${port}`,
      WHARF_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`wharf exited with ${proc.exitCode}:\n${readFileSync(logPath, 'utf8')}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ok) return proc;
    if (Date.now() > deadline) throw new Error(`wharf did not become ready:\n${readFileSync(logPath, 'utf8')}`);
    await sleep(100);
  }
}

/** A mounted 40 MiB tmpfs holding a running `wharf serve`'s data folder and log file. */
interface FullDiskWharf {
  mnt: string;
  base: string;
  logPath: string;
  proc: ChildProcess;
}

/** Mounts a 40 MiB tmpfs and starts Wharf on it; the test's `after` kills Wharf and unmounts. */
async function wharfOnTmpfs(t: { after(fn: () => Promise<void>): void }): Promise<FullDiskWharf> {
  assert.ok(isRoot, 'this test mounts a tmpfs and must run as root (WHARF_REQUIRE_E2E is set, so it may not skip)');
  const mnt = mkdtempSync('/tmp/wharf-full-disk-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', mnt]);
  let proc: ChildProcess | undefined;
  t.after(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc?.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    execFileSync('umount', [mnt]);
    rmdirSync(mnt);
  });
  const dataDir = join(mnt, 'data');
  mkdirSync(dataDir);
  const logPath = join(mnt, 'wharf.log');
  const port = await freePort();
  proc = await serve(dataDir, logPath, port);
  return { mnt, base: `http://127.0.0.1:${port}`, logPath, proc };
}

/** Polls /readyz until it answers 200 (or 20 s pass); returns the last answer. */
async function readyAgain(base: string): Promise<{ status: number; text: string }> {
  const deadline = Date.now() + 20_000;
  let r = await call(`${base}/readyz`);
  while (r.status !== 200 && Date.now() < deadline) {
    await sleep(200);
    r = await call(`${base}/readyz`);
  }
  return r;
}

const admin = { authorization: adminAuth };

test('e2e: a push that fills the disk answers 503 UNAVAILABLE, /readyz reports it, reads go on, and it recovers without a restart', { skip, timeout: 240_000 }, async (t) => {
  const { mnt, base, proc } = await wharfOnTmpfs(t);
  const pid = proc.pid;

  // Something to read back while the disk is full.
  const small = randomBytes(64 * 1024);
  const smallDigest = `sha256:${createHash('sha256').update(small).digest('hex')}`;
  const smallBlob = { digest: smallDigest, chunks: function* () { yield small; } };
  assert.equal((await pushBlob(base, 'library/app', smallBlob, small.length)).status, 201);

  // Leave 8 MiB: the 200 MiB push fills it and fails.
  const filler = join(mnt, 'filler');
  fill(filler, 8 * MiB);
  const freeBefore = freeBytes(mnt);
  const pushed = await pushBlob(base, 'library/big', bigBlob(200 * MiB), 200 * MiB);
  assert.equal(pushed.status, 503, `a push that does not fit answers 503: ${pushed.text}`);
  // The /v2 error shape: {"errors":[{"code","message","detail"}]} (status checked above).
  const [error] = (JSON.parse(pushed.text) as { errors: Array<{ code: string; message: string }> }).errors;
  assert.equal(error?.code, 'UNAVAILABLE', pushed.text);
  assert.match(error?.message ?? '', /no space left/);
  // The part of the upload that fitted was given back.
  assert.ok(freeBytes(mnt) >= freeBefore - MiB, `free space after the failed push: ${freeBytes(mnt)} (before it: ${freeBefore})`);

  // Not ready (writes fail), but alive, and reads are served.
  const ready = await call(`${base}/readyz`);
  assert.equal(ready.status, 503, ready.text);
  assert.match(ready.text, /"disk":\{"status":"full"/);
  const health = await call(`${base}/healthz`);
  assert.equal(health.status, 200, health.text);
  assert.match(health.text, /"disk":\{"status":"full"/);
  const read = await fetch(`${base}/v2/library/app/blobs/${smallDigest}`, { headers: admin, signal: AbortSignal.timeout(10_000) });
  assert.equal(read.status, 200);
  assert.ok(Buffer.from(await read.arrayBuffer()).equals(small), 'the blob pushed before the disk filled reads back intact');
  assert.equal((await call(`${base}/v2/_catalog`, { headers: admin })).status, 200);

  // Space comes back: ready again by itself, and the next push succeeds, in the same process.
  rmSync(filler);
  const again = await readyAgain(base);
  assert.equal(again.status, 200, `ready again once space was freed: ${again.text}`);
  assert.deepEqual(JSON.parse((await call(`${base}/healthz`)).text), { status: 'ok' });
  const fits = bigBlob(16 * MiB);
  const ok = await pushBlob(base, 'library/big', fits, 16 * MiB);
  assert.equal(ok.status, 201, `the next push after space was freed: ${ok.text}`);
  const head = await call(`${base}/v2/library/big/blobs/${fits.digest}`, { method: 'HEAD', headers: admin });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(16 * MiB));
  assert.equal(proc.pid, pid);
  assert.equal(proc.exitCode, null, 'no restart: the same process served throughout');
});

test('e2e: with the log file on a full disk the process keeps serving, counts the lines it drops, and logs again once space is freed', { skip, timeout: 120_000 }, async (t) => {
  const { mnt, base, logPath, proc } = await wharfOnTmpfs(t);

  // Not one more byte fits, the log file included; every request below logs two lines.
  const filler = join(mnt, 'filler');
  fill(filler, 0);
  for (let i = 0; i < 50; i++) {
    const r = await call(`${base}/v2/`, { timeoutMs: 5000 });
    assert.equal(r.status, 401, `request ${i} with the log's disk full`);
  }
  // Writes on the full data disk are 503s (or succeed in space SQLite already holds), never 500s.
  const project = await call(`${base}/api/v2.0/projects`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ project_name: 'full', metadata: { public: 'false' } }) });
  assert.ok(project.status === 201 || project.status === 503, `POST /api/v2.0/projects on a full disk: ${project.status} ${project.text}`);
  if (project.status === 503) assert.match(project.text, /"code":"SERVICE_UNAVAILABLE"/);
  const start = await call(`${base}/v2/library/big/blobs/uploads/`, { method: 'POST', headers: admin });
  if (start.status === 202) {
    const pushed = await pushBlob(base, 'library/big', bigBlob(4 * MiB), 4 * MiB, 20_000);
    assert.equal(pushed.status, 503, `a push with no space at all: ${pushed.text}`);
  } else {
    assert.equal(start.status, 503, `a push with no space at all: ${start.text}`);
    assert.match(start.text, /"code":"UNAVAILABLE"/);
  }
  const metrics = await call(`${base}/metrics`, { headers: admin });
  assert.equal(metrics.status, 200, metrics.text);
  const dropped = Number(/^wharf_log_lines_dropped_total (\d+)/m.exec(metrics.text)?.[1] ?? 'NaN');
  assert.ok(dropped > 0, `log lines dropped while the log's disk was full: ${dropped}`);
  assert.equal(proc.exitCode, null, 'the process is still running');

  rmSync(filler);
  const again = await readyAgain(base);
  assert.equal(again.status, 200, `ready again once space was freed: ${again.text}`);
  assert.equal((await call(`${base}/v2/_catalog`, { headers: { ...admin, 'x-request-id': 'after-the-full-disk' } })).status, 200);
  await sleep(300);
  assert.match(readFileSync(logPath, 'utf8'), /"request_id":"after-the-full-disk"/, 'the log is written again');
  assert.equal(proc.exitCode, null, 'no restart');
});

test('e2e: skopeo pushing a 200 MiB image to a full disk fails at once with 503; once space is freed skopeo pushes', { skip: skip || skipWithoutSkopeo(), timeout: 240_000 }, async (t) => {
  requireSkopeo();
  const { mnt, base, proc } = await wharfOnTmpfs(t);
  const layout = OciLayout.create();
  t.after(() => layout.remove());
  await writeMultiLayerImage(layout, 'big', { totalMiB: 200, layers: 1 });
  await writeSingleLayerImage(layout, 'small');
  const dest = (tag: string) => `docker://${base.replace(/^http:\/\//, '')}/library/app:${tag}`;
  const copy = (tag: string) => skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${adminPassword}`, layout.ref(tag), dest(tag)], { timeoutMs: 90_000 });

  const filler = join(mnt, 'filler');
  fill(filler, 8 * MiB);
  const refused = await copy('big');
  assert.equal(refused.timedOut, false, describeRun(refused));
  assert.notEqual(refused.code, 0, describeRun(refused));
  assert.match(refused.stderr, /503/, describeRun(refused));
  assert.equal((await call(`${base}/readyz`)).status, 503);

  rmSync(filler);
  const again = await readyAgain(base);
  assert.equal(again.status, 200, `ready again once space was freed: ${again.text}`);
  const pushed = await copy('small');
  assert.equal(pushed.code, 0, describeRun(pushed));
  const manifest = await call(`${base}/v2/library/app/manifests/small`, { method: 'HEAD', headers: { ...admin, accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(manifest.status, 200);
  assert.equal(proc.exitCode, null, 'no restart');
});
