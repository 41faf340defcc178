import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { GO_MIN_SIZE, goBinaryAnalyzer, golangPurl, isCandidateExecutable, stdlibVersion } from './go-binary.ts';
import { parseModInfo } from './go-buildinfo.ts';
import { runAnalyzer } from './run-analyzer.ts';

// The 16-byte markers the Go linker writes around the module info (cmd/go's modinfo start/end).
const START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

function uvarint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** An ELF-looking file with decoy magics and the Go 1.18+ build info at `at` (a multiple of 16). */
function binary(goVersion: string, modinfo: string, at: number): Buffer {
  const magic = Buffer.from('\xff Go buildinf:', 'latin1');
  const header = Buffer.alloc(32);
  magic.copy(header);
  header[14] = 8;
  header[15] = 2;
  const mod = Buffer.concat([START, Buffer.from(modinfo), END]);
  const info = Buffer.concat([header, uvarint(goVersion.length), Buffer.from(goVersion), uvarint(mod.length), mod]);
  // At least GO_MIN_SIZE bytes, or the analyzer does not ask for it.
  const file = Buffer.alloc(Math.max(at + info.length + 300, GO_MIN_SIZE), 0x90);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46]).copy(file);
  magic.copy(file, 35); // not aligned: ignored
  const decoy = Buffer.from(header);
  decoy[14] = 3; // aligned but not a pointer size: ignored
  decoy.copy(file, at - 64);
  info.copy(file, at);
  return file;
}

const MODINFO = [
  'path\texample.com/app/cmd/app',
  'mod\texample.com/app\tv1.4.2\th1:abc=',
  'dep\tgithub.com/BurntSushi/toml\tv1.3.2\th1:o7IhLm0Msx3BaB+n3Ac7ASUJF+q0mNg9kHfvfM/ml8E=',
  'dep\tgolang.org/x/net\tv0.17.0\th1:x',
  '=>\tgolang.org/x/net\tv0.23.0\th1:y',
  'dep\texample.com/local\tv0.0.0',
  '=>\t../local\t',
  'dep\tgithub.com/docker/distribution\tv2.8.3+incompatible\th1:z',
  'build\t-compiler=gc',
  'build\tGOOS=linux',
  '',
].join('\n');

const EXPECTED = [
  ['example.com/app', 'v1.4.2', 'pkg:golang/example.com/app@v1.4.2'],
  ['github.com/BurntSushi/toml', 'v1.3.2', 'pkg:golang/github.com/BurntSushi/toml@v1.3.2'],
  ['golang.org/x/net', 'v0.23.0', 'pkg:golang/golang.org/x/net@v0.23.0'],
  ['github.com/docker/distribution', 'v2.8.3+incompatible', 'pkg:golang/github.com/docker/distribution@v2.8.3+incompatible'],
  ['stdlib', '1.22.1', 'pkg:golang/stdlib@1.22.1'],
];

test('which files are read', () => {
  const big = 4 * 1024 * 1024;
  assert.equal(isCandidateExecutable({ path: 'app/server', size: big, mode: 0o755 }), true);
  assert.equal(isCandidateExecutable({ path: 'usr/local/bin/tool', size: big, mode: 0o644 }), true);
  assert.equal(isCandidateExecutable({ path: 'usr/share/doc/big.txt', size: big, mode: 0o644 }), false);
  assert.equal(isCandidateExecutable({ path: 'usr/bin/tiny', size: 1000, mode: 0o755 }), false);
});

test('stdlib version, module lines, purls', () => {
  assert.equal(stdlibVersion('go1.22.1'), '1.22.1');
  assert.equal(stdlibVersion('go1.23.1 X:nocoverageredesign'), '1.23.1');
  assert.equal(stdlibVersion('devel go1.23-abcdef'), null);
  assert.deepEqual(parseModInfo('path\tx\nmod\tx\t(devel)\t\n=>\tignored\tv1\t\n'), { main: { path: 'x', version: '(devel)' }, deps: [] });
  assert.equal(golangPurl('k8s.io/api', 'v0.29.0'), 'pkg:golang/k8s.io/api@v0.29.0');
  assert.equal(golangPurl('stdlib', '1.22.1'), 'pkg:golang/stdlib@1.22.1');
});

// 65520 puts the header across a 64 KiB boundary, and the magic itself across 65530.
const PLACES: Array<[number, number]> = [
  ...[1, 7, 13, 14, 15, 16, 333, 65536, 0].map((c): [number, number] => [512 * 1024 + 48, c]),
  [65520, 65530],
  [65520, 65536],
  [65520, 65527],
];
for (const [at, chunkSize] of PLACES) {
  test(`build info at ${at} found across chunk boundaries (chunks of ${chunkSize || 'all'} bytes)`, async () => {
    const file = binary('go1.22.1', MODINFO, at);
    const { packages } = await runAnalyzer(goBinaryAnalyzer(), [
      { path: 'app/server', source: file, mode: 0o755, ...(chunkSize > 0 ? { chunkSize } : {}) },
    ]);
    assert.deepEqual(
      packages.map((p) => [p.name, p.version, p.purl]),
      EXPECTED,
    );
    assert.ok(packages.every((p) => p.type === 'golang' && p.path === 'app/server' && p.licenses.length === 0));
  });
}

test('(devel) main module is skipped; an empty module info still gives stdlib', async () => {
  const devel = binary('go1.21.0', 'path\tx/cmd\nmod\tx\t(devel)\t\ndep\ty.io/z\tv1.0.0\th1:q\n', 300 * 1024);
  const bare = Buffer.from(binary('go1.20.3', '', 300 * 1024));
  const { packages } = await runAnalyzer(goBinaryAnalyzer(), [
    { path: 'bin/devel', source: devel, mode: 0o755 },
    { path: 'bin/bare', source: bare, mode: 0o644 },
  ]);
  assert.deepEqual(packages.map((p) => [p.path, p.name, p.version]), [
    ['bin/devel', 'y.io/z', 'v1.0.0'],
    ['bin/devel', 'stdlib', '1.21.0'],
    ['bin/bare', 'stdlib', '1.20.3'],
  ]);
});

test('a file that is not an executable is not searched', async () => {
  const file = binary('go1.22.1', MODINFO, 300 * 1024);
  Buffer.from('#!/bin/sh\n').copy(file);
  const { results } = await runAnalyzer(goBinaryAnalyzer(), [{ path: 'bin/script', source: file, mode: 0o755 }]);
  assert.equal(results.size, 0);
});

/** The module info between the linker's markers, found without the header (a second reading). */
function modinfoByMarkers(file: Buffer): string | null {
  const start = file.indexOf(START);
  if (start < 0) return null;
  const end = file.indexOf(END, start);
  return end < 0 ? null : file.toString('utf8', start + 16, end);
}

/** Go version from the Debian package's Built-Using field (`golang-1.19 (= 1.19.8-2)`). */
function debianGoVersion(bin: string): string | null {
  const owner = spawnSync('dpkg', ['-S', bin], { encoding: 'utf8' });
  if (owner.status !== 0) return null;
  const pkg = owner.stdout.split(':')[0] ?? '';
  const q = spawnSync('dpkg-query', ['-W', '-f', '${Built-Using}', pkg], { encoding: 'utf8' });
  const m = /golang-1\.\d+ \(= (?:\d+:)?([0-9.]+)-/.exec(q.stdout);
  return m?.[1] ?? null;
}

test('real Go binary: /usr/bin/docker-registry', async (t) => {
  const bin = '/usr/bin/docker-registry';
  if (!existsSync(bin)) {
    t.skip(`${bin} is absent (apt-get install docker-registry)`);
    return;
  }
  const { packages } = await runAnalyzer(goBinaryAnalyzer(), [{ path: 'usr/bin/docker-registry', source: bin, mode: statSync(bin).mode }]);
  const go = spawnSync('go', ['version', '-m', bin], { encoding: 'utf8' });
  const fromGo = go.status === 0 ? /^\S+: go(\S+)/.exec(go.stdout)?.[1] : undefined;
  const expected = fromGo ?? debianGoVersion(bin);
  assert.ok(expected, 'neither `go version -m` nor dpkg names the Go version');
  // Debian builds it in GOPATH mode: no module lines, so the standard library alone.
  const text = modinfoByMarkers(readFileSync(bin));
  assert.ok(text?.includes('path\tgithub.com/docker/distribution/cmd/registry\n'));
  assert.equal(text?.includes('\nmod\t'), false);
  assert.deepEqual(packages, [
    { type: 'golang', name: 'stdlib', version: expected, licenses: [], path: 'usr/bin/docker-registry', purl: `pkg:golang/stdlib@${expected}` },
  ]);
});

for (const bin of ['/usr/bin/kubectl', '/usr/bin/cbt', '/usr/bin/kpt', '/usr/bin/skopeo']) {
  test(`real Go binary: ${bin}, every module line read`, async (t) => {
    if (!existsSync(bin)) {
      t.skip(`${bin} is absent on this machine`);
      return;
    }
    const file = readFileSync(bin);
    const text = modinfoByMarkers(file);
    assert.ok(text !== null, 'no module info markers');
    const { packages } = await runAnalyzer(goBinaryAnalyzer(), [{ path: bin.slice(1), source: bin, mode: statSync(bin).mode }]);
    // The expected modules, read line by line from the marked text (no header, no varints).
    const want: string[] = [];
    let lastDep = -1;
    for (const line of text.split('\n')) {
      const [kind, path, version] = line.split('\t');
      if (kind === 'mod' && version !== '(devel)') want.unshift(`${path}@${version}`);
      if (kind === 'dep') {
        lastDep = want.length;
        want.push(`${path}@${version}`);
      }
      if (kind === '=>') want[lastDep] = `${path}@${version}`;
    }
    const modules = packages.filter((p) => p.name !== 'stdlib').map((p) => `${p.name}@${p.version}`);
    assert.deepEqual(modules, want.filter((m) => !m.endsWith('@(devel)') && !m.endsWith('@')));
    const std = packages.find((p) => p.name === 'stdlib');
    assert.ok(std);
    // The version string sits right before the module info, prefixed by its length.
    const go = Buffer.from(`go${std.version}`);
    assert.ok(file.includes(Buffer.concat([uvarint(go.length), go])));
    const fromDebian = debianGoVersion(bin);
    if (fromDebian !== null) assert.equal(std.version, fromDebian);
  });
}
