import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRpmHeader, parseSourceRpm, readRpmSqlite, rpmAnalyzer, rpmPackage } from './rpm.ts';
import { rpmHeaderBlob, rpmdbSqlite } from '../../../test/helpers/rpm-header.ts';

const OPENSSL = {
  name: 'openssl-libs',
  version: '3.0.7',
  release: '27.el9',
  epoch: 1,
  license: 'ASL 2.0',
  arch: 'x86_64',
  sourceRpm: 'openssl-3.0.7-27.el9.src.rpm',
};

test('parseRpmHeader reads the string and INT32 tags of a header blob', () => {
  assert.deepEqual(parseRpmHeader(rpmHeaderBlob(OPENSSL)), OPENSSL);
  assert.deepEqual(parseRpmHeader(rpmHeaderBlob({ name: 'bash', version: '5.1.8', release: '6.el9_1' })), {
    name: 'bash',
    version: '5.1.8',
    release: '6.el9_1',
  });
});

test('parseRpmHeader rejects truncated and lying blobs', () => {
  const blob = rpmHeaderBlob(OPENSSL);
  assert.equal(parseRpmHeader(blob.subarray(0, 7)), null);
  assert.equal(parseRpmHeader(blob.subarray(0, blob.length - 1)), null);
  const lying = Buffer.from(blob);
  lying.writeUInt32BE(0x7fffffff, 0);
  assert.equal(parseRpmHeader(lying), null);
});

test('parseSourceRpm and rpmPackage: epoch in the version, source name, gpg-pubkey skipped', () => {
  assert.deepEqual(parseSourceRpm('openssl-3.0.7-27.el9.src.rpm'), { name: 'openssl', version: '3.0.7', release: '27.el9' });
  assert.deepEqual(parseSourceRpm('python-setuptools-53.0.0-12.el9.noarch.nosrc.rpm'.replace('.noarch', '')), {
    name: 'python-setuptools',
    version: '53.0.0',
    release: '12.el9',
  });
  assert.equal(parseSourceRpm('broken.src.rpm'), null);
  assert.deepEqual(rpmPackage(OPENSSL), {
    name: 'openssl-libs',
    version: '1:3.0.7-27.el9',
    srcName: 'openssl',
    srcVersion: '1:3.0.7-27.el9',
    arch: 'x86_64',
    license: 'ASL 2.0',
  });
  assert.equal(rpmPackage({ name: 'gpg-pubkey', version: 'fd431d51', release: '4ae0493b' }), null);
});

test('readRpmSqlite reads a real SQLite rpmdb, also one left in WAL mode', () => {
  const rows = [OPENSSL, { name: 'gpg-pubkey', version: 'fd431d51', release: '4ae0493b' }, { name: 'bash', version: '5.1.8', release: '6.el9_1', arch: 'x86_64', license: 'GPLv3+', sourceRpm: 'bash-5.1.8-6.el9_1.src.rpm' }];
  for (const wal of [false, true]) {
    const bytes = rpmdbSqlite(rows, { wal });
    assert.equal(bytes[18], wal ? 2 : 1);
    const pkgs = readRpmSqlite(bytes);
    assert.deepEqual(
      pkgs.map((p) => `${p.name} ${p.version} ${p.srcName} ${p.srcVersion}`),
      ['openssl-libs 1:3.0.7-27.el9 openssl 1:3.0.7-27.el9', 'bash 5.1.8-6.el9_1 bash 5.1.8-6.el9_1'],
    );
  }
});

test('collect: purls with the family as Trivy names it', () => {
  const pkgs = rpmAnalyzer.collect(new Map([['var/lib/rpm/rpmdb.sqlite', [rpmPackage(OPENSSL) ?? assert.fail()]]]), {
    family: 'rhel',
    version: '9.3',
    name: 'Red Hat Enterprise Linux 9.3 (Plow)',
  });
  assert.deepEqual(pkgs, [
    {
      type: 'rpm',
      name: 'openssl-libs',
      version: '1:3.0.7-27.el9',
      srcName: 'openssl',
      srcVersion: '1:3.0.7-27.el9',
      arch: 'x86_64',
      licenses: ['ASL 2.0'],
      path: 'var/lib/rpm/rpmdb.sqlite',
      purl: 'pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=redhat-9.3&epoch=1',
    },
  ]);
});
