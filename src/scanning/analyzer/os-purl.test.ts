import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dedupePackages, osPurl, splitEpoch } from './os-purl.ts';

test('splitEpoch takes a numeric prefix before the first colon only', () => {
  assert.deepEqual(splitEpoch('1:2.38.1-5+b1'), { epoch: '1', version: '2.38.1-5+b1' });
  assert.deepEqual(splitEpoch('2.36-9'), { epoch: '', version: '2.36-9' });
  assert.deepEqual(splitEpoch('x:1'), { epoch: '', version: 'x:1' });
});

test('purls: deb, ubuntu, apk, rpm family names, epoch as a qualifier, no OS', () => {
  const debian = { family: 'debian', version: '12.5', name: 'Debian' };
  assert.equal(
    osPurl({ type: 'deb', name: 'libssl3', version: '3.0.11-1~deb12u2', arch: 'amd64' }, debian),
    'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5',
  );
  assert.equal(
    osPurl({ type: 'deb', name: 'bsdutils', version: '1:2.38.1-5+b1', arch: 'amd64' }, { family: 'ubuntu', version: '22.04', name: 'U' }),
    'pkg:deb/ubuntu/bsdutils@2.38.1-5+b1?arch=amd64&distro=ubuntu-22.04&epoch=1',
  );
  assert.equal(
    osPurl({ type: 'apk', name: 'musl', version: '1.2.5-r0', arch: 'x86_64' }, { family: 'alpine', version: '3.20.3', name: 'A' }),
    'pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3',
  );
  assert.equal(
    osPurl({ type: 'rpm', name: 'openssl-libs', version: '1:3.0.7-27.el9', arch: 'x86_64' }, { family: 'rhel', version: '9.3', name: 'R' }),
    'pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=redhat-9.3&epoch=1',
  );
  assert.equal(osPurl({ type: 'rpm', name: 'bash', version: '0:5.1.8-6.el9', arch: 'x86_64' }, { family: 'rocky', version: '9.3', name: 'R' }), 'pkg:rpm/rocky/bash@5.1.8-6.el9?arch=x86_64&distro=rocky-9.3');
  assert.equal(osPurl({ type: 'deb', name: 'tzdata', version: '2024a-0+deb12u1', arch: 'all' }, null), 'pkg:deb/debian/tzdata@2024a-0+deb12u1?arch=all');
});

test('dedupePackages keeps the first of each name, version and arch', () => {
  const out = dedupePackages([
    [{ name: 'a', version: '1', arch: 'x', path: 'p1' }],
    [{ name: 'a', version: '1', arch: 'x', path: 'p2' }, { name: 'a', version: '1', arch: 'y', path: 'p2' }],
  ]);
  assert.deepEqual(out.map((p) => `${p.arch}@${p.path}`), ['x@p1', 'y@p2']);
});
