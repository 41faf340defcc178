/**
 * SBOMs of real data: this machine's own dpkg database and os-release (through the analyzer's
 * parsers) and every npm package installed in Wharf's node_modules with the license it declares.
 * Whatever those hold, the CycloneDX output validates and every SPDX license is an expression.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PackageURL } from 'packageurl-js';
import parse from 'spdx-expression-parse';
import { detectOs, parseOsFile } from '../analyzer/os-release.ts';
import { dpkgAnalyzer, parseDpkgStatus } from '../analyzer/dpkg.ts';
import type { InstalledPackage, Inventory } from '../analyzer/types.ts';
import { cycloneDxDocument, validateCycloneDx } from './cyclonedx.ts';
import { spdxDocument, SPDX_ID_PATTERN } from './index.ts';

const root = new URL('../../../', import.meta.url).pathname;

function npmPackages(): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  const dir = join(root, 'node_modules');
  const names = readdirSync(dir).flatMap((n) => (n.startsWith('@') ? readdirSync(join(dir, n)).map((m) => `${n}/${m}`) : n.startsWith('.') ? [] : [n]));
  for (const name of names) {
    const file = join(dir, name, 'package.json');
    if (!existsSync(file)) continue;
    const pj: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof pj !== 'object' || pj === null) continue;
    const m = new Map(Object.entries(pj));
    const version = m.get('version');
    const license = m.get('license');
    if (typeof version !== 'string') continue;
    const slash = name.indexOf('/');
    const purl = new PackageURL('npm', slash > 0 ? name.slice(0, slash) : undefined, slash > 0 ? name.slice(slash + 1) : name, version, undefined, undefined).toString();
    out.push({ type: 'npm', name, version, licenses: typeof license === 'string' ? [license] : [], path: `node_modules/${name}/package.json`, purl });
  }
  return out;
}

function machineInventory(): Inventory {
  const results = new Map<string, unknown>();
  if (existsSync('/etc/os-release')) results.set('etc/os-release', parseOsFile('os-release', readFileSync('/etc/os-release', 'utf8')));
  const os = detectOs(results);
  const status = existsSync('/var/lib/dpkg/status') ? parseDpkgStatus(readFileSync('/var/lib/dpkg/status', 'utf8')) : [];
  const debs = dpkgAnalyzer.collect(new Map([['var/lib/dpkg/status', status]]), os);
  return { os, packages: [...debs, ...npmPackages()], layers: 1, compressedBytes: 0 };
}

const subject = { repository: 'library/this-machine', digest: `sha256:${'0'.repeat(64)}` };

test('real data: the machine’s packages and node_modules give valid CycloneDX 1.5 and 1.6', async () => {
  const inv = machineInventory();
  assert.ok(inv.packages.filter((p) => p.type === 'npm').length >= 100, 'node_modules has packages');
  // The machine's dpkg database, when it has one (the CI image and this dev machine do).
  if (existsSync('/var/lib/dpkg/status')) assert.ok(inv.packages.filter((p) => p.type === 'deb').length >= 50);
  for (const specVersion of ['1.5', '1.6'] as const) {
    const doc = cycloneDxDocument(inv, subject, { specVersion, now: new Date(0), serialNumber: '00000000-0000-4000-8000-000000000000' });
    assert.equal(await validateCycloneDx(doc, specVersion), null, specVersion);
    const components = doc['components'];
    assert.ok(Array.isArray(components) && components.length === inv.packages.length + (inv.os !== null ? 1 : 0));
  }
});

test('real data: every SPDX licenseDeclared is NOASSERTION or a valid expression whose LicenseRefs are declared', () => {
  const inv = machineInventory();
  const doc = spdxDocument(inv, subject, { now: new Date(0), uuid: '00000000-0000-4000-8000-000000000000' });
  const declaredRefs = new Set((doc.hasExtractedLicensingInfos ?? []).map((e) => e.licenseId));
  const ids = new Set<string>();
  for (const p of doc.packages) {
    assert.match(p.SPDXID, SPDX_ID_PATTERN);
    assert.ok(!ids.has(p.SPDXID), p.SPDXID);
    ids.add(p.SPDXID);
    const l = p.licenseDeclared ?? 'NOASSERTION';
    if (l === 'NOASSERTION') continue;
    assert.doesNotThrow(() => parse(l), `${p.name}: ${l}`);
    for (const ref of l.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) assert.ok(declaredRefs.has(ref), `${p.name}: ${ref} undeclared`);
  }
  // A package's own declaration comes through unchanged (semver's package.json says ISC).
  const semver = doc.packages.find((p) => p.name === 'semver');
  assert.equal(semver?.licenseDeclared, 'ISC');
  assert.equal(ids.size, inv.packages.length + 1 + (inv.os !== null ? 1 : 0));
});
