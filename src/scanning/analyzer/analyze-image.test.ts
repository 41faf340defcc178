import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { analyzeImage, findIgzip, osPackageAnalyzers, readText, type FileAnalyzer, type ImageSource } from './index.ts';
import { defaultParallelLayers } from './analyze-image.ts';
import { gzipLayer, memoryImage, tarOf } from '../../../test/helpers/image-layers.ts';
import { rpmdbSqlite } from '../../../test/helpers/rpm-header.ts';

const ZSTD_ALPINE = readFileSync(new URL('../../../test/fixtures/scanning/alpine-layer.tar.zst', import.meta.url));
const APK_DB = readFileSync(new URL('../../../test/fixtures/scanning/apk-installed', import.meta.url));
const hasDpkg = existsSync('/var/lib/dpkg/status') && existsSync('/usr/lib/os-release') && existsSync('/etc/debian_version');
const osOnly: FileAnalyzer[] = [];

function dpkgQuery(format: string, ...pkgs: string[]): string {
  return execFileSync('dpkg-query', ['-W', `-f=${format}`, ...pkgs], { encoding: 'utf8' });
}

function status(...names: string[]): string {
  return names.map((n) => `Package: ${n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n`).join('\n');
}

test('this machine as a one-layer Debian image: OS via the os-release symlink, every installed package', { skip: !hasDpkg }, async () => {
  const layer = await gzipLayer([
    { path: 'etc/', type: 'directory' },
    { path: 'etc/debian_version', content: readFileSync('/etc/debian_version') },
    { path: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
    { path: 'usr/lib/os-release', content: readFileSync('/usr/lib/os-release') },
    { path: 'var/lib/dpkg/status', content: readFileSync('/var/lib/dpkg/status') },
  ]);
  const inv = await analyzeImage(memoryImage([layer]));
  const debianVersion = readFileSync('/etc/debian_version', 'utf8').split('\n')[0] ?? '';
  const prettyName = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/usr/lib/os-release', 'utf8'))?.[1];
  assert.deepEqual(inv.os, { family: 'debian', version: debianVersion, name: prettyName });
  assert.equal(inv.layers, 1);
  assert.equal(inv.compressedBytes, layer.length);
  assert.equal(inv.warnings, undefined);
  const installed = dpkgQuery('${db:Status-Abbrev}\\n').split('\n').filter((l) => l.startsWith('ii')).length;
  assert.equal(inv.packages.length, installed);
  const libc6 = inv.packages.find((p) => p.name === 'libc6');
  assert.equal(libc6?.version, dpkgQuery('${Version}', 'libc6'));
  const libssl3 = inv.packages.find((p) => p.name === 'libssl3');
  assert.equal(libssl3?.srcName, 'openssl');
  const [sslVersion, sslArch] = dpkgQuery('${Version} ${Architecture}', 'libssl3').split(' ');
  assert.equal(libssl3?.purl, `pkg:deb/debian/libssl3@${sslVersion}?arch=${sslArch}&distro=debian-${debianVersion}`);
  assert.equal(libssl3?.path, 'var/lib/dpkg/status');
});

test('a zstd Alpine layer: OS and apk packages', async () => {
  const inv = await analyzeImage(memoryImage([{ bytes: ZSTD_ALPINE, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }]));
  assert.deepEqual(inv.os, { family: 'alpine', version: '3.20.3', name: 'Alpine Linux v3.20' });
  assert.deepEqual(
    inv.packages.map((p) => `${p.purl} ${p.srcName} ${p.licenses.join()}`),
    [
      'pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=3.20.3 busybox GPL-2.0-only',
      'pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=3.20.3 openssl Apache-2.0',
      'pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3 musl MIT',
    ],
  );
  assert.equal(inv.compressedBytes, ZSTD_ALPINE.length);
});

test('whiteouts across layers: a file whiteout, an opaque directory, an upper file replacing a lower one', async () => {
  const lower = await gzipLayer([
    { path: 'etc/debian_version', content: '12.5\n' },
    { path: 'var/lib/dpkg/status.d/base-files', content: status('base-files') },
    { path: 'var/lib/dpkg/status.d/tzdata', content: status('tzdata') },
    { path: 'var/lib/dpkg/status.d/tzdata.md5sums', content: 'abc  usr/share/zoneinfo/UTC\n' },
    { path: 'opt/dpkg-like/var/lib/dpkg/status', content: status('not-the-root') },
    { path: 'lib/apk/db/installed', content: APK_DB },
  ]);
  const upper = await gzipLayer([
    { path: 'var/lib/dpkg/status.d/.wh.tzdata', content: '' },
    { path: 'lib/apk/db/.wh..wh..opq', content: '' },
    { path: 'etc/debian_version', content: '12.6\n' },
  ]);
  const inv = await analyzeImage(memoryImage([lower, upper]));
  assert.deepEqual(inv.os, { family: 'debian', version: '12.6', name: 'debian 12.6' });
  assert.deepEqual(inv.packages.map((p) => `${p.name} ${p.path}`), ['base-files var/lib/dpkg/status.d/base-files']);
  assert.equal(inv.layers, 2);

  // The same layers the other way round: nothing is whited out below the lower one.
  const reversed = await analyzeImage(memoryImage([upper, lower]));
  assert.deepEqual(reversed.packages.map((p) => p.name), ['busybox', 'libcrypto3', 'musl', 'base-files', 'tzdata']);
  assert.deepEqual(reversed.os?.version, '12.5');
});

test('a whiteout of the release file leaves no OS; the packages stay, with purls without distro', async () => {
  const inv = await analyzeImage(
    memoryImage([
      await gzipLayer([{ path: 'etc/debian_version', content: '12.5\n' }, { path: 'var/lib/dpkg/status', content: status('libc6') }]),
      await gzipLayer([{ path: 'etc/.wh.debian_version', content: '' }]),
    ]),
  );
  assert.equal(inv.os, null);
  assert.deepEqual(inv.packages.map((p) => p.purl), ['pkg:deb/debian/libc6@1.0-1?arch=amd64']);
});

test('a link whose target nobody wanted is read in a second pass over the target\'s layer only', async () => {
  const image = memoryImage([
    await tarOf([{ path: 'etc/apk/installed-real', content: APK_DB }, { path: 'etc/alpine-release', content: '3.20.3\n' }]),
    await gzipLayer([{ path: 'unrelated', content: 'x' }]),
    await gzipLayer([{ path: 'lib/apk/db/installed', type: 'symlink', linkname: '/etc/apk/installed-real' }]),
  ]);
  const inv = await analyzeImage(image);
  assert.deepEqual(inv.packages.map((p) => `${p.name} ${p.path}`), [
    'busybox lib/apk/db/installed',
    'libcrypto3 lib/apk/db/installed',
    'musl lib/apk/db/installed',
  ]);
  const [first, , third] = image.layers;
  assert.deepEqual(image.opened, [first?.digest, image.layers[1]?.digest, third?.digest, first?.digest]);
});

test('a wanted path under a directory symlink (var/lib/dpkg -> elsewhere) is found', async () => {
  const image = memoryImage([
    await gzipLayer([
      { path: 'srv/dpkg/status', content: status('coreutils') },
      { path: 'var/lib/dpkg', type: 'symlink', linkname: '../../srv/dpkg' },
    ]),
  ]);
  const inv = await analyzeImage(image);
  assert.deepEqual(inv.packages.map((p) => `${p.name} ${p.path}`), ['coreutils var/lib/dpkg/status']);
  assert.equal(image.opened.length, 2);
});

test('rpm: a Rocky image whose var/lib/rpm links to usr/lib/sysimage/rpm lists each package once', async () => {
  const db = rpmdbSqlite([
    { name: 'openssl-libs', version: '3.0.7', release: '27.el9', epoch: 1, license: 'ASL 2.0', arch: 'x86_64', sourceRpm: 'openssl-3.0.7-27.el9.src.rpm' },
    { name: 'gpg-pubkey', version: 'fd431d51', release: '4ae0493b' },
    { name: 'bash', version: '5.1.8', release: '6.el9_1', license: 'GPLv3+', arch: 'x86_64', sourceRpm: 'bash-5.1.8-6.el9_1.src.rpm' },
  ]);
  const inv = await analyzeImage(
    memoryImage([
      await gzipLayer([
        { path: 'etc/os-release', content: 'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nVERSION_ID="9.3"\nPRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n' },
        { path: 'usr/lib/sysimage/rpm/rpmdb.sqlite', content: db },
        { path: 'var/lib/rpm', type: 'symlink', linkname: '../../usr/lib/sysimage/rpm' },
      ]),
    ]),
  );
  assert.deepEqual(inv.os, { family: 'rocky', version: '9.3', name: 'Rocky Linux 9.3 (Blue Onyx)' });
  assert.deepEqual(inv.packages.map((p) => `${p.purl} ${p.srcName} ${p.version}`), [
    'pkg:rpm/rocky/bash@5.1.8-6.el9_1?arch=x86_64&distro=rocky-9.3 bash 5.1.8-6.el9_1',
    'pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.3&epoch=1 openssl 1:3.0.7-27.el9',
  ]);
});

test('a BerkeleyDB rpmdb is a warning, not a failure', async () => {
  const inv = await analyzeImage(memoryImage([await gzipLayer([{ path: 'var/lib/rpm/Packages', content: Buffer.alloc(4096) }])]));
  assert.deepEqual(inv.packages, []);
  assert.deepEqual(inv.warnings, ['rpm: var/lib/rpm/Packages: BerkeleyDB and NDB rpm databases are not supported; no rpm packages read']);
});

test('foreign layers are skipped, proc/ sys/ dev/ ignored, files over the cap not read', async () => {
  const seen: string[] = [];
  const recorder: FileAnalyzer<string> = {
    name: 'recorder',
    wants: (e) => e.path.endsWith('.txt'),
    async read(entry, body) {
      seen.push(entry.path);
      return readText(body);
    },
    collect: () => [],
  };
  const image = memoryImage([
    await gzipLayer([
      { path: 'proc/a.txt', content: 'x' },
      { path: 'sys/b.txt', content: 'x' },
      { path: 'dev/c.txt', content: 'x' },
      { path: 'big.txt', content: Buffer.alloc(2000) },
      { path: 'ok.txt', content: 'fine' },
    ]),
    { bytes: Buffer.from('not even a tar'), mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' },
    { bytes: Buffer.from('not even a tar'), mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' },
  ]);
  const inv = await analyzeImage(image, { analyzers: [recorder], maxFileBytes: 1000 });
  assert.deepEqual(seen, ['ok.txt']);
  assert.equal(inv.layers, 1);
  assert.equal(image.opened.length, 1);
  assert.deepEqual(inv.warnings, ['big.txt: 2000 bytes is over the 1000-byte cap; not analyzed']);
});

test('two analyzers on one file both get every byte; one that stops early neither blocks nor breaks the other', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const counting = (name: string, stopAfter?: number): FileAnalyzer<number> => ({
    name,
    wants: (e) => e.path === 'data.bin',
    async read(_entry, body: Readable) {
      let total = 0;
      let sum = 0;
      for await (const chunk of body) {
        const buf: Buffer = chunk;
        total += buf.length;
        for (const b of buf) sum = (sum + b) % 1_000_003;
        if (stopAfter !== undefined && total >= stopAfter) return -total;
      }
      return sum;
    },
    collect: (results) => [...results.values()].map((v) => ({ type: 'npm', name: name, version: String(v), licenses: [], path: 'data.bin', purl: '' })),
  });
  let expected = 0;
  for (const b of big) expected = (expected + b) % 1_000_003;
  const inv = await analyzeImage(memoryImage([await gzipLayer([{ path: 'data.bin', content: big }, { path: 'after', content: 'x' }])]), {
    analyzers: [counting('a'), counting('stops', 100_000), counting('b')],
  });
  const byName = new Map(inv.packages.map((p) => [p.name, Number(p.version)]));
  assert.equal(byName.get('a'), expected);
  assert.equal(byName.get('b'), expected);
  assert.ok((byName.get('stops') ?? 0) < 0);
});

test('an analyzer that throws is a warning; an abort rejects the whole analysis', async () => {
  const layer = await gzipLayer([{ path: 'var/lib/dpkg/status', content: status('libc6') }, { path: 'x', content: 'y' }]);
  const failing: FileAnalyzer = { name: 'failing', wants: (e) => e.path === 'x', read: async () => { throw new Error('boom'); }, collect: () => [] };
  const inv = await analyzeImage(memoryImage([layer]), { analyzers: [...osPackageAnalyzers(), failing] });
  assert.deepEqual(inv.warnings, ['failing: x: boom']);
  assert.equal(inv.packages.length, 1);

  const controller = new AbortController();
  const aborting: FileAnalyzer = {
    name: 'aborting',
    wants: (e) => e.path === 'var/lib/dpkg/status',
    read: async () => {
      controller.abort();
      return null;
    },
    collect: () => [],
  };
  await assert.rejects(analyzeImage(memoryImage([layer, layer]), { analyzers: [aborting], signal: controller.signal }), { name: 'AbortError' });
  await assert.rejects(analyzeImage(memoryImage([layer]), { analyzers: osOnly, signal: AbortSignal.abort() }), { name: 'AbortError' });
});

test('an image with no release files and no packages: null OS, empty inventory', async () => {
  const layer = await tarOf([{ path: 'app', content: 'static binary', mode: 0o755 }]);
  const inv = await analyzeImage(memoryImage([layer]));
  assert.deepEqual(inv, { os: null, packages: [], layers: 1, compressedBytes: layer.length });
});

/** Three layers exercising every merge rule; the bottom one is the largest, so upper reads finish first. */
async function threeLayerImage(): Promise<Buffer[]> {
  const filler = Buffer.alloc(2 * 1024 * 1024);
  for (let i = 0; i < filler.length; i++) filler[i] = (i * 7919) % 251;
  return [
    await gzipLayer([
      { path: 'usr/lib/os-release', content: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' },
      { path: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { path: 'etc/debian_version', content: '12.5\n' },
      { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { path: 'var/lib/dpkg/status.d/base-files', content: status('base-files') },
      { path: 'var/lib/dpkg/status.d/tzdata', content: status('tzdata') },
      { path: 'opt/filler.bin', content: filler },
      { path: 'etc/apk/installed-real', content: APK_DB },
      { path: 'srv/old/var/lib/dpkg/status', content: status('gone-by-opaque') },
    ]),
    await gzipLayer([
      { path: 'var/lib/dpkg/status.d/.wh.tzdata', content: '' },
      { path: 'srv/old/.wh..wh..opq', content: '' },
      { path: 'lib/apk/db/installed', type: 'symlink', linkname: '/etc/apk/installed-real' },
      { path: 'var/lib/dpkg/status.d/libc6', content: status('libc6') },
      { path: 'var/lib/dpkg/status.d/hard', type: 'link', linkname: 'var/lib/dpkg/status.d/libc6' },
    ]),
    await gzipLayer([
      { path: 'etc/debian_version', content: '12.6\n' },
      { path: 'var/lib/dpkg/status.d/libc6', content: status('libc6-upper') },
      { path: 'var/lib/dpkg/status.d/.wh.base-files', content: '' },
    ]),
  ];
}

test('reading 3 layers at once gives the same inventory as one after the other (whiteouts, opaque dirs, links)', async () => {
  const layers = await threeLayerImage();
  const one = memoryImage(layers);
  const three = memoryImage(layers);
  const serial = await analyzeImage(one, { parallelLayers: 1 });
  const parallel = await analyzeImage(three, { parallelLayers: 3 });
  assert.deepEqual(parallel, serial);
  assert.deepEqual(serial.os, { family: 'debian', version: '12.6', name: 'Debian GNU/Linux 12 (bookworm)' });
  assert.deepEqual(serial.packages.map((p) => `${p.name} ${p.path}`), [
    // lib -> usr/lib, so the upper layer's apk link lands in usr/lib; its target is read in a second pass.
    'busybox usr/lib/apk/db/installed',
    'libcrypto3 usr/lib/apk/db/installed',
    'musl usr/lib/apk/db/installed',
    // The hard link's target was read already; the upper layer replaced it; base-files and tzdata are whited out.
    'libc6-upper var/lib/dpkg/status.d/libc6',
  ]);
  assert.equal(serial.layers, 3);
  assert.equal(serial.compressedBytes, layers.reduce((n, l) => n + l.length, 0));
  // The link's target (written by the first layer) is read again, after the three streaming reads.
  assert.deepEqual(three.opened, [...three.layers.map((l) => l.digest), three.layers[0]?.digest]);
  assert.deepEqual(one.opened, three.opened);
});

/** An image whose blobs stream slowly (a chunk per timer tick), logging each open and close; layer `corrupt` is cut in half. */
function loggingImage(layers: Buffer[], log: string[], corrupt?: number): ImageSource {
  const base = memoryImage(layers);
  return {
    layers: base.layers,
    async openBlob(digest) {
      const n = base.layers.findIndex((l) => l.digest === digest);
      const whole = layers[n] ?? Buffer.alloc(0);
      const bytes = n === corrupt ? whole.subarray(0, whole.length >> 1) : whole;
      log.push(`open ${n}`);
      let at = 0;
      return new Readable({
        read() {
          setTimeout(() => {
            if (at >= bytes.length) this.push(null);
            else this.push(bytes.subarray(at, (at += 16384)));
          }, 1);
        },
        destroy(err, cb) {
          log.push(`close ${n}`);
          cb(err);
        },
      });
    },
  };
}

test('parallelLayers 3 keeps three layers open at once; 1 reads them one after the other', async () => {
  const layers = await threeLayerImage();
  const parallelLog: string[] = [];
  await analyzeImage(loggingImage(layers, parallelLog), { parallelLayers: 3 });
  assert.deepEqual(parallelLog.slice(0, 3), ['open 0', 'open 1', 'open 2']);
  const serialLog: string[] = [];
  await analyzeImage(loggingImage(layers, serialLog), { parallelLayers: 1 });
  assert.deepEqual(serialLog, ['open 0', 'close 0', 'open 1', 'close 1', 'open 2', 'close 2', 'open 0', 'close 0']);
  assert.equal(defaultParallelLayers(1), 1);
  assert.equal(defaultParallelLayers(10), Math.min(availableParallelism() + 1, 4));
  assert.equal(defaultParallelLayers(2), Math.min(availableParallelism() + 1, 2));
});

test('a corrupt layer read alongside others fails the analysis and stops the other reads', async () => {
  const layers = await threeLayerImage();
  const log: string[] = [];
  await assert.rejects(analyzeImage(loggingImage(layers, log, 1), { parallelLayers: 3, gzip: 'zlib' }), { code: 'Z_BUF_ERROR', message: 'unexpected end of file' });
  assert.deepEqual([...log].sort(), ['close 0', 'close 1', 'close 2', 'open 0', 'open 1', 'open 2']);
  // igzip (when installed: .ci/run installs it) reports the same layer in its words.
  if (findIgzip() === null) return;
  const again: string[] = [];
  await assert.rejects(analyzeImage(loggingImage(layers, again, 1), { parallelLayers: 3, gzip: 'auto' }), /the gzip layer is corrupt or truncated \(igzip: /);
  assert.deepEqual([...again].sort(), ['close 0', 'close 1', 'close 2', 'open 0', 'open 1', 'open 2']);
});
