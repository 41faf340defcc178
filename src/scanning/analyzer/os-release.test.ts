import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectOs, parseKeyValues, parseOsFile, type OsFile } from './os-release.ts';

function files(entries: Record<string, [OsFile['kind'], string]>): Map<string, OsFile> {
  return new Map(Object.entries(entries).map(([path, [kind, text]]) => [path, parseOsFile(kind, text)]));
}

const DEBIAN_OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';

test('parseKeyValues trims quotes and skips comments and junk', () => {
  assert.deepEqual(parseKeyValues('# c\nID="rocky"\nNAME=\'Rocky Linux\'\nVERSION_ID=9.3\nnoequals\n\n'), {
    ID: 'rocky',
    NAME: 'Rocky Linux',
    VERSION_ID: '9.3',
  });
});

test('Debian: debian_version first line, the name from os-release', () => {
  const os = detectOs(files({ 'etc/os-release': ['os-release', DEBIAN_OS_RELEASE], 'etc/debian_version': ['debian_version', '12.5\n'] }));
  assert.deepEqual(os, { family: 'debian', version: '12.5', name: 'Debian GNU/Linux 12 (bookworm)' });
});

test('Debian: os-release VERSION_ID when debian_version is missing or not numeric', () => {
  assert.deepEqual(detectOs(files({ 'usr/lib/os-release': ['os-release', DEBIAN_OS_RELEASE] })), {
    family: 'debian',
    version: '12',
    name: 'Debian GNU/Linux 12 (bookworm)',
  });
  assert.deepEqual(detectOs(files({ 'etc/debian_version': ['debian_version', 'trixie/sid\n'] })), {
    family: 'debian',
    version: 'trixie/sid',
    name: 'debian trixie/sid',
  });
});

test('Ubuntu: lsb-release wins over debian_version', () => {
  const os = detectOs(
    files({
      'etc/debian_version': ['debian_version', 'bookworm/sid\n'],
      'etc/lsb-release': ['lsb-release', 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION="Ubuntu 22.04.4 LTS"\n'],
      'etc/os-release': ['os-release', 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n'],
    }),
  );
  assert.deepEqual(os, { family: 'ubuntu', version: '22.04', name: 'Ubuntu 22.04.4 LTS' });
});

test('os-release families: Rocky, Amazon, Wolfi; etc/os-release before usr/lib/os-release', () => {
  assert.deepEqual(
    detectOs(
      files({
        'etc/os-release': ['os-release', 'NAME="Rocky Linux"\nVERSION_ID="9.3"\nID="rocky"\nPRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n'],
        'usr/lib/os-release': ['os-release', 'ID=fedora\nVERSION_ID=40\n'],
      }),
    ),
    { family: 'rocky', version: '9.3', name: 'Rocky Linux 9.3 (Blue Onyx)' },
  );
  assert.deepEqual(detectOs(files({ 'etc/os-release': ['os-release', 'NAME="Amazon Linux"\nID="amzn"\nVERSION_ID="2023"\n'] })), {
    family: 'amzn',
    version: '2023',
    name: 'Amazon Linux',
  });
  assert.equal(detectOs(files({ 'etc/os-release': ['os-release', 'ID=wolfi\nVERSION_ID=20230201\n'] }))?.family, 'wolfi');
});

test('Alpine from alpine-release alone; unknown IDs and no files are no OS', () => {
  assert.deepEqual(detectOs(files({ 'etc/alpine-release': ['alpine-release', '3.20.3\n'] })), {
    family: 'alpine',
    version: '3.20.3',
    name: 'alpine 3.20.3',
  });
  assert.equal(detectOs(files({ 'etc/os-release': ['os-release', 'ID=gentoo\nVERSION_ID=2.15\n'] })), null);
  assert.equal(detectOs(new Map()), null);
});
