import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InstalledPackage, OsInfo } from '../analyzer/types.ts';
import { osEcosystem, osvKeyOf, ubuntuEcosystem } from './ecosystems.ts';

const pkg = (over: Partial<InstalledPackage> & Pick<InstalledPackage, 'type' | 'name' | 'version'>): InstalledPackage => ({ licenses: [], path: '', purl: '', ...over });
const os = (family: string, version: string): OsInfo => ({ family, version, name: `${family} ${version}` });

test('OS ecosystems: Debian by major, Ubuntu LTS, Alpine major.minor with v, Rocky and Alma by major', () => {
  assert.equal(osEcosystem(os('debian', '12.11')), 'Debian:12');
  assert.equal(osEcosystem(os('debian', 'bookworm/sid')), null);
  assert.equal(osEcosystem(os('ubuntu', '22.04')), 'Ubuntu:22.04:LTS');
  assert.equal(osEcosystem(os('ubuntu', '24.04')), 'Ubuntu:24.04:LTS');
  assert.equal(osEcosystem(os('ubuntu', '18.04')), 'Ubuntu:18.04:LTS');
  assert.equal(osEcosystem(os('ubuntu', '23.10')), 'Ubuntu:23.10');
  assert.equal(ubuntuEcosystem('21.04'), 'Ubuntu:21.04');
  assert.equal(osEcosystem(os('alpine', '3.20.3')), 'Alpine:v3.20');
  assert.equal(osEcosystem(os('rocky', '9.3')), 'Rocky Linux:9');
  assert.equal(osEcosystem(os('almalinux', '8.10')), 'AlmaLinux:8');
  assert.equal(osEcosystem(os('fedora', '40')), null);
  assert.equal(osEcosystem(null), null);
});

test('package keys: distro packages by source name and version; language packages by their ecosystem', () => {
  const deb = os('debian', '12.11');
  assert.deepEqual(osvKeyOf(pkg({ type: 'deb', name: 'libssl3', version: '3.0.19-1~deb12u2', srcName: 'openssl' }), deb), { ecosystem: 'Debian:12', name: 'openssl', version: '3.0.19-1~deb12u2' });
  assert.deepEqual(osvKeyOf(pkg({ type: 'deb', name: 'bash', version: '5.2.15-2+b8', srcName: 'bash', srcVersion: '5.2.15-2' }), deb), { ecosystem: 'Debian:12', name: 'bash', version: '5.2.15-2' });
  assert.deepEqual(osvKeyOf(pkg({ type: 'deb', name: 'tar', version: '1.34+dfsg-1.2+deb12u1' }), deb), { ecosystem: 'Debian:12', name: 'tar', version: '1.34+dfsg-1.2+deb12u1' });
  assert.deepEqual(osvKeyOf(pkg({ type: 'apk', name: 'libcrypto3', version: '3.1.4-r2', srcName: 'openssl' }), os('alpine', '3.19.1')), { ecosystem: 'Alpine:v3.19', name: 'openssl', version: '3.1.4-r2' });
  assert.deepEqual(osvKeyOf(pkg({ type: 'rpm', name: 'openssl-libs', version: '1:3.0.7-25.el9_3', srcName: 'openssl' }), os('rocky', '9.3')), { ecosystem: 'Rocky Linux:9', name: 'openssl', version: '1:3.0.7-25.el9_3' });
  // No OS, an OS Wharf has no ecosystem for, or another distro's package type: no key.
  assert.equal(osvKeyOf(pkg({ type: 'deb', name: 'zlib1g', version: '1' }), null), null);
  assert.equal(osvKeyOf(pkg({ type: 'rpm', name: 'zlib', version: '1' }), os('fedora', '40')), null);
  assert.equal(osvKeyOf(pkg({ type: 'apk', name: 'zlib', version: '1' }), deb), null);
  assert.deepEqual(osvKeyOf(pkg({ type: 'npm', name: '@babel/core', version: '7.0.0' }), null), { ecosystem: 'npm', name: '@babel/core', version: '7.0.0' });
  assert.deepEqual(osvKeyOf(pkg({ type: 'pypi', name: 'Zope.Interface_x', version: '5.0' }), deb), { ecosystem: 'PyPI', name: 'zope-interface-x', version: '5.0' });
  assert.deepEqual(osvKeyOf(pkg({ type: 'golang', name: 'golang.org/x/net', version: 'v0.16.0' }), null), { ecosystem: 'Go', name: 'golang.org/x/net', version: '0.16.0' });
  assert.deepEqual(osvKeyOf(pkg({ type: 'golang', name: 'stdlib', version: 'go1.21.3' }), null), { ecosystem: 'Go', name: 'stdlib', version: '1.21.3' });
  assert.deepEqual(osvKeyOf(pkg({ type: 'maven', name: 'org.apache.logging.log4j:log4j-core', version: '2.14.1' }), null), { ecosystem: 'Maven', name: 'org.apache.logging.log4j:log4j-core', version: '2.14.1' });
});
