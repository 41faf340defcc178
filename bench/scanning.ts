/**
 * Scanning benchmark (issue 11): the built-in scanner's SBOM and vulnerability scan, measured the
 * way the scanner runs it (src/scanning/builtin/scanner.ts): pull the manifest and config with its
 * RegistryClient, stream the layers through `analyzeImage` (digest-verified), `VulnDb.match`, then
 * both SBOM documents (CycloneDX 1.6 and SPDX 2.3, serialised).
 *
 * Images, built from this machine's real files (no network):
 * - A: the 200 MiB three-layer image (bench/registry.ts pushes one of that size), but of real
 *   files, so that inflating and tar parsing cost what they cost on a real image: layer 1 the
 *   machine's /etc/os-release, /etc/debian_version, /var/lib/dpkg/status and /usr/lib, /usr/bin;
 *   layer 2 /usr/lib/python3 (with its dist-info) and /usr/share; layer 3 the checkout's
 *   node_modules and more of /usr; each layer cut at a third of 200 MiB of gzip (level 6) output.
 *   Also the same three tar streams as zstd (level 3), when the zstd CLI exists.
 * - A': the content bench/registry.ts pushes (one file of random bytes per layer, gzip level 1, so
 *   inflating is a copy of stored blocks) with the OS files in its first layer: the analyzer's own
 *   ceiling, where decompression costs next to nothing.
 * - B: package metadata only, at least 300 real packages: the dpkg status (~790 packages),
 *   os-release, every package.json of node_modules, the Python dist-info/egg-info folders.
 * - W: a small image (20 dpkg packages, one npm, one Python package) that warms each scanner
 *   process up before its measured scan.
 *
 * The vulnerability database: >= 100,000 synthetic OSV records, deterministic: for each source
 * package, npm and PyPI package found in A and B, a few advisories whose ranges put the installed
 * version before, inside and outside the fix (like a real feed: most advisories are fixed below the
 * installed version), and fake packages of Debian:12, npm, PyPI and Go up to the count. Imported
 * through `VulnDb.importRecords` into a fresh SQLite file (and PostgreSQL when WHARF_BENCH_PG_URL
 * names an empty database); the import time is reported.
 *
 * Each scan runs in a fresh child process (`--child`), after a warm-up scan of W: idle RSS is read
 * after a GC, the peak is /proc/self/status VmHWM after resetting it (`clear_refs` 5) right before
 * the scan; a 10 ms sampler of the RSS is kept as a cross-check. Each measure is the median of
 * `runs` children. Three sources: `http` (the scanner's RegistryClient against a local read-only
 * registry serving the layout's blobs over HTTP, as `wharf scanner` pulls from a registry),
 * `local` (the RegistryClient's in-process pull, as the built-in scanner of `wharf serve` reads
 * its own filesystem store: each layer handed to the decoder as an open file, its digest checked
 * by a read beside the walk) and `file` (the analyzer over the blob files as streams, no digest
 * check) to separate the pull from the analysis.
 *
 * End to end (when skopeo is installed): the images pushed to a real `wharf serve` (tsx over src/,
 * its database the benchmark's SQLite file) and scanned through its built-in scanner's adapter API
 * (`POST /scanner/api/v1/scan`, reports polled every 20 ms; the server's VmHWM above its idle RSS;
 * its layer throughput from its own `scanner: scan finished` log line),
 * then through Harbor's API (`POST …/artifacts/{ref}/scan` until `scan_status` is Success).
 *
 * The peer: Trivy is not installable here; the floor is the raw tools over the same layers,
 * one after the other: `gzip -dc | tar -t` (and `zstd -dc | tar -t`); the scanner reads up to
 * min(layers, cores, 4) layers at once, so on several cores it can pass a serial floor,
 * decompression alone, and node:zlib's gunzip alone.
 *
 * Targets (issue 11): layer throughput >= 150 MB/s of compressed data on 2 cores; matching
 * <= 1 s per image against >= 100,000 advisories; peak RSS while scanning <= 100 MiB above idle.
 *
 *   npm run bench:scanning               # about 6 minutes (8 with WHARF_BENCH_PG_URL)
 *   npm run bench:scanning -- --quick    # 30 MiB image, 20,000 advisories, one run
 *   npm run bench:scanning -- --keep     # and keep the work directory (its path is logged)
 *
 * Prints a table and writes bench/results/scanning-<timestamp>.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { git } from './git.ts';
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, createReadStream, createWriteStream, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip, createGzip } from 'node:zlib';
import { openDatabase } from '../src/db/index.ts';
import { analyzeImage, findIgzip, type ImageSource, type Inventory } from '../src/scanning/analyzer/index.ts';
import { RegistryClient, type LocalRegistry } from '../src/scanning/builtin/index.ts';
import { cycloneDxDocument } from '../src/scanning/sbom/cyclonedx.ts';
import { spdxDocument } from '../src/scanning/sbom/index.ts';
import { VulnDb, osvKeyOf, osEcosystem, type OsvKey } from '../src/scanning/vulndb/index.ts';
import { CYCLONEDX_JSON, OCI_MANIFEST, SBOM_REPORT_MIME, SCAN_REQUEST_MIME_1_1, SCAN_RESPONSE_MIME, SPDX_JSON, VULN_REPORT_MIME_1_1, type ScanRequest } from '../src/scanning/adapter/index.ts';
import { readChunkBytes } from '../src/storage/fs-blob-store.ts';
import { OciLayout, mediaTypes, type Descriptor } from '../test/helpers/oci-layout.ts';
import { adminCreds, skopeoAvailable, skopeoOk } from '../test/helpers/skopeo.ts';
import { adminAuth, spawnWharf, tempDataDir, type SpawnedWharf } from '../test/helpers/wharf.ts';
import { tarHeader, tarStream, type TarEntry } from '../test/helpers/tar.ts';

const quick = process.argv.includes('--quick');
/** Keeps the work directory (the images' OCI layout, the SQLite database) for profiling the analyzer over it. */
const keep = process.argv.includes('--keep');
const settings = quick ? { imageMiB: 30, layers: 3, advisories: 20_000, runs: 1 } : { imageMiB: 200, layers: 3, advisories: 110_000, runs: 3 };
const targets = { layerThroughputMBps: 150, matchMs: 1000, peakRssAboveIdleMiB: 100, advisories: 100_000, packages: 300 };

const zstdMediaType = 'application/vnd.oci.image.layer.v1.tar+zstd';
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const MB = 1e6;
const MiB = 1048576;

function log(msg: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

// ---------------------------------------------------------------------------------------------
// Images

/** A file of this machine to put into a layer at `name`. */
interface HostFile {
  name: string;
  path: string;
  size: number;
}

/** Regular, readable files under `root` (sorted, recursive, symlinks not followed), named `prefix` + their relative path. */
function* hostFiles(root: string, prefix: string, filter: (rel: string) => boolean = () => true): Generator<HostFile> {
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return;
  }
  for (const n of names) {
    const path = join(root, n);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* hostFiles(path, `${prefix}${n}/`, filter);
    else if (st.isFile() && st.size <= 64 * MiB && filter(`${prefix}${n}`)) {
      try {
        accessSync(path, constants.R_OK);
      } catch {
        continue;
      }
      yield { name: `${prefix}${n}`, path, size: st.size };
    }
  }
}

/** One host file (symlinks followed: /etc/os-release is one on Debian) at `name`. */
function hostFile(path: string, name: string): HostFile {
  return { name, path, size: statSync(path).size };
}

/** A tar entry for a host file, or null when its name does not fit a ustar header. */
function tarEntry(f: HostFile): TarEntry | null {
  const entry: TarEntry = { type: 'file', name: f.name, size: f.size, content: () => createReadStream(f.path) };
  try {
    tarHeader(entry);
    return entry;
  } catch {
    return null;
  }
}

/** Counts and hashes the bytes that pass; optionally copies them to a file descriptor. */
class Tap extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly fd: number | null = null) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.fd !== null) writeSync(this.fd, chunk);
    cb(null, chunk);
  }
  digest(): string {
    return 'sha256:' + this.hash.digest('hex');
  }
}

/** A layer written in both compressions: the descriptors and the uncompressed tar's digest and size. */
interface BuiltLayer {
  gzip: Descriptor;
  zstd: Descriptor | null;
  diffId: string;
  tarBytes: number;
  files: number;
}

/**
 * Streams `files` as a tar through gzip (level 6, the gzip default, unless `level`) into the layout, and stops
 * taking files once `maxCompressed` bytes of gzip came out (the last file is whole). When
 * `zstdLevel` is set, the same tar (kept in a temporary file) is also compressed with the zstd CLI.
 */
async function writeLayer(layout: OciLayout, files: Iterable<HostFile>, opts: { maxCompressed?: number; fill?: string; zstd: boolean; level?: number }): Promise<BuiltLayer> {
  const tmp = mkdtempSync(join(layout.dir, '.layer-'));
  const tarPath = join(tmp, 'layer.tar');
  const fd = openSync(tarPath, 'w');
  const raw = new Tap(fd);
  const gz = new Tap();
  let count = 0;
  function* entries(): Generator<TarEntry> {
    for (const f of files) {
      if (opts.maxCompressed !== undefined && gz.bytes >= opts.maxCompressed) return;
      const e = tarEntry(f);
      if (!e) continue;
      count++;
      yield e;
    }
    // Application data that does not compress (assets, archives), so a layer reaches its size when the machine's files run short.
    if (opts.fill && opts.maxCompressed !== undefined && gz.bytes < opts.maxCompressed) {
      const size = Math.max(0, opts.maxCompressed - gz.bytes);
      if (size > 0) {
        count++;
        yield { type: 'file', name: opts.fill, size, content: () => seededBytes(size, opts.fill ?? '') };
      }
    }
  }
  const gzPath = join(tmp, 'layer.tar.gz');
  try {
    await pipeline(tarStream(entries()), raw, createGzip({ level: opts.level ?? 6 }), gz, createWriteStream(gzPath));
  } finally {
    closeSync(fd);
  }
  const gzDigest = gz.digest();
  renameSync(gzPath, layout.blobPath(gzDigest));
  let zstd: Descriptor | null = null;
  if (opts.zstd) {
    const zPath = join(tmp, 'layer.tar.zst');
    execFileSync('zstd', ['-q', '-3', '-f', '-o', zPath, tarPath]);
    const zTap = new Tap();
    await pipeline(createReadStream(zPath), zTap, new Writable({ write: (_c, _e, cb) => cb() }));
    const zDigest = zTap.digest();
    renameSync(zPath, layout.blobPath(zDigest));
    zstd = { mediaType: zstdMediaType, digest: zDigest, size: zTap.bytes };
  }
  rmSync(tmp, { recursive: true, force: true });
  return { gzip: { mediaType: mediaTypes.layerGzip, digest: gzDigest, size: gz.bytes }, zstd, diffId: raw.digest(), tarBytes: raw.bytes, files: count };
}

/** Deterministic pseudo-random bytes (incompressible), from a name. */
function* seededBytes(size: number, seed: string): Generator<Buffer> {
  let block = createHash('sha256').update(seed).digest();
  for (let left = size; left > 0; ) {
    const n = Math.min(left, MiB);
    const out = Buffer.allocUnsafe(n);
    for (let o = 0; o < n; o += 32) {
      block = createHash('sha256').update(block).digest();
      block.copy(out, o, 0, Math.min(32, n - o));
    }
    left -= n;
    yield out;
  }
}

/** An image of the benchmark: its manifest and what it is made of. */
interface BenchImage {
  key: string;
  label: string;
  repository: string;
  manifest: Descriptor;
  layers: Descriptor[];
  diffIds: string[];
  compressedBytes: number;
  uncompressedBytes: number;
  files: number;
}

/** Writes a config and a manifest over `layers`; `nonce` makes distinct manifests of the same layers. */
function writeManifest(layout: OciLayout, layers: Array<{ desc: Descriptor; diffId: string }>, nonce: string): Descriptor {
  const config = layout.putJson(mediaTypes.config, {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Labels: { 'org.wharf.bench': nonce } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created_by: `wharf bench layer ${i}` })),
  }).descriptor;
  const { descriptor } = layout.putJson(mediaTypes.manifest, { schemaVersion: 2, mediaType: mediaTypes.manifest, config, layers: layers.map((l) => l.desc) });
  layout.tag(nonce, descriptor);
  return descriptor;
}

const nodeModules = join(import.meta.dirname, '..', 'node_modules');
const dpkgStatus = '/var/lib/dpkg/status';
const osFiles = (): HostFile[] => [hostFile('/etc/os-release', 'etc/os-release'), hostFile('/etc/debian_version', 'etc/debian_version'), hostFile(dpkgStatus, 'var/lib/dpkg/status')];

function* chain<T>(...parts: Array<Iterable<T>>): Generator<T> {
  for (const p of parts) yield* p;
}

/** Builds A (gzip and zstd), B and W into `layout`. */
async function buildImages(layout: OciLayout): Promise<{ images: BenchImage[]; warm: BenchImage; buildSeconds: number }> {
  const t = performance.now();
  const zstd = hasZstd();
  const per = Math.floor((settings.imageMiB * MiB) / settings.layers);
  // A: three layers built at once (gzip runs on the libuv pool; the machine has 2 cores).
  const aLayers = await Promise.all([
    writeLayer(layout, chain(osFiles(), hostFiles('/usr/lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu/'), hostFiles('/usr/bin', 'usr/bin/')), { maxCompressed: per, fill: 'opt/base/data.bin', zstd }),
    writeLayer(layout, chain(hostFiles('/usr/lib/python3', 'usr/lib/python3/'), hostFiles('/usr/share', 'usr/share/')), { maxCompressed: per, fill: 'opt/runtime/data.bin', zstd }),
    writeLayer(
      layout,
      chain(hostFiles(nodeModules, 'usr/src/app/node_modules/'), hostFiles('/usr/lib/postgresql', 'usr/lib/postgresql/'), hostFiles('/usr/libexec', 'usr/libexec/'), hostFiles('/usr/include', 'usr/include/')),
      { maxCompressed: per, fill: 'usr/src/app/assets/bundle.bin', zstd },
    ),
  ]);
  const images: BenchImage[] = [];
  const describe = (key: string, label: string, layers: BuiltLayer[], which: 'gzip' | 'zstd'): BenchImage => {
    const descs = layers.map((l) => ({ desc: which === 'gzip' ? l.gzip : (l.zstd ?? l.gzip), diffId: l.diffId }));
    const manifest = writeManifest(layout, descs, key);
    return {
      key,
      label,
      repository: `bench/${key}`,
      manifest,
      layers: descs.map((d) => d.desc),
      diffIds: descs.map((d) => d.diffId),
      compressedBytes: descs.reduce((n, d) => n + d.desc.size, 0),
      uncompressedBytes: layers.reduce((n, l) => n + l.tarBytes, 0),
      files: layers.reduce((n, l) => n + l.files, 0),
    };
  };
  images.push(describe('a-gzip', `A: ${settings.imageMiB} MiB, 3 layers, gzip`, aLayers, 'gzip'));
  if (zstd) images.push(describe('a-zstd', `A: ${settings.imageMiB} MiB tars, 3 layers, zstd`, aLayers, 'zstd'));
  // A': the content bench/registry.ts pushes (random bytes, gzip level 1: stored blocks), with the OS files in its first layer.
  const rLayers = await Promise.all(
    [0, 1, 2].map((i) => writeLayer(layout, i === 0 ? osFiles() : [], { maxCompressed: per, fill: `data${i}/random.bin`, zstd: false, level: 1 })),
  );
  images.push(describe('a-random', `A': ${settings.imageMiB} MiB, 3 layers, random bytes (bench/registry.ts content)`, rLayers, 'gzip'));
  const isPkgJson = (rel: string) => rel.endsWith('/package.json') || rel.endsWith('/.package-lock.json');
  const isPyMeta = (rel: string) => /\.(dist|egg)-info\//.test(rel);
  const bLayers = [
    await writeLayer(layout, osFiles(), { zstd: false }),
    await writeLayer(layout, hostFiles(nodeModules, 'usr/src/app/node_modules/', isPkgJson), { zstd: false }),
    await writeLayer(layout, hostFiles('/usr/lib/python3/dist-packages', 'usr/lib/python3/dist-packages/', isPyMeta), { zstd: false }),
  ];
  images.push(describe('b-packages', 'B: >= 300 real packages, 3 layers, gzip', bLayers, 'gzip'));
  // W: the first 20 packages of the dpkg status, one npm and one Python package.
  const status = readFileSync(dpkgStatus, 'utf8').split(/\n\n/).slice(0, 20).join('\n\n') + '\n';
  const wTmp = mkdtempSync(join(tmpdir(), 'wharf-bench-warm-'));
  writeFileSync(join(wTmp, 'status'), status);
  const pyInfo = [...hostFiles('/usr/lib/python3/dist-packages', 'usr/lib/python3/dist-packages/', isPyMeta)];
  const firstPy = pyInfo[0]?.name.replace(/\/[^/]*$/, '/');
  const wLayers = [
    await writeLayer(
      layout,
      [
        hostFile('/etc/os-release', 'etc/os-release'),
        hostFile(join(wTmp, 'status'), 'var/lib/dpkg/status'),
        hostFile(join(nodeModules, 'semver', 'package.json'), 'app/node_modules/semver/package.json'),
        ...pyInfo.filter((f) => firstPy !== undefined && f.name.startsWith(firstPy)),
      ],
      { zstd: false },
    ),
  ];
  rmSync(wTmp, { recursive: true, force: true });
  const warm = describe('warm', 'W: warm-up', wLayers, 'gzip');
  return { images, warm, buildSeconds: round((performance.now() - t) / 1000) };
}

function hasZstd(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A read-only registry over the layout (GET/HEAD of /v2/, manifests and blobs by digest): what the
 * scanner's RegistryClient pulls from, over real HTTP on 127.0.0.1, without a registry's own costs.
 */
async function startBlobServer(layout: OciLayout): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/v2/' || path === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/(sha256:[0-9a-f]{64})$/.exec(path);
    const digest = m?.[3];
    let size = -1;
    if (digest) {
      try {
        size = statSync(layout.blobPath(digest)).size;
      } catch {
        size = -1;
      }
    }
    if (!m || !digest || size < 0) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
      return;
    }
    res.writeHead(200, {
      'content-length': String(size),
      'content-type': m[2] === 'manifests' ? mediaTypes.manifest : 'application/octet-stream',
      'docker-content-digest': digest,
    });
    if (req.method === 'HEAD') res.end();
    // Read as Wharf's filesystem store reads a blob it serves (1 MiB at a time, not Node's 64 KiB).
    else createReadStream(layout.blobPath(digest), { highWaterMark: readChunkBytes }).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${addr.port}`, server };
}

/** The registry URL the `local` source's scans name: {@link layoutLocal} serves it. */
const LOCAL_URL = 'http://wharf.local';

/**
 * The layout as `wharf serve` reads its own filesystem store in-process (src/api/local-registry.ts
 * over FsBlobStore): the RegistryClient's in-process pull, layers handed over as open files and
 * checked beside the walk. Only the credential and permission checks (database reads) are left out.
 */
function layoutLocal(layoutDir: string): LocalRegistry {
  const path = (d: string) => join(layoutDir, 'blobs', 'sha256', d.replace(/^sha256:/, ''));
  return {
    serves: (url) => url === LOCAL_URL,
    manifest: async (_auth, _repo, digest) => ({ body: readFileSync(path(digest)), contentType: OCI_MANIFEST }),
    blob: async (_auth, _repo, digest) => createReadStream(path(digest), { highWaterMark: readChunkBytes }),
    layer: async (_auth, _repo, digest) => open(path(digest), 'r'),
  };
}

/** The analyzer over the layout's blob files (no HTTP). */
function fileSource(layoutDir: string, layers: Descriptor[]): ImageSource {
  const blob = (d: string) => join(layoutDir, 'blobs', 'sha256', d.replace(/^sha256:/, ''));
  return { layers: layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })), openBlob: async (d) => createReadStream(blob(d)) };
}

// ---------------------------------------------------------------------------------------------
// The vulnerability database

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const vectors = [
  'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
  'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N',
  'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N',
  'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H',
  'CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N',
  'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H',
];
const words = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
const cwes = ['CWE-79', 'CWE-787', 'CWE-20', 'CWE-125', 'CWE-416', 'CWE-400', 'CWE-22', 'CWE-190'];
const details =
  'A flaw was found in the way the library parses length fields of untrusted input. A remote attacker could use a crafted message to make it read past the end of a buffer, ' +
  'causing a crash or the disclosure of memory contents. Versions before the fixed release are affected; distributions that backported the fix name it in their own version.';

/** dpkg: a version below `v` (an older upstream), or null. */
function debLower(v: string, k: number): string {
  const epoch = /^(\d+):/.exec(v)?.[0] ?? '';
  const major = Number(/^(\d+)/.exec(v.slice(epoch.length))?.[1] ?? '0');
  return major > 0 ? `${epoch}${major - 1}.${k}-1` : `${epoch}0~${k}`;
}

/** semver / PEP 440: [below, above] `v`, when `v` starts with numbers. */
function numericAround(v: string, k: number): [string | null, string] {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v);
  const [a, b, c] = [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0), Number(m?.[3] ?? 0)];
  const below = a > 0 ? `${a - 1}.${k}.0` : b > 0 ? `0.${b - 1}.${k}` : c > 0 ? `0.0.${c - 1}` : null;
  return [below, `${a}.${b}.${c + 1}`];
}

/** One synthetic OSV record for `key`; `affects` picks the outcome for the installed version. */
function osvRecord(seq: number, key: OsvKey, rnd: () => number): Record<string, unknown> {
  const year = 2014 + (seq % 12);
  const cve = `CVE-${year}-${String(20000 + seq).padStart(5, '0')}`;
  const r = rnd();
  const k = seq % 10;
  const vector = vectors[seq % vectors.length] ?? vectors[0];
  const base = {
    schema_version: '1.6.0',
    modified: `2025-${String(1 + (seq % 12)).padStart(2, '0')}-15T10:00:00Z`,
    published: `${year}-06-01T00:00:00Z`,
    summary: `${key.name}: out-of-bounds read when parsing crafted input (${cve})`,
    details,
    references: [
      { type: 'ADVISORY', url: `https://nvd.nist.gov/vuln/detail/${cve}` },
      { type: 'WEB', url: `https://security-tracker.example.org/tracker/${cve}` },
    ],
  };
  if (key.ecosystem.startsWith('Debian:')) {
    // Most advisories are fixed below the installed version (70%), some above it (10%), the rest open.
    const events = r < 0.7 ? [{ introduced: '0' }, { fixed: debLower(key.version, k) }] : r < 0.8 ? [{ introduced: '0' }, { fixed: `${key.version}+deb12u${k + 1}` }] : [{ introduced: '0' }];
    return {
      ...base,
      id: `DEBIAN-${cve}`,
      upstream: [cve],
      affected: ['Debian:11', 'Debian:12', 'Debian:13'].map((ecosystem) => ({
        package: { ecosystem, name: key.name, purl: `pkg:deb/debian/${key.name}?arch=source` },
        ranges: [{ type: 'ECOSYSTEM', events: ecosystem === key.ecosystem ? events : [{ introduced: '0' }, { fixed: `1.${k}-1` }] }],
      })),
      severity: [{ type: 'CVSS_V3', score: vector }],
    };
  }
  const [below, above] = numericAround(key.version, k);
  const events = r < 0.7 && below ? [{ introduced: '0' }, { fixed: below }] : r < 0.9 ? [{ introduced: '0' }, { fixed: above }] : [{ introduced: '0' }, { last_affected: key.version.replace(/^v/, '') }];
  const ghsa = `GHSA-${seq.toString(36).padStart(4, '0').slice(-4)}-${(seq * 7919).toString(36).padStart(4, '0').slice(-4)}-${(seq * 104729).toString(36).padStart(4, '0').slice(-4)}`;
  const id = key.ecosystem === 'PyPI' ? `PYSEC-${year}-${seq}` : key.ecosystem === 'Go' ? `GO-${year}-${seq}` : ghsa;
  return {
    ...base,
    id,
    aliases: [cve],
    affected: [{ package: { ecosystem: key.ecosystem, name: key.name }, ranges: [{ type: key.ecosystem === 'PyPI' ? 'ECOSYSTEM' : 'SEMVER', events }] }],
    severity: [{ type: 'CVSS_V3', score: vector }],
    database_specific: { severity: words[seq % words.length], cwe_ids: [cwes[seq % cwes.length]] },
  };
}

/** The OSV keys of an inventory's packages (distinct). */
function keysOf(inv: Inventory): OsvKey[] {
  const osEco = osEcosystem(inv.os);
  const out = new Map<string, OsvKey>();
  for (const p of inv.packages) {
    const k = osvKeyOf(p, inv.os, osEco);
    if (k) out.set(`${k.ecosystem}\0${k.name}\0${k.version}`, k);
  }
  return [...out.values()];
}

/** The records: advisories for the images' real packages, then fake packages up to `total`. */
function* osvRecords(real: OsvKey[], total: number): Generator<Record<string, unknown>> {
  const rnd = prng(11);
  let seq = 0;
  for (const key of real) {
    // Source packages of a distribution have ~1-40 advisories each; language packages fewer.
    const n = key.ecosystem.startsWith('Debian:') ? 1 + Math.floor(rnd() * 40) : Math.floor(rnd() * 5);
    for (let i = 0; i < n && seq < total; i++) yield osvRecord(seq++, key, rnd);
  }
  while (seq < total) {
    const kind = seq % 10;
    const n = seq % 7000;
    const key: OsvKey =
      kind < 4
        ? { ecosystem: 'Debian:12', name: `bench-src-${n}`, version: `1.${n % 30}-1` }
        : kind < 7
          ? { ecosystem: 'npm', name: `bench-npm-${n}`, version: `1.${n % 30}.0` }
          : kind < 9
            ? { ecosystem: 'PyPI', name: `bench-py-${n}`, version: `1.${n % 30}.0` }
            : { ecosystem: 'Go', name: `example.com/bench/mod${n}`, version: `1.${n % 30}.0` };
    yield osvRecord(seq++, key, rnd);
  }
}

interface ImportFigures {
  database: 'sqlite' | 'postgres';
  records: number;
  advisories: number;
  affectedRows: number;
  seconds: number;
  recordsPerSecond: number;
  fileMiB?: number;
}

async function buildDatabase(target: string, kind: 'sqlite' | 'postgres', real: OsvKey[]): Promise<ImportFigures> {
  const db = await openDatabase(target);
  try {
    const vulndb = new VulnDb({ db: db.kysely });
    const t = performance.now();
    const r = await vulndb.importRecords(osvRecords(real, settings.advisories), { source: 'wharf-bench-synthetic' });
    const seconds = (performance.now() - t) / 1000;
    if (r.invalid > 0) throw new Error(`${r.invalid} synthetic records were refused`);
    const meta = await vulndb.meta();
    return {
      database: kind,
      records: r.records,
      advisories: meta.advisories,
      affectedRows: r.affected,
      seconds: round(seconds),
      recordsPerSecond: Math.round(r.records / seconds),
      ...(kind === 'sqlite' ? { fileMiB: round(statSync(target).size / MiB) } : {}),
    };
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// One measured scan (the child process)

interface ChildJob {
  database: string;
  registryUrl: string;
  layoutDir: string;
  /** `http`: pulled from the blob server; `local`: as `wharf serve` reads its own filesystem store in-process (the layer files handed to the decoders); `file`: the blob files as streams, no digest check. */
  source: 'http' | 'local' | 'file';
  /** The decoders: `auto` (igzip and the zstd program when installed, as `wharf serve` does) or `builtin` (node:zlib, fzstd). */
  decoders: 'auto' | 'builtin';
  image: { repository: string; digest: string; layers: Descriptor[] };
  warm: { repository: string; digest: string; layers: Descriptor[] };
}

interface ScanFigures {
  pullMs: number;
  analyzeMs: number;
  /** CPU time of the whole process (main thread and the libuv pool's zlib work) and of its igzip children during the analyze step. */
  analyzeCpuMs: number;
  matchMs: number;
  sbomMs: number;
  totalMs: number;
  packages: number;
  findings: number;
  compressedBytes: number;
  cycloneDxBytes: number;
  spdxBytes: number;
  warnings: number;
}

interface ChildResult extends ScanFigures {
  idleRssMiB: number;
  peakHwmMiB: number;
  peakSampledMiB: number;
  /** Heap held by one finished scan's inventory, findings and SBOM documents (after GC). */
  retainedMiB: number;
}

/** Memory of a process (or this one) from /proc/<pid>/status, in bytes. */
function memOf(pid: number | 'self'): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kib('VmRSS') * 1024, hwm: kib('VmHWM') * 1024 };
}

/** CPU time of this process's ended (waited-for) children, ms: cutime + cstime of /proc/self/stat (the igzip processes). */
function childrenCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100;
}

async function child(job: ChildJob): Promise<void> {
  const db = await openDatabase(job.database);
  const vulndb = new VulnDb({ db: db.kysely });
  const client = new RegistryClient();
  const target = { url: job.registryUrl, authorization: '', insecure: false };
  /** What a finished scan of the built-in scanner keeps in memory for its reports (scan-store.ts, the inventory cache). */
  let kept: unknown[] = [];
  const scan = async (image: ChildJob['image']): Promise<ScanFigures> => {
    const t0 = performance.now();
    const source =
      job.source === 'file'
        ? fileSource(job.layoutDir, image.layers)
        : job.source === 'local'
          ? (await client.openImage({ url: LOCAL_URL, authorization: '', insecure: false }, image.repository, image.digest, { local: layoutLocal(job.layoutDir) })).source
          : (await client.openImage(target, image.repository, image.digest)).source;
    const t1 = performance.now();
    const cpu = process.cpuUsage();
    const children0 = childrenCpuMs();
    const inventory = await analyzeImage(source, job.decoders === 'builtin' ? { gzip: 'zlib', zstd: 'builtin' } : {});
    const t2 = performance.now();
    const used = process.cpuUsage(cpu);
    const childrenUsed = childrenCpuMs() - children0;
    const findings = await vulndb.match(inventory);
    const t3 = performance.now();
    const now = new Date();
    const subject = { repository: image.repository, digest: image.digest };
    const cdxDoc = cycloneDxDocument(inventory, subject, { now, specVersion: '1.6' });
    const spdxDoc = spdxDocument(inventory, subject, { now, namespaceBase: job.registryUrl });
    const cdx = JSON.stringify(cdxDoc);
    const spdx = JSON.stringify(spdxDoc);
    kept = [inventory, findings, cdxDoc, spdxDoc];
    const t4 = performance.now();
    return {
      pullMs: t1 - t0,
      analyzeMs: t2 - t1,
      analyzeCpuMs: (used.user + used.system) / 1000 + childrenUsed,
      matchMs: t3 - t2,
      sbomMs: t4 - t3,
      totalMs: t4 - t0,
      packages: inventory.packages.length,
      findings: findings.length,
      compressedBytes: inventory.compressedBytes,
      cycloneDxBytes: cdx.length,
      spdxBytes: spdx.length,
      warnings: inventory.warnings?.length ?? 0,
    };
  };
  // Warm-up: loads every module, prepares the statements and compiles the hot paths, as a running server has.
  for (let i = 0; i < 2; i++) await scan(job.warm);
  const gc: unknown = Reflect.get(globalThis, 'gc');
  for (let i = 0; i < 3; i++) {
    if (typeof gc === 'function') gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  const idle = memOf('self').rss;
  // Resets VmHWM to the current RSS (Linux 4.0+): the peak read afterwards is this scan's.
  writeFileSync('/proc/self/clear_refs', '5');
  let sampled = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage.rss());
  }, 10);
  const figures = await scan(job.image);
  clearInterval(sampler);
  const hwm = memOf('self').hwm;
  // The heap the objects of one finished scan hold (inventory, findings, both SBOM documents) before they are dropped. The
  // built-in scanner's store keeps only their compressed report bodies (src/scanning/builtin/scan-store.ts).
  const heapAfterGc = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      if (typeof gc === 'function') gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    return process.memoryUsage().heapUsed;
  };
  const withKept = await heapAfterGc();
  kept = [];
  const retainedMiB = (withKept - (await heapAfterGc())) / MiB;
  await client.close();
  await db.close();
  const result: ChildResult = { ...figures, retainedMiB, idleRssMiB: idle / MiB, peakHwmMiB: hwm / MiB, peakSampledMiB: Math.max(sampled, memOf('self').rss) / MiB };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/** Runs one measured scan in a fresh process. */
async function runChild(job: ChildJob): Promise<ChildResult> {
  const self = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child', JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (code !== 0 || !line) throw new Error(`scan child exited with ${code}:\n${err.slice(-4000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as ChildResult; // written by child() above
}

// ---------------------------------------------------------------------------------------------
// The floor: the raw tools over the same layers

/** Runs a bash script; its wall time and its children's CPU time (user + system, from bash's `times`), in seconds. */
function timedShell(script: string, args: string[]): { seconds: number; cpuSeconds: number } {
  const t = performance.now();
  const out = execFileSync('bash', ['-c', `set -eo pipefail; ${script}; times`, 'bench', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const seconds = (performance.now() - t) / 1000;
  // `times` prints the shell's user and system time, then its children's: `0m1.234s 0m0.056s`.
  const children = out.trim().split('\n').at(-1) ?? '';
  const cpuSeconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((n, m) => n + Number(m[1]) * 60 + Number(m[2]), 0);
  return { seconds, cpuSeconds };
}

async function nodeGunzip(paths: string[]): Promise<{ seconds: number; cpuSeconds: number }> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (const p of paths) await pipeline(createReadStream(p), createGunzip(), new Writable({ write: (_c, _e, cb) => cb() }));
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - t) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

interface Floor {
  decompressAndListSeconds: number;
  decompressAndListCpuSeconds: number;
  decompressSeconds: number;
  decompressCpuSeconds: number;
  nodeGunzipSeconds?: number;
  nodeGunzipCpuSeconds?: number;
}

async function floorOf(layout: OciLayout, image: BenchImage, runs: number): Promise<Floor> {
  const paths = image.layers.map((l) => layout.blobPath(l.digest));
  const zstd = image.layers[0]?.mediaType === zstdMediaType;
  const dc = zstd ? 'zstd -dcq' : 'gzip -dc';
  const list: Array<{ seconds: number; cpuSeconds: number }> = [];
  const dec: Array<{ seconds: number; cpuSeconds: number }> = [];
  const node: Array<{ seconds: number; cpuSeconds: number }> = [];
  for (let i = 0; i < runs; i++) {
    list.push(timedShell(`for f in "$@"; do ${dc} "$f" | tar -t > /dev/null; done`, paths));
    dec.push(timedShell(`for f in "$@"; do ${dc} "$f" > /dev/null; done`, paths));
    if (!zstd) node.push(await nodeGunzip(paths));
  }
  const wall = (xs: typeof list) => round(median(xs.map((x) => x.seconds)), 3);
  const cpu = (xs: typeof list) => round(median(xs.map((x) => x.cpuSeconds)), 3);
  return {
    decompressAndListSeconds: wall(list),
    decompressAndListCpuSeconds: cpu(list),
    decompressSeconds: wall(dec),
    decompressCpuSeconds: cpu(dec),
    ...(zstd ? {} : { nodeGunzipSeconds: wall(node), nodeGunzipCpuSeconds: cpu(node) }),
  };
}

// ---------------------------------------------------------------------------------------------
// End to end: `wharf serve`'s built-in scanner over its adapter API

interface E2eRun {
  /** POST /scan to the vulnerability report read whole. */
  vulnerabilityMs: number;
  /** ... and both SBOM reports (SPDX, CycloneDX) read whole. */
  totalMs: number;
  findings: number;
  idleRssMiB: number;
  peakAboveIdleMiB: number;
  /** The server's own log of the scan (`scanner: scan finished`): the layers' compressed bytes and the ms reading and analyzing them took. */
  layerBytes: number;
  analyzeMs: number;
}

/** The `scanner: scan finished` line `w` logged for `digest` (pino JSON at info): its layer bytes and analyze ms. */
function scanLogOf(w: SpawnedWharf, digest: string): { layerBytes: number; analyzeMs: number } {
  for (const line of w.output().split('\n').reverse()) {
    if (!line.includes('scanner: scan finished') || !line.includes(digest)) continue;
    const entry: unknown = JSON.parse(line);
    const layerBytes = Number(Reflect.get(entry ?? {}, 'layer_bytes'));
    const analyzeMs = Number(Reflect.get(entry ?? {}, 'analyze_ms'));
    if (Number.isFinite(layerBytes) && Number.isFinite(analyzeMs)) return { layerBytes, analyzeMs };
  }
  throw new Error(`wharf serve logged no 'scanner: scan finished' with layer_bytes for ${digest}`);
}

/** One scan through the adapter API, polled every 20 ms (not at Refresh-After, so the time is the scan's). */
async function adapterScan(w: SpawnedWharf, repository: string, digest: string): Promise<Omit<E2eRun, 'idleRssMiB' | 'peakAboveIdleMiB' | 'layerBytes' | 'analyzeMs'>> {
  const base = `${w.url}/scanner/api/v1`;
  const body: ScanRequest = {
    registry: { url: w.url, authorization: adminAuth },
    artifact: { repository, digest, mime_type: OCI_MANIFEST },
    enabled_capabilities: [
      { type: 'vulnerability', produces_mime_types: [VULN_REPORT_MIME_1_1] },
      { type: 'sbom', produces_mime_types: [SBOM_REPORT_MIME], parameters: { sbom_media_types: [SPDX_JSON, CYCLONEDX_JSON] } },
    ],
  };
  const t0 = performance.now();
  const res = await request(`${base}/scan`, { method: 'POST', headers: { 'content-type': SCAN_REQUEST_MIME_1_1, accept: SCAN_RESPONSE_MIME }, body: JSON.stringify(body) });
  const submitted: unknown = await res.body.json();
  const id = typeof submitted === 'object' && submitted !== null && 'id' in submitted ? String(submitted.id) : '';
  if (res.statusCode !== 202 || !id) throw new Error(`POST /scan answered ${res.statusCode}: ${JSON.stringify(submitted)}`);
  const report = async (accept: string, query = ''): Promise<string> => {
    for (;;) {
      const r = await request(`${base}/scan/${encodeURIComponent(id)}/report${query}`, { headers: { accept } });
      const text = await r.body.text();
      if (r.statusCode === 200) return text;
      if (r.statusCode !== 302) throw new Error(`report (${accept}) answered ${r.statusCode}: ${text.slice(0, 500)}`);
      await sleep(20);
    }
  };
  const vuln: unknown = JSON.parse(await report(VULN_REPORT_MIME_1_1));
  const t1 = performance.now();
  await report(SBOM_REPORT_MIME, `?sbom_media_type=${encodeURIComponent(SPDX_JSON)}`);
  await report(SBOM_REPORT_MIME, `?sbom_media_type=${encodeURIComponent(CYCLONEDX_JSON)}`);
  const t2 = performance.now();
  const items = typeof vuln === 'object' && vuln !== null && 'vulnerabilities' in vuln && Array.isArray(vuln.vulnerabilities) ? vuln.vulnerabilities.length : -1;
  return { vulnerabilityMs: t1 - t0, totalMs: t2 - t0, findings: items };
}

/**
 * One scan as a Harbor user asks for it: `POST …/artifacts/{ref}/scan`, then the artifact's
 * `scan_overview` read every 50 ms until `Success`. With the defaults a user gets: the job
 * framework picks the job up, the adapter client polls the report with `Prefer: wait` (the built-in
 * scanner answers when the report is ready), else at its Refresh-After (1 s).
 * null when the server has no scan API.
 */
async function harborScan(w: SpawnedWharf, repository: string, digest: string): Promise<{ successMs: number; total: number } | null> {
  const [project, ...rest] = repository.split('/');
  const artifact = `${w.url}/api/v2.0/projects/${project}/repositories/${encodeURIComponent(encodeURIComponent(rest.join('/')))}/artifacts/${digest}`;
  const t0 = performance.now();
  const res = await request(`${artifact}/scan`, { method: 'POST', headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: JSON.stringify({ scan_type: 'vulnerability' }) });
  const text = await res.body.text();
  if (res.statusCode === 404 || res.statusCode === 405) return null;
  if (res.statusCode !== 202) throw new Error(`POST …/scan answered ${res.statusCode}: ${text.slice(0, 500)}`);
  for (;;) {
    const r = await request(`${artifact}?with_scan_overview=true`, { headers: { authorization: adminAuth } });
    const body: unknown = await r.body.json();
    const so = typeof body === 'object' && body !== null && 'scan_overview' in body ? body.scan_overview : undefined;
    const o: unknown = typeof so === 'object' && so !== null ? Reflect.get(so, VULN_REPORT_MIME_1_1) : undefined;
    const status = typeof o === 'object' && o !== null ? Reflect.get(o, 'scan_status') : undefined;
    if (status === 'Success') {
      const summary: unknown = Reflect.get(o ?? {}, 'summary');
      const total = typeof summary === 'object' && summary !== null ? Number(Reflect.get(summary, 'total')) : NaN;
      return { successMs: performance.now() - t0, total };
    }
    if (status === 'Error' || status === 'Stopped') throw new Error(`the scan of ${repository}@${digest} ended ${String(status)}`);
    if (performance.now() - t0 > 600_000) throw new Error(`the scan of ${repository}@${digest} did not finish in 10 minutes`);
    await sleep(50);
  }
}

interface E2eResult {
  image: string;
  runs: E2eRun[];
  median: { vulnerabilityMs: number; totalMs: number; vulnerabilityMBps: number; layerMBps: number; idleRssMiB: number; peakAboveIdleMiB: number };
  /** Harbor's API: POST …/scan to `scan_status` Success, ms, per run (none when the server has no scan API). */
  harbor: { runs: Array<{ successMs: number; total: number }>; medianMs: number | null };
}

/**
 * Pushes every image with skopeo to a real `wharf serve` (tsx over src/, its database the benchmark's
 * SQLite file with the advisories) and scans each `runs` times through /scanner/api/v1, each run a
 * distinct manifest over the same layers (the scanner keeps inventories by manifest digest).
 * Memory is the server process's: RSS after a warm-up scan of W, VmHWM (reset before each scan).
 * Then, per image, `runs` scans through Harbor's API (timed to Success; memory not measured).
 */
async function endToEnd(layout: OciLayout, images: BenchImage[], warm: BenchImage, database: string): Promise<E2eResult[]> {
  const dataDir = tempDataDir('wharf-bench-scan-serve-');
  // Log level info: each scan's `scanner: scan finished` line gives its layer throughput.
  const w = await spawnWharf({ dataDir, env: { WHARF_LOG_LEVEL: 'info', WHARF_DATABASE__PATH: database, WHARF_SCANNING__VULNDB__UPDATE_SCHEDULE: 'None' } });
  const pid = w.proc.pid ?? 0;
  const out: E2eResult[] = [];
  let harborApi = true;
  try {
    const push = async (im: BenchImage, tag: string): Promise<{ repository: string; digest: string }> => {
      const digest = writeManifest(layout, im.layers.map((desc, i) => ({ desc, diffId: im.diffIds[i] ?? '' })), tag).digest;
      const repository = `library/bench-${im.key}`;
      await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref(tag), `docker://${w.host}/${repository}:${tag}`], { timeoutMs: 600_000 });
      return { repository, digest };
    };
    const wImg = await push(warm, 'warm-e2e');
    await adapterScan(w, wImg.repository, wImg.digest);
    for (const im of images) {
      const runs: E2eRun[] = [];
      for (let i = 0; i < settings.runs; i++) {
        const target = await push(im, `${im.key}-e2e-${i}`);
        // A fresh warm-up scan, then a quiet second: the idle RSS is the server's between scans.
        const again = await push(warm, `warm-e2e-${im.key}-${i}`);
        await adapterScan(w, again.repository, again.digest);
        await sleep(1000);
        const idle = memOf(pid).rss;
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
        const r = await adapterScan(w, target.repository, target.digest);
        const hwm = memOf(pid).hwm;
        const scanned = scanLogOf(w, target.digest);
        runs.push({ ...r, idleRssMiB: idle / MiB, peakAboveIdleMiB: (hwm - idle) / MiB, ...scanned });
        log(`wharf serve ${im.key} ${i + 1}/${settings.runs}: vulnerability report in ${round(r.vulnerabilityMs)} ms (its log: layers analyzed in ${scanned.analyzeMs} ms), SBOMs too in ${round(r.totalMs)} ms, ${r.findings} findings, peak ${round((hwm - idle) / MiB)} MiB above idle`);
      }
      const harborRuns: Array<{ successMs: number; total: number }> = [];
      for (let i = 0; i < settings.runs && harborApi; i++) {
        const target = await push(im, `${im.key}-harbor-${i}`);
        const h = await harborScan(w, target.repository, target.digest);
        if (!h) {
          harborApi = false;
          log('wharf serve has no scan API (POST …/scan): no Harbor rows');
          break;
        }
        harborRuns.push(h);
        log(`wharf serve ${im.key} ${i + 1}/${settings.runs}: Harbor API POST /scan → Success in ${round(h.successMs)} ms, ${h.total} findings`);
      }
      const m = (f: (r: E2eRun) => number) => median(runs.map(f));
      out.push({
        image: im.key,
        runs,
        median: {
          vulnerabilityMs: round(m((r) => r.vulnerabilityMs)),
          totalMs: round(m((r) => r.totalMs)),
          vulnerabilityMBps: round(im.compressedBytes / MB / (m((r) => r.vulnerabilityMs) / 1000)),
          layerMBps: round(m((r) => r.layerBytes / MB / (r.analyzeMs / 1000))),
          idleRssMiB: round(m((r) => r.idleRssMiB)),
          peakAboveIdleMiB: round(m((r) => r.peakAboveIdleMiB)),
        },
        harbor: { runs: harborRuns, medianMs: harborRuns.length ? round(median(harborRuns.map((h) => h.successMs))) : null },
      });
    }
  } finally {
    const code = await w.stop();
    if (code !== 0) console.error(`wharf exited with ${code}:\n${w.output().slice(-4000)}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The run

interface ImageResult {
  image: string;
  label: string;
  compressedMiB: number;
  uncompressedMiB: number;
  files: number;
  layers: number;
  packages: number;
  findings: number;
  floor: Floor & { decompressAndListMBps: number; decompressMBps: number; nodeGunzipMBps?: number; decompressAndListMBperCpuS: number; decompressMBperCpuS: number; nodeGunzipMBperCpuS?: number };
  sources: Record<
    'http' | 'local' | 'file' | 'httpBuiltin',
    {
      runs: ChildResult[];
      median: { analyzeMBps: number; analyzeMBperCpuS: number; endToEndMBps: number; pullMs: number; analyzeMs: number; matchMs: number; sbomMs: number; totalMs: number; idleRssMiB: number; peakAboveIdleMiB: number; peakSampledAboveIdleMiB: number; retainedMiB: number };
    }
  >;
}

function summarize(runs: ChildResult[], bytes: number): ImageResult['sources']['http']['median'] {
  const m = (f: (r: ChildResult) => number) => median(runs.map(f));
  return {
    analyzeMBps: round(bytes / MB / (m((r) => r.analyzeMs) / 1000)),
    analyzeMBperCpuS: round(bytes / MB / (m((r) => r.analyzeCpuMs) / 1000)),
    endToEndMBps: round(bytes / MB / (m((r) => r.totalMs) / 1000)),
    pullMs: round(m((r) => r.pullMs)),
    analyzeMs: round(m((r) => r.analyzeMs)),
    matchMs: round(m((r) => r.matchMs)),
    sbomMs: round(m((r) => r.sbomMs)),
    totalMs: round(m((r) => r.totalMs)),
    idleRssMiB: round(m((r) => r.idleRssMiB)),
    peakAboveIdleMiB: round(m((r) => r.peakHwmMiB - r.idleRssMiB)),
    peakSampledAboveIdleMiB: round(m((r) => r.peakSampledMiB - r.idleRssMiB)),
    retainedMiB: round(m((r) => r.retainedMiB)),
  };
}


async function main(): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const loadAvgAtStart = loadavg();
  const work = mkdtempSync(join(tmpdir(), 'wharf-bench-scan-'));
  const layout = OciLayout.create(join(work, 'layout'));
  let server: Server | null = null;
  try {
    log(`building images: A (${settings.imageMiB} MiB in ${settings.layers} layers of real files, gzip${hasZstd() ? ' and zstd' : ''}), B (package metadata), W (warm-up)`);
    const { images, warm, buildSeconds } = await buildImages(layout);
    for (const im of images) log(`  ${im.key}: ${round(im.compressedBytes / MiB)} MiB compressed, ${round(im.uncompressedBytes / MiB)} MiB of tar, ${im.files} files`);
    const reg = await startBlobServer(layout);
    server = reg.server;

    log('analyzing A and B once for the database keys');
    const inventories = new Map<string, Inventory>();
    for (const im of images) if (im.key !== 'a-zstd') inventories.set(im.key, await analyzeImage(fileSource(layout.dir, im.layers)));
    const b = inventories.get('b-packages');
    if (!b || b.packages.length < targets.packages) throw new Error(`image B has ${b?.packages.length ?? 0} packages, fewer than ${targets.packages}`);
    if (b.os?.family !== 'debian') throw new Error(`image B: no Debian detected (${JSON.stringify(b.os)})`);
    const real = new Map<string, OsvKey>();
    for (const inv of inventories.values()) for (const k of keysOf(inv)) real.set(`${k.ecosystem}\0${k.name}\0${k.version}`, k);

    const databases: Array<{ kind: 'sqlite' | 'postgres'; target: string; import: ImportFigures }> = [];
    const sqlitePath = join(work, 'vulndb.sqlite');
    log(`importing ${settings.advisories} synthetic OSV records (advisories for ${real.size} real packages, then fake ones) into SQLite`);
    databases.push({ kind: 'sqlite', target: sqlitePath, import: await buildDatabase(sqlitePath, 'sqlite', [...real.values()]) });
    const pgUrl = process.env.WHARF_BENCH_PG_URL;
    if (pgUrl) {
      log('importing the same records into PostgreSQL (WHARF_BENCH_PG_URL)');
      databases.push({ kind: 'postgres', target: pgUrl, import: await buildDatabase(pgUrl, 'postgres', [...real.values()]) });
    }
    for (const d of databases) log(`  ${d.kind}: ${d.import.advisories} advisories, ${d.import.affectedRows} affected rows in ${d.import.seconds} s (${d.import.recordsPerSecond} records/s)`);

    const results: Record<string, Record<string, ImageResult>> = {};
    for (const d of databases) {
      const byImage: Record<string, ImageResult> = {};
      results[d.kind] = byImage;
      for (const im of images) {
        // The floor is the same for every database: measured once.
        const floorRaw = d.kind === 'sqlite' ? await floorOf(layout, im, settings.runs) : (results.sqlite?.[im.key]?.floor ?? (await floorOf(layout, im, settings.runs)));
        const bytes = im.compressedBytes;
        const floor = {
          ...floorRaw,
          decompressAndListMBps: round(bytes / MB / floorRaw.decompressAndListSeconds),
          decompressMBps: round(bytes / MB / floorRaw.decompressSeconds),
          decompressAndListMBperCpuS: round(bytes / MB / floorRaw.decompressAndListCpuSeconds),
          decompressMBperCpuS: round(bytes / MB / floorRaw.decompressCpuSeconds),
          ...(floorRaw.nodeGunzipSeconds !== undefined ? { nodeGunzipMBps: round(bytes / MB / floorRaw.nodeGunzipSeconds) } : {}),
          ...(floorRaw.nodeGunzipCpuSeconds !== undefined ? { nodeGunzipMBperCpuS: round(bytes / MB / floorRaw.nodeGunzipCpuSeconds) } : {}),
        };
        const measure = async (source: ChildJob['source'], decoders: 'auto' | 'builtin' = 'auto'): Promise<ImageResult['sources']['http']> => {
          const runs: ChildResult[] = [];
          for (let i = 0; i < settings.runs; i++) {
            const r = await runChild({
              database: d.target,
              registryUrl: reg.url,
              layoutDir: layout.dir,
              source,
              decoders,
              image: { repository: im.repository, digest: im.manifest.digest, layers: im.layers },
              warm: { repository: warm.repository, digest: warm.manifest.digest, layers: warm.layers },
            });
            runs.push(r);
            log(`${d.kind} ${im.key} ${source}${decoders === 'builtin' ? ' (built-in decoders)' : ''} ${i + 1}/${settings.runs}: analyze ${round(r.analyzeMs)} ms, match ${round(r.matchMs)} ms, SBOM ${round(r.sbomMs)} ms, ${r.packages} packages, ${r.findings} findings, peak ${round(r.peakHwmMiB - r.idleRssMiB)} MiB above idle`);
          }
          return { runs, median: summarize(runs, bytes) };
        };
        // The same HTTP scans with the built-in decoders, side by side with the programs (`auto`) in one run.
        const sources = { http: await measure('http'), local: await measure('local'), file: await measure('file'), httpBuiltin: await measure('http', 'builtin') };
        const first = sources.http.runs[0];
        byImage[im.key] = {
          image: im.key,
          label: im.label,
          compressedMiB: round(bytes / MiB),
          uncompressedMiB: round(im.uncompressedBytes / MiB),
          files: im.files,
          layers: im.layers.length,
          packages: first?.packages ?? 0,
          findings: first?.findings ?? 0,
          floor,
          sources,
        };
      }
    }

    let e2e: E2eResult[] | null = null;
    if (skopeoAvailable()) {
      log('end to end: pushing to wharf serve and scanning through /scanner/api/v1');
      e2e = await endToEnd(layout, images, warm, sqlitePath);
    } else log('skopeo is missing: no end-to-end rows');
    const e2eOf = (key: string) => e2e?.find((e) => e.image === key)?.median;

    // The table: one column per image (and database), the targets on the right.
    const columns = databases.flatMap((d) => images.map((im) => ({ db: d.kind, im, r: results[d.kind]?.[im.key] })));
    const f = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : String(v));
    const rows: string[][] = [
      ['measure (median of ' + settings.runs + ')', ...columns.map((c) => `${c.im.key}${databases.length > 1 ? ` (${c.db})` : ''}`), 'target'],
      ['compressed MiB / tar MiB', ...columns.map((c) => `${f(c.r?.compressedMiB)} / ${f(c.r?.uncompressedMiB)}`), ''],
      ['packages / findings', ...columns.map((c) => `${f(c.r?.packages)} / ${f(c.r?.findings)}`), `>= ${targets.packages} packages (B)`],
      ['analyze MB/s, pulled over HTTP (scanner path)', ...columns.map((c) => f(c.r?.sources.http.median.analyzeMBps)), `>= ${targets.layerThroughputMBps}`],
      ['analyze MB/s, pulled over HTTP, built-in decoders (zlib, fzstd)', ...columns.map((c) => f(c.r?.sources.httpBuiltin.median.analyzeMBps)), ''],
      ['analyze MB/s, in-process from the filesystem store (wharf serve\u2019s path)', ...columns.map((c) => f(c.r?.sources.local.median.analyzeMBps)), `>= ${targets.layerThroughputMBps}`],
      ['analyze MB per CPU-second (in-process; with the decoders\u2019 CPU)', ...columns.map((c) => f(c.r?.sources.local.median.analyzeMBperCpuS)), ''],
      ['analyze MB/s, blob files (no HTTP)', ...columns.map((c) => f(c.r?.sources.file.median.analyzeMBps)), ''],
      ['analyze MB per CPU-second (HTTP; load-independent)', ...columns.map((c) => f(c.r?.sources.http.median.analyzeMBperCpuS)), ''],
      ['end to end MB/s (pull+analyze+match+SBOMs, HTTP)', ...columns.map((c) => f(c.r?.sources.http.median.endToEndMBps)), ''],
      ['floor: decompress | tar -t, MB/s', ...columns.map((c) => f(c.r?.floor.decompressAndListMBps)), ''],
      ['floor: decompress only (gzip -dc / zstd -dc), MB/s', ...columns.map((c) => f(c.r?.floor.decompressMBps)), ''],
      ['floor: node:zlib gunzip only, MB/s', ...columns.map((c) => f(c.r?.floor.nodeGunzipMBps)), ''],
      ['floor per CPU-second: decompress | tar -t / decompress / node gunzip', ...columns.map((c) => `${f(c.r?.floor.decompressAndListMBperCpuS)} / ${f(c.r?.floor.decompressMBperCpuS)} / ${f(c.r?.floor.nodeGunzipMBperCpuS)}`), ''],
      ['wharf serve: layer MB/s, from its log (layer_bytes / analyze_ms)', ...columns.map((c) => (c.db === 'sqlite' ? f(e2eOf(c.im.key)?.layerMBps) : '-')), `>= ${targets.layerThroughputMBps}`],
      ['wharf serve, adapter API: MB/s to the vulnerability report', ...columns.map((c) => (c.db === 'sqlite' ? f(e2eOf(c.im.key)?.vulnerabilityMBps) : '-')), ''],
      ['wharf serve: ms to the vulnerability report / with both SBOMs', ...columns.map((c) => (c.db === 'sqlite' ? `${f(e2eOf(c.im.key)?.vulnerabilityMs)} / ${f(e2eOf(c.im.key)?.totalMs)}` : '-')), ''],
      ['wharf serve, Harbor API: POST /scan → Success ms (job + held report polls)', ...columns.map((c) => (c.db === 'sqlite' ? f(e2e?.find((e) => e.image === c.im.key)?.harbor.medianMs ?? undefined) : '-')), ''],
      ['wharf serve: idle RSS MiB (after a warm-up scan)', ...columns.map((c) => (c.db === 'sqlite' ? f(e2eOf(c.im.key)?.idleRssMiB) : '-')), ''],
      ['wharf serve: peak RSS above idle MiB (VmHWM)', ...columns.map((c) => (c.db === 'sqlite' ? f(e2eOf(c.im.key)?.peakAboveIdleMiB) : '-')), `<= ${targets.peakRssAboveIdleMiB}`],
      ['analyze ms (HTTP)', ...columns.map((c) => f(c.r?.sources.http.median.analyzeMs)), ''],
      ['match ms', ...columns.map((c) => f(c.r?.sources.http.median.matchMs)), `<= ${targets.matchMs}`],
      ['SBOMs ms (CycloneDX 1.6 + SPDX 2.3)', ...columns.map((c) => f(c.r?.sources.http.median.sbomMs)), ''],
      ['scan total ms (HTTP)', ...columns.map((c) => f(c.r?.sources.http.median.totalMs)), ''],
      ['idle RSS MiB (after warm-up)', ...columns.map((c) => f(c.r?.sources.http.median.idleRssMiB)), ''],
      ['peak RSS above idle MiB (VmHWM, HTTP)', ...columns.map((c) => f(c.r?.sources.http.median.peakAboveIdleMiB)), `<= ${targets.peakRssAboveIdleMiB}`],
      ['peak RSS above idle MiB (VmHWM, in-process)', ...columns.map((c) => f(c.r?.sources.local.median.peakAboveIdleMiB)), `<= ${targets.peakRssAboveIdleMiB}`],
      ['peak RSS above idle MiB (VmHWM, files)', ...columns.map((c) => f(c.r?.sources.file.median.peakAboveIdleMiB)), `<= ${targets.peakRssAboveIdleMiB}`],
      ['peak RSS above idle MiB (10 ms samples, HTTP)', ...columns.map((c) => f(c.r?.sources.http.median.peakSampledAboveIdleMiB)), ''],
      ['heap of one scan’s result objects MiB (inventory, findings, SBOMs)', ...columns.map((c) => f(c.r?.sources.http.median.retainedMiB)), ''],
    ];
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
    console.log('');
    for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(' | '));
    for (const d of databases) console.log(`database (${d.kind}): ${d.import.advisories} advisories (${d.import.affectedRows} affected rows) imported in ${d.import.seconds} s, ${d.import.recordsPerSecond} records/s${d.import.fileMiB ? `, ${d.import.fileMiB} MiB file` : ''}`);
    console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? ''}); the blob server, the scanner child and the floor tools share them.`);

    const totalSeconds = round((performance.now() - started) / 1000);
    const report = {
      benchmark: 'scanning',
      date: startedAt.toISOString(),
      quick,
      settings,
      targets,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryMiB: Math.round(totalmem() / MiB), node: process.version, loadAvgAtStart },
      versions: { wharf: git(['rev-parse', '--short', 'HEAD']), gzip: execFileSync('gzip', ['--version'], { encoding: 'utf8' }).split('\n')[0], tar: execFileSync('tar', ['--version'], { encoding: 'utf8' }).split('\n')[0], zstd: hasZstd() ? execFileSync('zstd', ['--version'], { encoding: 'utf8' }).trim() : null, igzip: findIgzip() ? execFileSync('igzip', ['--version'], { encoding: 'utf8' }).trim() : null },
      images: images.map((im) => ({ key: im.key, label: im.label, manifest: im.manifest.digest, layers: im.layers, compressedBytes: im.compressedBytes, uncompressedBytes: im.uncompressedBytes, files: im.files })),
      buildSeconds,
      databases: databases.map((d) => d.import),
      notes: [
        'Throughput is compressed bytes (1 MB = 10^6 bytes) over the analyze step (layers streamed through analyzeImage, digests verified when pulled over HTTP); end to end adds the manifest/config pull, the match and both SBOMs.',
        'Every scan runs in a fresh child process after two warm-up scans of a small image; idle RSS is read after a GC; the peak is VmHWM after clear_refs 5 (reset) just before the scan.',
        'The HTTP source is a read-only registry in the parent process serving the layout over 127.0.0.1 (no auth): the pull path of the built-in scanner without a registry\'s own costs.',
        'The floor tools read the same layers one after the other; the scanner reads up to min(layers, cores, 4) layers at once.',
        'The advisories are synthetic (deterministic): their count and the shape of their ranges are real-sized, not their content.',
      ],
      results,
      endToEnd: e2e,
      loadAvgAtEnd: loadavg(),
      totalSeconds,
    };
    const outDir = join(import.meta.dirname, 'results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `scanning-${report.date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nwrote ${file} (${totalSeconds} s)`);
  } finally {
    server?.close();
    if (keep) log(`kept ${work} (the OCI layout of the images under layout/)`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const job = JSON.parse(process.argv[3] ?? '{}') as ChildJob; // written by runChild() in the parent
  await child(job);
} else {
  await main();
}
