import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dpkgAnalyzer, isInstalled, parseControl, parseDpkgStatus } from './dpkg.ts';

const STATUS = `Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.
 .
 Package: not-a-field

Package: libgcc-s1
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
Conffiles:
 /etc/foo 0123

Package: old-removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: purged
Status: purge ok not-installed
Architecture: amd64
Version: 1.0-1

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5)
Version: 1:2.38.1-5+b1
`;

test('parseControl folds continuation lines away and splits on blank lines', () => {
  const paragraphs = parseControl('A: 1\nB: two\n words\n\n\nA: 3\r\n');
  assert.deepEqual(paragraphs, [{ A: '1', B: 'two' }, { A: '3' }]);
});

test('isInstalled: deinstall, purge, not-installed and config-files are not installed', () => {
  assert.equal(isInstalled('install ok installed'), true);
  assert.equal(isInstalled('hold ok installed'), true);
  assert.equal(isInstalled('deinstall ok config-files'), false);
  assert.equal(isInstalled('purge ok not-installed'), false);
  assert.equal(isInstalled('install ok not-installed'), false);
  assert.equal(isInstalled(undefined), true);
});

test('parseDpkgStatus: Source with and without a version, removed packages dropped', () => {
  assert.deepEqual(parseDpkgStatus(STATUS), [
    { name: 'libssl3', version: '3.0.11-1~deb12u2', srcName: 'openssl', srcVersion: '3.0.11-1~deb12u2', arch: 'amd64' },
    { name: 'libgcc-s1', version: '12.2.0-14', srcName: 'gcc-12', srcVersion: '12.2.0-14', arch: 'amd64' },
    { name: 'bsdutils', version: '1:2.38.1-5+b1', srcName: 'util-linux', srcVersion: '2.38.1-5', arch: 'amd64' },
  ]);
});

test('wants: status, status.d files except md5sums', () => {
  const w = (path: string) => dpkgAnalyzer.wants({ path, size: 1, mode: 0o644 });
  assert.equal(w('var/lib/dpkg/status'), true);
  assert.equal(w('var/lib/dpkg/status.d/base-files'), true);
  assert.equal(w('var/lib/dpkg/status.d/base-files.md5sums'), false);
  assert.equal(w('var/lib/dpkg/status-old'), false);
  assert.equal(w('var/lib/dpkg/status.d/sub/x'), false);
});

test('collect: purls with the OS, paths kept, duplicates across files once', () => {
  const pkgs = dpkgAnalyzer.collect(
    new Map([
      ['var/lib/dpkg/status', parseDpkgStatus(STATUS)],
      ['var/lib/dpkg/status.d/libssl3', parseDpkgStatus(STATUS).slice(0, 1)],
    ]),
    { family: 'debian', version: '12.5', name: 'Debian GNU/Linux 12 (bookworm)' },
  );
  assert.equal(pkgs.length, 3);
  assert.deepEqual(pkgs[0], {
    type: 'deb',
    name: 'libssl3',
    version: '3.0.11-1~deb12u2',
    srcName: 'openssl',
    srcVersion: '3.0.11-1~deb12u2',
    arch: 'amd64',
    licenses: [],
    path: 'var/lib/dpkg/status',
    purl: 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5',
  });
  assert.equal(pkgs[2]?.purl, 'pkg:deb/debian/bsdutils@2.38.1-5+b1?arch=amd64&distro=debian-12.5&epoch=1');
});

test('this machine\'s dpkg status parses to what dpkg-query reports', { skip: !existsSync('/var/lib/dpkg/status') }, () => {
  const pkgs = parseDpkgStatus(readFileSync('/var/lib/dpkg/status', 'utf8'));
  const query = execFileSync('dpkg-query', ['-W', '-f=${binary:Package}\\t${Version}\\t${source:Package}\\t${source:Version}\\t${db:Status-Abbrev}\\n'], { encoding: 'utf8' });
  const installed = query
    .trim()
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f[4]?.startsWith('ii'));
  assert.equal(pkgs.length, installed.length);
  const byName = new Map(pkgs.map((p) => [p.arch === 'amd64' || p.arch === 'all' ? p.name : `${p.name}:${p.arch}`, p]));
  for (const [name, version, srcName, srcVersion] of installed) {
    const p = byName.get(name?.replace(/:amd64$/, '') ?? '');
    assert.ok(p, `${name} missing`);
    assert.equal(p.version, version, name);
    assert.equal(p.srcName, srcName, name);
    assert.equal(p.srcVersion, srcVersion, name);
  }
});
