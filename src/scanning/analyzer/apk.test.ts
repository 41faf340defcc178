import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { apkAnalyzer, parseApkInstalled } from './apk.ts';

const FIXTURE = readFileSync(new URL('../../../test/fixtures/scanning/apk-installed', import.meta.url), 'utf8');

test('parseApkInstalled reads P V A o L, first value of each key, origin defaulting to the name', () => {
  assert.deepEqual(parseApkInstalled(FIXTURE), [
    { name: 'musl', version: '1.2.5-r0', origin: 'musl', arch: 'x86_64', license: 'MIT' },
    { name: 'busybox', version: '1.36.1-r29', origin: 'busybox', arch: 'x86_64', license: 'GPL-2.0-only' },
    { name: 'libcrypto3', version: '3.3.2-r0', origin: 'openssl', arch: 'x86_64', license: 'Apache-2.0' },
  ]);
  assert.deepEqual(parseApkInstalled('P:x\r\nV:1-r0\r\n'), [{ name: 'x', version: '1-r0', origin: 'x' }]);
  assert.deepEqual(parseApkInstalled('P:noversion\n\nV:1\n'), []);
});

test('collect: purls and source names', () => {
  const pkgs = apkAnalyzer.collect(new Map([['lib/apk/db/installed', parseApkInstalled(FIXTURE)]]), {
    family: 'alpine',
    version: '3.20.3',
    name: 'Alpine Linux v3.20',
  });
  assert.deepEqual(pkgs[2], {
    type: 'apk',
    name: 'libcrypto3',
    version: '3.3.2-r0',
    srcName: 'openssl',
    srcVersion: '3.3.2-r0',
    arch: 'x86_64',
    licenses: ['Apache-2.0'],
    path: 'lib/apk/db/installed',
    purl: 'pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=3.20.3',
  });
});
