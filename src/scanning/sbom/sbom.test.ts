import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InstalledPackage, Inventory } from '../analyzer/types.ts';
import { cycloneDxDocument, validateCycloneDx } from './cyclonedx.ts';
import { CYCLONEDX_MEDIA_TYPE, SPDX_ID_PATTERN, SPDX_MEDIA_TYPE, spdxDocument, type SbomSubject } from './index.ts';

const subject: SbomSubject = { repository: 'library/app', digest: 'sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4', tag: '1.4.2' };
const now = new Date('2024-06-10T06:13:19.250Z');
const serial = '8b6f0f4e-1a2b-4c3d-9e8f-001122334455';
const uuid = '0d5c5f0a-7c4e-4c36-9a7b-4c1d2e3f4a5b';

const msPackage: InstalledPackage = { type: 'npm', name: 'ms', version: '2.1.3', licenses: ['MIT'], path: 'usr/app/node_modules/ms/package.json', purl: 'pkg:npm/ms@2.1.3' };

const pkgs: InstalledPackage[] = [
  {
    type: 'deb',
    name: 'libssl3',
    version: '3.0.15-1~deb12u1',
    srcName: 'openssl',
    arch: 'amd64',
    licenses: ['Apache-2.0'],
    path: 'var/lib/dpkg/status',
    purl: 'pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12.8',
  },
  {
    type: 'deb',
    name: 'bash',
    version: '5.2.15-2+b7',
    srcName: 'bash',
    srcVersion: '5.2.15-2',
    arch: 'amd64',
    licenses: ['GPL-3.0+', 'BSD-4-clause-UC', 'Some custom text'],
    path: 'var/lib/dpkg/status',
    purl: 'pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12.8',
  },
  {
    type: 'apk',
    name: 'libcrypto3',
    version: '3.1.4-r2',
    srcName: 'openssl',
    arch: 'x86_64',
    licenses: ['Apache-2.0'],
    path: 'lib/apk/db/installed',
    purl: 'pkg:apk/alpine/libcrypto3@3.1.4-r2?arch=x86_64&distro=3.20.3',
  },
  {
    type: 'rpm',
    name: 'openssl-libs',
    version: '1:3.0.7-27.el9',
    srcName: 'openssl',
    srcVersion: '1:3.0.7-27.el9',
    arch: 'x86_64',
    licenses: ['ASL 2.0'],
    path: 'var/lib/rpm/rpmdb.sqlite',
    purl: 'pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&distro=redhat-9.3',
  },
  { type: 'npm', name: '@babel/core', version: '7.24.7', licenses: ['MIT'], path: 'usr/app/node_modules/@babel/core/package.json', purl: 'pkg:npm/%40babel/core@7.24.7' },
  msPackage,
  // The same package installed twice at two paths: two components, two distinct bom-refs.
  { type: 'npm', name: 'ms', version: '2.1.3', licenses: ['MIT'], path: 'usr/app/node_modules/debug/node_modules/ms/package.json', purl: 'pkg:npm/ms@2.1.3' },
  { type: 'pypi', name: 'requests', version: '2.32.3', licenses: ['Apache 2.0'], path: 'usr/lib/python3/dist-packages/requests-2.32.3.dist-info/METADATA', purl: 'pkg:pypi/requests@2.32.3' },
  { type: 'golang', name: 'golang.org/x/net', version: 'v0.26.0', licenses: [], path: 'usr/local/bin/app', purl: 'pkg:golang/golang.org/x/net@v0.26.0' },
  {
    type: 'maven',
    name: 'com.fasterxml.jackson.core:jackson-databind',
    version: '2.17.1',
    licenses: ['Apache-2.0 OR MIT'],
    path: 'app/lib/jackson-databind-2.17.1.jar',
    purl: 'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.1',
  },
  { type: 'pypi', name: 'legacy', version: '1.0', licenses: ['GPL-2.0+'], path: 'usr/lib/python3/dist-packages/legacy-1.0.egg-info/PKG-INFO', purl: 'pkg:pypi/legacy@1.0' },
];

const inventory: Inventory = { os: { family: 'debian', version: '12.8', name: 'Debian GNU/Linux 12 (bookworm)' }, packages: pkgs, layers: 3, compressedBytes: 31_457_280 };

type Json = Record<string, unknown>;
function obj(v: unknown): Json {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `not an object: ${JSON.stringify(v)}`);
  return Object.fromEntries(Object.entries(v));
}
function list(v: unknown): Json[] {
  assert.ok(Array.isArray(v), `not a list: ${JSON.stringify(v)}`);
  return v.map(obj);
}
/** The document as a receiver reads it (undefined members gone). */
function roundTrip(doc: unknown): Json {
  return obj(JSON.parse(JSON.stringify(doc)));
}

test('sbom: media types', () => {
  assert.equal(SPDX_MEDIA_TYPE, 'application/spdx+json');
  assert.equal(CYCLONEDX_MEDIA_TYPE, 'application/vnd.cyclonedx+json');
});

for (const specVersion of ['1.5', '1.6'] as const) {
  test(`CycloneDX ${specVersion}: validates against the library's bundled strict schema`, async () => {
    const doc = cycloneDxDocument(inventory, subject, { specVersion, now, serialNumber: serial });
    assert.equal(await validateCycloneDx(doc, specVersion), null);
    assert.equal(doc['specVersion'], specVersion);
    assert.equal(doc['$schema'], `http://cyclonedx.org/schema/bom-${specVersion}.schema.json`);
  });
}

test('CycloneDX: an invalid document fails validation, with the offending path', async () => {
  const doc = roundTrip(cycloneDxDocument(inventory, subject, { specVersion: '1.6', now, serialNumber: serial }));
  const components = list(doc['components']);
  const broken = { ...doc, components: [{ ...components[0], type: 'not-a-type' }, ...components.slice(1)] };
  const issues = await validateCycloneDx(broken, '1.6');
  assert.ok(issues !== null && issues.some((i) => i.path === '/components/0/type'), JSON.stringify(issues));
  // The strict schema refuses unknown top-level members too.
  const extra = await validateCycloneDx({ ...doc, wharf: true }, '1.5');
  assert.ok(extra !== null && extra.length > 0);
  const noSerial = await validateCycloneDx({ ...doc, serialNumber: 'not-a-urn' }, '1.6');
  assert.ok(noSerial !== null && noSerial.some((i) => i.path === '/serialNumber'), JSON.stringify(noSerial));
});

test('CycloneDX: metadata, the image component, tools and the serial number', () => {
  const doc = roundTrip(cycloneDxDocument(inventory, subject, { now, serialNumber: serial }));
  assert.equal(doc['bomFormat'], 'CycloneDX');
  assert.equal(doc['specVersion'], '1.6');
  assert.equal(doc['version'], 1);
  assert.equal(doc['serialNumber'], `urn:uuid:${serial}`);
  const meta = obj(doc['metadata']);
  assert.equal(meta['timestamp'], '2024-06-10T06:13:19.250Z');
  assert.deepEqual(meta['tools'], { components: [{ type: 'application', name: 'wharf-scanner', version: '0.1.0', publisher: 'Wharf' }] });
  assert.deepEqual(meta['component'], {
    type: 'container',
    name: 'library/app',
    version: subject.digest,
    'bom-ref': `library/app@${subject.digest}`,
    properties: [{ name: 'wharf:image:tag', value: '1.4.2' }],
  });
});

test('CycloneDX: every package is a library component with its purl, licenses and source; the OS is one component', () => {
  const doc = roundTrip(cycloneDxDocument(inventory, subject, { now, serialNumber: serial }));
  const components = list(doc['components']);
  assert.equal(components.length, pkgs.length + 1);
  const byRef = new Map(components.map((c) => [c['bom-ref'], c]));
  assert.equal(byRef.size, components.length, 'bom-refs are unique');
  assert.deepEqual(byRef.get('os:debian@12.8'), { type: 'operating-system', name: 'debian', version: '12.8', description: 'Debian GNU/Linux 12 (bookworm)', 'bom-ref': 'os:debian@12.8' });
  assert.deepEqual(byRef.get('pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12.8'), {
    type: 'library',
    name: 'bash',
    version: '5.2.15-2+b7',
    'bom-ref': 'pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12.8',
    // Free text among them: one entry each (a CycloneDX expression cannot sit beside entries),
    // in the library's sorted order.
    licenses: [{ license: { name: 'Some custom text' } }, { license: { id: 'BSD-4-Clause-UC' } }, { license: { id: 'GPL-3.0-or-later' } }],
    purl: 'pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12.8',
    properties: [
      { name: 'wharf:package:path', value: 'var/lib/dpkg/status' },
      { name: 'wharf:package:source_name', value: 'bash' },
      { name: 'wharf:package:source_version', value: '5.2.15-2' },
    ],
  });
  const babel = byRef.get('pkg:npm/%40babel/core@7.24.7');
  assert.equal(babel?.['group'], '@babel');
  assert.equal(babel?.['name'], 'core');
  assert.deepEqual(babel?.['licenses'], [{ license: { id: 'MIT' } }]);
  const jackson = byRef.get('pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.1');
  assert.equal(jackson?.['group'], 'com.fasterxml.jackson.core');
  assert.equal(jackson?.['name'], 'jackson-databind');
  assert.deepEqual(jackson?.['licenses'], [{ expression: 'Apache-2.0 OR MIT' }]);
  assert.deepEqual(byRef.get('pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&distro=redhat-9.3')?.['licenses'], [{ license: { id: 'Apache-2.0' } }]);
  assert.deepEqual(byRef.get('pkg:pypi/legacy@1.0')?.['licenses'], [{ license: { id: 'GPL-2.0-or-later' } }]);
  assert.equal(byRef.get('pkg:golang/golang.org/x/net@v0.26.0')?.['licenses'], undefined);
  assert.equal(byRef.get('pkg:npm/ms@2.1.3')?.['purl'], 'pkg:npm/ms@2.1.3');
  assert.equal(byRef.get('pkg:npm/ms@2.1.3#usr/app/node_modules/debug/node_modules/ms/package.json')?.['purl'], 'pkg:npm/ms@2.1.3');
});

test('CycloneDX: the image depends on every component', () => {
  const doc = roundTrip(cycloneDxDocument(inventory, subject, { now, serialNumber: serial }));
  const deps = list(doc['dependencies']);
  const root = deps.find((d) => d['ref'] === `library/app@${subject.digest}`);
  const refs = list(doc['components']).map((c) => c['bom-ref']);
  assert.deepEqual([...(Array.isArray(root?.['dependsOn']) ? root['dependsOn'] : [])].sort(), [...refs].sort());
});

test('CycloneDX: the same inputs give the same bytes; no OS gives no operating-system component', () => {
  const a = JSON.stringify(cycloneDxDocument(inventory, subject, { now, serialNumber: serial }));
  const b = JSON.stringify(cycloneDxDocument(inventory, subject, { now, serialNumber: `urn:uuid:${serial}` }));
  assert.equal(a, b);
  const scratch = roundTrip(cycloneDxDocument({ ...inventory, os: null, packages: pkgs.slice(4, 5) }, subject, { now, serialNumber: serial }));
  assert.deepEqual(
    list(scratch['components']).map((c) => c['type']),
    ['library'],
  );
});

test('SPDX: the document header is SPDX 2.3 with Wharf as creator', () => {
  const doc = roundTrip(spdxDocument(inventory, subject, { now, uuid, namespaceBase: 'https://wharf.example/' }));
  assert.equal(doc['spdxVersion'], 'SPDX-2.3');
  assert.equal(doc['dataLicense'], 'CC0-1.0');
  assert.equal(doc['SPDXID'], 'SPDXRef-DOCUMENT');
  assert.equal(doc['name'], `library/app@${subject.digest}`);
  assert.equal(doc['documentNamespace'], `https://wharf.example/spdx/library/app/954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4-${uuid}`);
  assert.deepEqual(doc['creationInfo'], { created: '2024-06-10T06:13:19Z', creators: ['Organization: Wharf', 'Tool: wharf-scanner-0.1.0'] });
});

test('SPDX: ids are unique and valid; DESCRIBES the image, which CONTAINS the OS and every package', () => {
  const doc = roundTrip(spdxDocument(inventory, subject, { now, uuid }));
  const packages = list(doc['packages']);
  const ids = packages.map((p) => String(p['SPDXID']));
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, SPDX_ID_PATTERN);
  assert.deepEqual(ids.slice(0, 4), ['SPDXRef-Image', 'SPDXRef-OperatingSystem', 'SPDXRef-Package-1', 'SPDXRef-Package-2']);
  assert.equal(ids.length, pkgs.length + 2);
  assert.deepEqual(packages[0], {
    SPDXID: 'SPDXRef-Image',
    name: 'library/app',
    versionInfo: subject.digest,
    downloadLocation: 'NONE',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'CONTAINER',
  });
  assert.equal(packages[1]?.['primaryPackagePurpose'], 'OPERATING-SYSTEM');
  const rels = list(doc['relationships']);
  assert.deepEqual(rels[0], { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' });
  assert.deepEqual(
    rels.slice(1).map((r) => `${String(r['spdxElementId'])} ${String(r['relationshipType'])} ${String(r['relatedSpdxElement'])}`),
    ids.slice(1).map((id) => `SPDXRef-Image CONTAINS ${id}`),
  );
  for (const r of rels) {
    assert.ok(r['spdxElementId'] === 'SPDXRef-DOCUMENT' || ids.includes(String(r['spdxElementId'])));
    assert.ok(ids.includes(String(r['relatedSpdxElement'])));
  }
});

test('SPDX: a package has its version, purl, source and declared license', () => {
  const doc = roundTrip(spdxDocument(inventory, subject, { now, uuid }));
  const packages = list(doc['packages']);
  assert.deepEqual(packages[2], {
    SPDXID: 'SPDXRef-Package-1',
    name: 'libssl3',
    versionInfo: '3.0.15-1~deb12u1',
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'Apache-2.0',
    copyrightText: 'NOASSERTION',
    sourceInfo: 'built package from: openssl 3.0.15-1~deb12u1',
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12.8' }],
    primaryPackagePurpose: 'LIBRARY',
  });
  const byName = (n: string): Json | undefined => packages.find((p) => p['name'] === n);
  assert.equal(byName('bash')?.['sourceInfo'], 'built package from: bash 5.2.15-2');
  // Language packages have no source package.
  assert.equal(byName('ms')?.['sourceInfo'], undefined);
  assert.equal(byName('golang.org/x/net')?.['licenseDeclared'], 'NOASSERTION');
});

test('SPDX: licenses are valid expressions; corrected spellings; free text becomes a declared LicenseRef', () => {
  const doc = roundTrip(spdxDocument(inventory, subject, { now, uuid }));
  const declared = new Map(list(doc['packages']).map((p) => [String(p['name']), p['licenseDeclared']]));
  assert.equal(declared.get('ms'), 'MIT');
  assert.equal(declared.get('com.fasterxml.jackson.core:jackson-databind'), 'Apache-2.0 OR MIT');
  assert.equal(declared.get('legacy'), 'GPL-2.0-or-later');
  assert.equal(declared.get('requests'), 'Apache-2.0');
  assert.equal(declared.get('openssl-libs'), 'Apache-2.0');
  assert.equal(declared.get('bash'), 'GPL-3.0-or-later AND BSD-4-Clause-UC AND LicenseRef-Some-custom-text');
  assert.deepEqual(doc['hasExtractedLicensingInfos'], [{ licenseId: 'LicenseRef-Some-custom-text', extractedText: 'Some custom text', name: 'Some custom text' }]);
});

test('SPDX: two texts that sanitise alike get distinct LicenseRefs; no free text, no extracted infos', () => {
  const twins: Inventory = {
    ...inventory,
    packages: [
      { ...msPackage, name: 'a', licenses: ['Custom/licence'] },
      { ...msPackage, name: 'b', licenses: ['Custom licence'] },
    ],
  };
  const doc = roundTrip(spdxDocument(twins, subject, { now, uuid }));
  assert.deepEqual(
    list(doc['packages']).slice(2).map((p) => p['licenseDeclared']),
    ['LicenseRef-Custom-licence', 'LicenseRef-Custom-licence-2'],
  );
  const plain = roundTrip(spdxDocument({ ...inventory, packages: pkgs.slice(4, 6) }, subject, { now, uuid }));
  assert.equal(plain['hasExtractedLicensingInfos'], undefined);
});

test('SPDX: the same inputs give the same bytes; a random namespace otherwise', () => {
  assert.equal(JSON.stringify(spdxDocument(inventory, subject, { now, uuid })), JSON.stringify(spdxDocument(inventory, subject, { now, uuid })));
  const a = spdxDocument(inventory, subject, { now });
  const b = spdxDocument(inventory, subject, { now });
  assert.notEqual(a.documentNamespace, b.documentNamespace);
  assert.match(a.documentNamespace, /^https:\/\/wharf\.invalid\/spdx\/library\/app\/954b[0-9a-f]{60}-[0-9a-f-]{36}$/);
});
