import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { analyzeImage } from '../index.ts';
import { gzipLayer, memoryImage, type LayerItem } from '../../../../test/helpers/image-layers.ts';

const GO_BIN = '/usr/bin/docker-registry';
const JAR = '/usr/share/java/commons-io-2.11.0.jar';
const PYYAML = '/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA';
const installedVersion = (name: string): string => {
  // package.json is JSON; only version is read.
  const pkg = JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string };
  return pkg.version;
};

/** The Go toolchain Debian built docker-registry with (`golang-1.19 (= 1.19.8-2)` → 1.19.8). */
function debianGoVersion(): string | null {
  const q = spawnSync('dpkg-query', ['-W', '-f', '${Built-Using}', 'docker-registry'], { encoding: 'utf8' });
  return /golang-1\.\d+ \(= (?:\d+:)?([0-9.]+)-/.exec(q.stdout ?? '')?.[1] ?? null;
}

test('an image with real npm, Python, Go and Java files: the language packages, whiteouts applied', async () => {
  const lower: LayerItem[] = [
    { path: 'app/node_modules/semver/package.json', content: readFileSync('node_modules/semver/package.json') },
    { path: 'app/node_modules/fflate/package.json', content: readFileSync('node_modules/fflate/package.json') },
    { path: 'app/package-lock.json', content: readFileSync('test/fixtures/scanning/lang/package-lock-v3.json') },
    { path: 'usr/lib/python3/dist-packages/urllib3-2.7.0.dist-info/METADATA', content: readFileSync('test/fixtures/scanning/lang/urllib3-2.7.0.dist-info/METADATA') },
  ];
  const upper: LayerItem[] = [
    // The lockfile is deleted in the upper layer: only node_modules speaks for the app.
    { path: 'app/.wh.package-lock.json', content: '' },
  ];
  const expected: Array<[string, string, string]> = [
    ['app/node_modules/fflate/package.json', 'fflate', installedVersion('fflate')],
    ['app/node_modules/semver/package.json', 'semver', installedVersion('semver')],
    ['usr/lib/python3/dist-packages/urllib3-2.7.0.dist-info/METADATA', 'urllib3', '2.7.0'],
  ];
  if (existsSync(PYYAML)) {
    upper.push({ path: PYYAML.slice(1), content: readFileSync(PYYAML) });
    expected.push([PYYAML.slice(1), 'PyYAML', '6.0']);
  }
  const goVersion = existsSync(GO_BIN) ? debianGoVersion() : null;
  if (goVersion !== null) {
    upper.push({ path: 'usr/bin/registry', content: readFileSync(GO_BIN), mode: 0o755 });
    expected.push(['usr/bin/registry', 'stdlib', goVersion]);
  }
  if (existsSync(JAR)) {
    upper.push({ path: 'opt/lib/commons-io-2.11.0.jar', content: readFileSync(JAR) });
    expected.push(['opt/lib/commons-io-2.11.0.jar', 'commons-io:commons-io', '2.11.0']);
  }
  const image = memoryImage([await gzipLayer(lower), await gzipLayer(upper)]);
  const inventory = await analyzeImage(image);
  assert.equal(inventory.os, null);
  assert.deepEqual(inventory.warnings ?? [], []);
  const got = inventory.packages.map((p) => [p.path, p.name, p.version]).sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`));
  assert.deepEqual(got, expected.sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`)));
});
