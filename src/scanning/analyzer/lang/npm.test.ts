import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { isLockfile, isNodeModulesManifest, npmAnalyzer, npmPurl, parsePackageLock } from './npm.ts';
import { runAnalyzer } from './run-analyzer.ts';

const NM = 'node_modules';
const FIXTURES = 'test/fixtures/scanning/lang';
const installed = (name: string): { name: string; version: string; license: string } => {
  // package.json is JSON; the three fields are read and checked below.
  const pkg = JSON.parse(readFileSync(`${NM}/${name}/package.json`, 'utf8')) as { name: string; version: string; license: string };
  return { name: pkg.name, version: pkg.version, license: pkg.license };
};

test('package.json directly under the last node_modules only', () => {
  assert.equal(isNodeModulesManifest('usr/app/node_modules/semver/package.json'), true);
  assert.equal(isNodeModulesManifest('node_modules/@babel/core/package.json'), true);
  assert.equal(isNodeModulesManifest('a/node_modules/x/node_modules/@s/b/package.json'), true);
  assert.equal(isNodeModulesManifest('x/node_modules/rxjs/ajax/package.json'), false);
  assert.equal(isNodeModulesManifest('x/node_modules/@scope/package.json'), false);
  assert.equal(isNodeModulesManifest('x/node_modules/package.json'), false);
  assert.equal(isNodeModulesManifest('x/node_modules/.bin/package.json'), false);
  assert.equal(isNodeModulesManifest('usr/app/package.json'), false);
  assert.equal(isNodeModulesManifest('x/node_modules/semver/package.json.bak'), false);
  assert.equal(isLockfile('usr/app/package-lock.json'), true);
  assert.equal(isLockfile('package-lock.json'), true);
  assert.equal(isLockfile('app/node_modules/x/package-lock.json'), false);
});

test('purls: scoped names are percent-encoded', () => {
  assert.equal(npmPurl('@babel/core', '7.24.0'), 'pkg:npm/%40babel/core@7.24.0');
  assert.equal(npmPurl('semver', '7.8.6'), 'pkg:npm/semver@7.8.6');
});

test('real installed packages: name, version, license and purl from their package.json', async () => {
  const names = ['semver', 'fflate', '@renovatebot/pep440', 'spdx-correct/node_modules/spdx-expression-parse'];
  const { packages } = await runAnalyzer(
    npmAnalyzer(),
    names.map((n) => ({ path: `usr/app/node_modules/${n}/package.json`, source: `${NM}/${n}/package.json` })),
  );
  const expected = names.map((n) => {
    const p = installed(n);
    return {
      type: 'npm',
      name: p.name,
      version: p.version,
      licenses: [p.license],
      path: `usr/app/node_modules/${n}/package.json`,
      purl: npmPurl(p.name, p.version),
    };
  });
  assert.deepEqual(packages, expected);
  // What this checkout has installed today (kept exact so a parsing slip shows).
  assert.equal(packages[0]?.purl, `pkg:npm/semver@${installed('semver').version}`);
  assert.equal(packages[2]?.purl, `pkg:npm/%40renovatebot/pep440@${installed('@renovatebot/pep440').version}`);
  assert.equal(packages[3]?.name, 'spdx-expression-parse');
  assert.equal(packages[3]?.version, '3.0.1');
});

test('a subfolder package.json (rxjs/ajax style) is not asked for', async () => {
  const { results } = await runAnalyzer(npmAnalyzer(), [
    { path: 'app/node_modules/semver/functions/package.json', source: `${NM}/semver/package.json` },
  ]);
  assert.equal(results.size, 0);
});

const FIXTURE_PACKAGES = [
  ['node_modules/@renovatebot/pep440', '@renovatebot/pep440', '4.2.4'],
  ['node_modules/semver', 'semver', '7.8.6'],
  ['node_modules/spdx-correct', 'spdx-correct', '3.2.0'],
  ['node_modules/spdx-correct/node_modules/spdx-expression-parse', 'spdx-expression-parse', '3.0.1'],
  ['node_modules/spdx-exceptions', 'spdx-exceptions', '2.5.0'],
  ['node_modules/spdx-expression-parse', 'spdx-expression-parse', '4.0.0'],
  ['node_modules/spdx-license-ids', 'spdx-license-ids', '3.0.24'],
];

for (const v of [1, 2, 3]) {
  test(`package-lock.json v${v} written by npm: every installed package, no root, no dev dependency`, () => {
    const list = parsePackageLock(readFileSync(`${FIXTURES}/package-lock-v${v}.json`, 'utf8'));
    const got = list.map((p) => [p.location, p.name, p.version]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(got, FIXTURE_PACKAGES);
  });
}

test('v3 lockfile licenses come through; v1 has none', () => {
  const v3 = parsePackageLock(readFileSync(`${FIXTURES}/package-lock-v3.json`, 'utf8'));
  assert.deepEqual(v3.find((p) => p.name === 'semver')?.licenses, ['ISC']);
  const v1 = parsePackageLock(readFileSync(`${FIXTURES}/package-lock-v1.json`, 'utf8'));
  assert.deepEqual(v1.find((p) => p.name === 'semver')?.licenses, []);
});

test('this checkout\'s package-lock.json agrees with its installed node_modules', async () => {
  const { packages } = await runAnalyzer(npmAnalyzer(), [{ path: 'srv/package-lock.json', source: 'package-lock.json' }]);
  assert.ok(packages.length > 50, `only ${packages.length} packages`);
  for (const p of packages) {
    assert.equal(p.path, 'srv/package-lock.json');
    assert.equal(p.purl, npmPurl(p.name, p.version));
  }
  assert.deepEqual(packages.filter((p) => p.name === 'semver').map((p) => p.version), [installed('semver').version]);
  const fflate = packages.filter((p) => p.name === 'fflate');
  assert.deepEqual(fflate.map((p) => [p.version, p.licenses]), [[installed('fflate').version, ['MIT']]]);
  // npm wrote the lock and the tree together: each entry is installed at its location with its
  // name and version, except optional packages for other platforms, which npm does not install.
  // The lock is a JSON object of entries; only `dev` and `optional` are read here.
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, { dev?: boolean; optional?: boolean }>;
  };
  const entries = parsePackageLock(readFileSync('package-lock.json', 'utf8'));
  assert.equal(entries.length, packages.length);
  let checked = 0;
  for (const entry of entries) {
    const file = `${entry.location}/package.json`;
    if (!existsSync(file)) {
      assert.equal(lock.packages[entry.location]?.optional, true, `${entry.location} is not installed`);
      continue;
    }
    // package.json is JSON; name and version are compared below.
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string };
    assert.deepEqual([entry.name, entry.version], [pkg.name, pkg.version], entry.location);
    assert.notEqual(lock.packages[entry.location]?.dev, true);
    checked++;
  }
  assert.ok(checked > 50);
  // Dev dependencies are left out.
  const dev = Object.keys(lock.packages).filter((k) => lock.packages[k]?.dev === true);
  assert.ok(dev.length > 0);
  for (const k of dev) assert.equal(entries.some((e) => e.location === k), false, k);
});

test('a package in node_modules and in the lockfile at the same place is reported once', async () => {
  const { packages } = await runAnalyzer(npmAnalyzer(), [
    { path: 'app/package-lock.json', source: `${FIXTURES}/package-lock-v3.json` },
    { path: 'app/node_modules/semver/package.json', source: `${NM}/semver/package.json` },
    // Same package and version, another place: a separate install.
    { path: 'other/node_modules/semver/package.json', source: `${NM}/semver/package.json` },
  ]);
  const semverPkgs = packages.filter((p) => p.name === 'semver').map((p) => p.path);
  assert.deepEqual(semverPkgs, ['app/node_modules/semver/package.json', 'other/node_modules/semver/package.json']);
  assert.equal(packages.length, FIXTURE_PACKAGES.length + 1);
});

test('license as {type}, legacy licenses[], aliases, links and non-semver versions', async () => {
  const manifest = Buffer.from(JSON.stringify({ name: '@s/x', version: '1.0.0', license: { type: 'MIT' } }));
  const legacy = Buffer.from(JSON.stringify({ name: 'y', version: '2.0.0', licenses: [{ type: 'BSD' }, { type: 'GPL-2.0' }] }));
  const noVersion = Buffer.from(JSON.stringify({ name: 'z' }));
  const lock = Buffer.from(
    JSON.stringify({
      lockfileVersion: 3,
      packages: {
        '': { name: 'root', version: '1.0.0' },
        'node_modules/alias': { name: 'real', version: '3.1.0' },
        'node_modules/ws': { resolved: 'packages/ws', link: true },
        'packages/ws': { name: 'ws', version: '0.0.1' },
        'node_modules/gitdep': { version: 'git+ssh://git@github.com/a/b.git#abc' },
      },
    }),
  );
  const v1 = Buffer.from(
    JSON.stringify({ lockfileVersion: 1, dependencies: { al: { version: 'npm:@s/real@2.0.0' }, f: { version: 'file:../f' } } }),
  );
  const { packages } = await runAnalyzer(npmAnalyzer(), [
    { path: 'a/node_modules/@s/x/package.json', source: manifest },
    { path: 'a/node_modules/y/package.json', source: legacy, chunkSize: 7 },
    { path: 'a/node_modules/z/package.json', source: noVersion },
    { path: 'b/package-lock.json', source: lock },
    { path: 'c/package-lock.json', source: v1 },
  ]);
  assert.deepEqual(
    packages.map((p) => [p.path, p.name, p.version, p.licenses, p.purl]),
    [
      ['a/node_modules/@s/x/package.json', '@s/x', '1.0.0', ['MIT'], 'pkg:npm/%40s/x@1.0.0'],
      ['a/node_modules/y/package.json', 'y', '2.0.0', ['BSD', 'GPL-2.0'], 'pkg:npm/y@2.0.0'],
      ['b/package-lock.json', 'real', '3.1.0', [], 'pkg:npm/real@3.1.0'],
      ['c/package-lock.json', '@s/real', '2.0.0', [], 'pkg:npm/%40s/real@2.0.0'],
    ],
  );
});
