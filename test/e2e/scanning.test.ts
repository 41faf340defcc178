/**
 * Issue 11's "done when", end to end with real parts: a real Wharf (its built-in scanner, served by
 * the same process, scans over real HTTP), an OSV fixture of real advisories imported into the real
 * database, an image built from this machine's own files (its dpkg database and os-release, real
 * npm packages from node_modules) pushed with skopeo into a project with `auto_scan` and
 * `auto_sbom_generation`, a real webhook receiver, and skopeo pulls refused by `prevent_vul`.
 *
 * The expected findings come from an oracle independent of Wharf's matcher: the fixture's
 * `Debian:12` records, this machine's `dpkg-query`, and `dpkg --compare-versions`.
 * Skipped when skopeo is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminAuth, startWharf } from '../helpers/wharf.ts';
import { jsonBody, startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { OciLayout, writeImage } from '../helpers/oci-layout.ts';
import type { TarEntry } from '../helpers/tar.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeo, skopeoOk, describeRun } from '../helpers/skopeo.ts';
import { api, createPolicy, explain } from '../helpers/webhook-client.ts';
import { validateCycloneDx } from '../../src/scanning/sbom/cyclonedx.ts';

const skip = skipWithoutSkopeo() || (existsSync('/var/lib/dpkg/status') ? false : 'needs a Debian machine (/var/lib/dpkg/status)');
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'scanning', 'osv');
const v11 = 'application/vnd.security.vulnerability.report; version=1.1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function file(name: string, path: string): TarEntry {
  const content = readFileSync(path);
  return { type: 'file', name, size: content.length, content: () => [content] };
}

interface Installed {
  name: string;
  source: string;
  version: string;
  sourceVersion: string;
}

/** This machine's installed packages, as dpkg itself reports them. */
function installed(): Installed[] {
  const out = execFileSync('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}\t${Package}\t${source:Package}\t${Version}\t${source:Version}\n'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.startsWith('ii'))
    .map((l) => {
      const [, name = '', source = '', version = '', sourceVersion = ''] = l.split('\t');
      return { name, source, version, sourceVersion };
    });
}

function dpkgLess(a: string, b: string): boolean {
  return spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;
}

interface Expected {
  id: string;
  package: string;
  version: string;
  fix_version: string;
}

/** The fixture's Debian 12 findings for this machine's packages, by dpkg's own version order. */
function expectedDebianFindings(pkgs: Installed[]): Expected[] {
  const out: Expected[] = [];
  for (const f of readdirSync(join(fixtures, 'Debian'))) {
    const rec = JSON.parse(readFileSync(join(fixtures, 'Debian', f), 'utf8')) as {
      aliases?: string[];
      upstream?: string[];
      affected: Array<{ package: { ecosystem: string; name: string }; ranges?: Array<{ events: Array<Record<string, string>> }> }>;
    };
    const cves = [...new Set([...(rec.upstream ?? []), ...(rec.aliases ?? [])].filter((a) => a.startsWith('CVE-')))];
    for (const aff of rec.affected) {
      if (aff.package.ecosystem !== 'Debian:12') continue;
      for (const p of pkgs.filter((x) => x.source === aff.package.name)) {
        for (const range of aff.ranges ?? []) {
          const introduced = range.events.find((e) => e.introduced !== undefined)?.introduced ?? '0';
          const fixed = range.events.find((e) => e.fixed !== undefined)?.fixed;
          const affected = (introduced === '0' || !dpkgLess(p.sourceVersion, introduced)) && (fixed === undefined || dpkgLess(p.sourceVersion, fixed));
          if (!affected) continue;
          for (const id of cves) out.push({ id, package: p.name, version: p.version, fix_version: fixed ?? '' });
        }
      }
    }
  }
  return out.sort((a, b) => `${a.id} ${a.package}`.localeCompare(`${b.id} ${b.package}`));
}

/** The parts of Harbor's Default scan payload the test reads. */
interface ScanPayload {
  type: string;
  operator: string;
  event_data: {
    scan?: { scan_type: string };
    repository: { repo_full_name: string };
    resources: Array<{ digest: string; tag?: string; scan_overview: Record<string, { scan_status: string; severity: string; report_id: string; summary: { total: number } }> }>;
  };
}

/** An SBOM document as served by `/additions/sbom`: SPDX or CycloneDX. */
interface SbomDocument extends Record<string, unknown> {
  spdxVersion?: string;
  packages?: unknown[];
  bomFormat?: string;
  specVersion?: string;
  components?: Array<{ name: string; version: string; purl?: string }>;
}

async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

test('scan on push: a SCANNING_COMPLETED webhook, exact findings, a CycloneDX and SPDX SBOM, and the prevent_vul gate with skopeo', { skip, timeout: 240_000 }, async () => {
  requireSkopeo();
  const recv = await startReceiver();
  const w = await startWharf();
  const layout = OciLayout.create();
  try {
    const imported = await w.wharf.vulndb.importPath(fixtures);
    assert.ok(imported.advisories > 0, `fixture imported: ${JSON.stringify(imported)}`);

    // A project that scans and generates SBOMs on push, and a policy sending its scan events to a real receiver.
    let a = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'scanned', metadata: { auto_scan: 'true', auto_sbom_generation: 'true' } } });
    assert.equal(a.status, 201, explain('POST', '/api/v2.0/projects', a));
    await createPolicy(w.url, adminAuth, '/api/v2.0/projects/scanned', {
      name: 'scans',
      event_types: ['SCANNING_COMPLETED', 'SCANNING_FAILED'],
      targets: [{ type: 'http', address: `${recv.url}/scans` }],
    });

    // The image: this machine's dpkg database and release files, and real npm packages.
    const pkgs = installed();
    const npm = ['semver', 'minimist'].filter((n) => existsSync(join('node_modules', n, 'package.json')));
    const image = await writeImage(layout, {
      tag: '1.0',
      layers: [
        [
          { type: 'dir', name: 'etc' },
          file('etc/os-release', '/etc/os-release'),
          file('etc/debian_version', '/etc/debian_version'),
          { type: 'dir', name: 'var/lib/dpkg' },
          file('var/lib/dpkg/status', '/var/lib/dpkg/status'),
        ],
        npm.map((n) => file(`usr/lib/app/node_modules/${n}/package.json`, join('node_modules', n, 'package.json'))),
      ],
    });
    const digest = image.manifest.digest;
    await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('1.0'), `docker://${w.host}/scanned/app:1.0`]);

    // One SCANNING_COMPLETED per scan: the vulnerability scan and the SBOM.
    await recv.waitFor(2, 120_000, '/scans');
    await sleep(1500);
    const events = recv.on('/scans').map((r: ReceivedRequest) => jsonBody(r) as ScanPayload); // Harbor's Default payload, checked field by field below
    assert.deepEqual(events.map((e) => e.type).sort(), ['SCANNING_COMPLETED', 'SCANNING_COMPLETED'], JSON.stringify(events).slice(0, 2000));
    const vulnEvent = events.find((e) => e.event_data.scan?.scan_type === 'vulnerability');
    const sbomEvent = events.find((e) => e.event_data.scan?.scan_type === 'sbom');
    assert.ok(vulnEvent && sbomEvent, JSON.stringify(events).slice(0, 2000));
    assert.equal(vulnEvent.operator, 'admin');
    const resource = vulnEvent.event_data.resources[0];
    assert.ok(resource, 'the event names the scanned artifact');
    assert.equal(resource.digest, digest);
    assert.equal(resource.tag, '1.0');
    assert.equal(vulnEvent.event_data.repository.repo_full_name, 'scanned/app');

    // The findings: exactly the fixture's advisories for this machine's package versions.
    const expected = expectedDebianFindings(pkgs);
    assert.ok(expected.length > 0, 'the fixture affects at least one installed package (zlib1g)');
    const overview = resource.scan_overview[v11];
    assert.ok(overview, JSON.stringify(resource.scan_overview));
    assert.equal(overview.scan_status, 'Success');
    assert.equal(overview.summary.total, expected.length);
    assert.equal(overview.severity, 'Critical', 'zlib1g: CVE-2023-45853 is Critical');

    a = await api(w.url, 'GET', `/api/v2.0/projects/scanned/repositories/app/artifacts/${digest}/additions/vulnerabilities`, { auth: adminAuth });
    assert.equal(a.status, 200, explain('GET', 'additions/vulnerabilities', a));
    const report = (a.json as Record<string, { vulnerabilities: Array<Expected & { severity: string }> }>)[v11];
    assert.ok(report, a.text.slice(0, 500));
    const got = report.vulnerabilities.map((v) => ({ id: v.id, package: v.package, version: v.version, fix_version: v.fix_version })).sort((x, y) => `${x.id} ${x.package}`.localeCompare(`${y.id} ${y.package}`));
    assert.deepEqual(got, expected);

    // The artifact shows its overviews and its SBOM accessories; the SBOMs list the packages with purls.
    a = await api(w.url, 'GET', `/api/v2.0/projects/scanned/repositories/app/artifacts/1.0?with_scan_overview=true&with_sbom_overview=true&with_accessory=true`, { auth: adminAuth });
    assert.equal(a.status, 200, a.text);
    const art = a.json as { scan_overview: Record<string, { scan_status: string }>; sbom_overview: { scan_status: string; sbom_digest: string }; accessories: Array<{ type: string; digest: string }>; addition_links: Record<string, { href: string }> };
    assert.equal(art.scan_overview[v11]?.scan_status, 'Success');
    assert.equal(art.sbom_overview.scan_status, 'Success');
    const sbomAccessories = art.accessories.filter((x) => x.type === 'sbom.harbor');
    assert.ok(sbomAccessories.some((x) => x.digest === art.sbom_overview.sbom_digest), JSON.stringify(art.accessories));
    assert.equal(art.addition_links.sboms?.href, `/api/v2.0/projects/scanned/repositories/app/artifacts/${art.sbom_overview.sbom_digest}/additions/sbom`);
    const documents: SbomDocument[] = [];
    for (const x of sbomAccessories) {
      const s = await api(w.url, 'GET', `/api/v2.0/projects/scanned/repositories/app/artifacts/${x.digest}/additions/sbom`, { auth: adminAuth });
      assert.equal(s.status, 200, s.text.slice(0, 300));
      assert.equal(s.headers['content-type'], 'application/vnd.goharbor.harbor.sbom.v1');
      documents.push(s.json as SbomDocument); // a JSON SBOM, told apart by spdxVersion or bomFormat below
    }
    const spdx = documents.find((d) => d.spdxVersion === 'SPDX-2.3');
    const cdx = documents.find((d) => d.bomFormat === 'CycloneDX');
    assert.ok(spdx, 'an SPDX 2.3 SBOM accessory (Harbor’s)');
    assert.ok(cdx, 'a CycloneDX SBOM accessory');
    assert.ok(cdx.specVersion === '1.5' || cdx.specVersion === '1.6', `CycloneDX ${String(cdx.specVersion)}`);
    assert.equal(await validateCycloneDx(cdx, cdx.specVersion), null, 'the CycloneDX SBOM validates against its schema');
    const libc = pkgs.find((p) => p.name === 'libc6');
    assert.ok(libc);
    const components = cdx.components ?? [];
    const cdxLibc = components.find((c) => c.name === 'libc6');
    assert.equal(cdxLibc?.version, libc.version);
    assert.match(cdxLibc?.purl ?? '', /^pkg:deb\/debian\/libc6@/);
    assert.equal(components.length >= pkgs.length, true, 'every installed package is listed');
    for (const n of npm) {
      const v = (JSON.parse(readFileSync(join('node_modules', n, 'package.json'), 'utf8')) as { version: string }).version;
      assert.ok(components.some((c) => c.purl === `pkg:npm/${n}@${v}`), `npm ${n}@${v} in the CycloneDX SBOM`);
      assert.ok(JSON.stringify(spdx.packages).includes(`pkg:npm/${n}@${v}`), `npm ${n}@${v} in the SPDX SBOM`);
    }

    // prevent_vul at high: skopeo's pull fails with Harbor's message...
    a = await api(w.url, 'PUT', '/api/v2.0/projects/scanned', { auth: adminAuth, body: { metadata: { prevent_vul: 'true', severity: 'high' } } });
    assert.equal(a.status, 200, a.text);
    const dest = OciLayout.create();
    try {
      const pull = () => skopeo(['copy', '--src-tls-verify=false', '--src-creds', adminCreds, `docker://${w.host}/scanned/app:1.0`, dest.ref('pulled')]);
      const refused = await pull();
      assert.notEqual(refused.code, 0, describeRun(refused));
      const blocking = report.vulnerabilities.filter((v) => v.severity === 'Critical' || v.severity === 'High');
      // skopeo prints Harbor's message as Docker does, `unknown: <message>` (its log escapes the quotes).
      const n = report.vulnerabilities.length;
      assert.match(refused.stderr.replaceAll('\\"', '"'), new RegExp(`unknown: current image with ${n} ${n === 1 ? 'vulnerability' : 'vulnerabilities'} cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of "High" or higher from running\\.' To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist\\.`));
      // ...the scanner's own pulls still pass (a rescan succeeds while the gate is on)...
      a = await api(w.url, 'POST', `/api/v2.0/projects/scanned/repositories/app/artifacts/${digest}/scan`, { auth: adminAuth, body: { scan_type: 'vulnerability' } });
      assert.equal(a.status, 202, a.text);
      await until('the rescan', 60_000, async () => {
        const r = await api(w.url, 'GET', `/api/v2.0/projects/scanned/repositories/app/artifacts/${digest}?with_scan_overview=true`, { auth: adminAuth });
        const o = (r.json as { scan_overview?: Record<string, { scan_status: string; report_id: string }> }).scan_overview?.[v11];
        return o && o.scan_status === 'Success' && o.report_id !== overview.report_id ? o : undefined;
      });
      // ...and once the project's allowlist exempts the High and Critical CVEs, the pull succeeds.
      a = await api(w.url, 'PUT', '/api/v2.0/projects/scanned', {
        auth: adminAuth,
        body: { metadata: { reuse_sys_cve_allowlist: 'false' }, cve_allowlist: { items: [...new Set(blocking.map((v) => v.id))].map((cve_id) => ({ cve_id })) } },
      });
      assert.equal(a.status, 200, a.text);
      const allowed = await pull();
      assert.equal(allowed.code, 0, describeRun(allowed));
    } finally {
      dest.remove();
    }
  } finally {
    layout.remove();
    await w.close();
    await recv.close();
  }
});
