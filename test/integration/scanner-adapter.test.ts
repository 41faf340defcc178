/**
 * The adapter client end to end against Wharf's built-in scanner over real HTTP: in-process (the
 * scanner `wharf serve` mounts at /scanner) and as a separate `wharf scanner` process. The image
 * is real: one layer with this machine's /var/lib/dpkg/status and /etc/os-release, pushed to a
 * real test Wharf; the vulnerability database holds the OSV fixture (test/fixtures/scanning/osv),
 * and the expected findings come from dpkg-query, the real tool: every installed binary package of
 * source zlib has CVE-2023-45853 (Critical, no fix) and of source sqlite3 CVE-2025-7458 (Unknown,
 * no fix), nothing else. A real HTTP proxy between the scanner and the registry holds blob
 * downloads (a slow report: pending, then ready), corrupts a layer (a digest mismatch found while
 * streaming) or accepts only bearer tokens (the token flow for Basic credentials).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { request } from 'undici';
import { AdapterClient, AdapterError, capabilitiesOf, validateMetadata, type AdapterEndpoint, type ReportPoll } from '../../src/scanning/adapter/index.ts';
import { CYCLONEDX_JSON, ERROR_MIME, OCI_MANIFEST, SBOM_REPORT_MIME, SPDX_JSON, VULN_REPORT_MIME_1_1, VULN_REPORT_MIME_HARBOR, type ScanRequest, type VulnerabilityReport } from '../../src/scanning/adapter/protocol.ts';
import { VulnDb } from '../../src/scanning/vulndb/index.ts';
import { adminAuth, freePort, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { databaseOverrides } from '../helpers/db.ts';
import { hostImage } from '../helpers/host-image.ts';
import { sha256 } from '../helpers/oci-layout.ts';
import { pushBlob, putManifest } from '../helpers/webhook-client.ts';

const root = new URL('../..', import.meta.url).pathname;
const hasDpkg = existsSync('/var/lib/dpkg/status') && existsSync('/etc/os-release') && spawnSync('dpkg-query', ['--version']).status === 0;
/** A private project's repository: pulls need credentials. */
const project = 'scanning-private';
const repo = `${project}/host-dpkg`;

/** The findings dpkg-query says the fixture must give: [id, package, version, severity, fix]. */
function expectedFindings(): Array<[string, string, string, string, string]> {
  const out = spawnSync('dpkg-query', ['-W', '-f', '${Status}|${Package}|${Version}|${source:Package}\n'], { encoding: 'utf8' }).stdout;
  const rows: Array<[string, string, string, string, string]> = [];
  for (const line of out.split('\n')) {
    const [status, name, version, source] = line.split('|');
    if (status !== 'install ok installed' || !name || !version) continue;
    if (source === 'zlib') rows.push(['CVE-2023-45853', name, version, 'Critical', '']);
    if (source === 'sqlite3') rows.push(['CVE-2025-7458', name, version, 'Unknown', '']);
  }
  return rows.sort((a, b) => a.join('|').localeCompare(b.join('|')));
}

/** The installed packages dpkg-query lists: `name version`, sorted. */
function installedPackages(): string[] {
  const out = spawnSync('dpkg-query', ['-W', '-f', '${Status}|${Package} ${Version}\n'], { encoding: 'utf8' }).stdout;
  return [...new Set(out.split('\n').filter((l) => l.startsWith('install ok installed|')).map((l) => l.slice(l.indexOf('|') + 1)))].sort();
}

function findingsOf(report: VulnerabilityReport): Array<[string, string, string, string, string]> {
  return report.vulnerabilities.map((v): [string, string, string, string, string] => [v.id, v.package, v.version, v.severity, v.fix_version]).sort((a, b) => a.join('|').localeCompare(b.join('|')));
}

/** Builds and pushes the one-layer image (`extra` makes another digest); returns the manifest and layer digests. */
async function pushHostImage(base: string, tag: string, extra = ''): Promise<{ digest: string; layer: string; layerSize: number }> {
  const { layer, config, manifest } = await hostImage(extra ? { name: 'wharf-test', data: Buffer.from(extra) } : undefined);
  await pushBlob(base, repo, layer, adminAuth);
  await pushBlob(base, repo, config, adminAuth);
  const digest = await putManifest(base, repo, tag, manifest, { auth: adminAuth });
  return { digest, layer: sha256(layer), layerSize: layer.length };
}

/** A pull-only registry token for `repo` from Wharf's token service. */
async function pullToken(base: string): Promise<string> {
  const r = await request(`${base}/service/token?service=wharf&scope=repository:${repo}:pull`, { headers: { authorization: adminAuth } });
  const doc = (await r.body.json()) as { token?: string }; // the token endpoint's documented answer
  assert.equal(r.statusCode, 200);
  assert.ok(doc.token);
  return doc.token;
}

/** A real HTTP proxy in front of the registry: it records requests and can hold, corrupt or refuse them. */
interface RegistryProxy {
  url: string;
  seen: Array<{ path: string; auth: string }>;
  /** Answer 401 with a Bearer challenge to anything but a bearer token. */
  bearerOnly: boolean;
  /** Blob digests whose bytes are altered (same length). */
  corrupt: Set<string>;
  /** Holds blob downloads until the returned function is called. */
  holdBlobs(): () => void;
  close(): Promise<void>;
}

async function startProxy(target: string): Promise<RegistryProxy> {
  let gate: Promise<void> | null = null;
  const proxy: Omit<RegistryProxy, 'url' | 'close'> = {
    seen: [],
    bearerOnly: false,
    corrupt: new Set(),
    holdBlobs() {
      let open = () => {};
      gate = new Promise<void>((r) => (open = r));
      return () => {
        gate = null;
        open();
      };
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const path = req.url ?? '/';
      const auth = req.headers.authorization ?? '';
      proxy.seen.push({ path, auth: auth.split(' ')[0] ?? '' });
      if (proxy.bearerOnly && !/^bearer /i.test(auth)) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${target}/service/token",service="wharf",scope="repository:${repo}:pull"`, 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"bearer token required"}]}');
        return;
      }
      const blob = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path)?.[1];
      if (blob && gate) await gate;
      const up = await request(`${target}${path}`, { method: req.method === 'HEAD' ? 'HEAD' : 'GET', headers: { ...(auth ? { authorization: auth } : {}), accept: req.headers.accept ?? '*/*' } });
      const headers: Record<string, string> = {};
      for (const k of ['content-type', 'content-length', 'docker-content-digest', 'www-authenticate', 'location']) {
        const v = up.headers[k];
        if (typeof v === 'string') headers[k] = v;
      }
      if (blob && proxy.corrupt.has(blob)) {
        const bytes = Buffer.from(await up.body.arrayBuffer());
        bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
        res.writeHead(up.statusCode, headers);
        res.end(bytes);
        return;
      }
      res.writeHead(up.statusCode, headers);
      for await (const chunk of up.body) res.write(chunk);
      res.end();
    })().catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

/** Polls a report as Harbor does (waiting Refresh-After between polls); returns the report and every poll's state. */
async function pollReport(client: AdapterClient, ep: AdapterEndpoint, id: string, mime: string, sbomMediaType?: string): Promise<{ body: unknown; polls: ReportPoll[] }> {
  const polls: ReportPoll[] = [];
  for (;;) {
    const r = await client.report(ep, id, mime, sbomMediaType);
    polls.push(r);
    if (r.state === 'ready') return { body: r.body, polls };
    await sleep(r.refreshAfterSeconds * 1000);
  }
}

function isVulnReport(v: unknown): v is VulnerabilityReport {
  return typeof v === 'object' && v !== null && 'vulnerabilities' in v && Array.isArray(v.vulnerabilities);
}

function scanRequest(registryUrl: string, authorization: string, digest: string, caps?: ScanRequest['enabled_capabilities']): ScanRequest {
  return { registry: { url: registryUrl, authorization }, artifact: { repository: repo, digest, tag: 'v1', mime_type: OCI_MANIFEST }, ...(caps ? { enabled_capabilities: caps } : {}) };
}

/** Scans and returns the vulnerability report; asserts its scanner, artifact and severity. */
async function vulnReport(client: AdapterClient, ep: AdapterEndpoint, req: ScanRequest, mime = VULN_REPORT_MIME_1_1): Promise<{ report: VulnerabilityReport; polls: ReportPoll[] }> {
  const id = await client.submit(ep, req);
  const { body, polls } = await pollReport(client, ep, id, mime);
  assert.ok(isVulnReport(body));
  return { report: body, polls };
}

describe('the adapter client against the built-in scanner', { skip: !hasDpkg && 'needs a Debian machine (dpkg)' }, () => {
  let t: TestWharf;
  let client: AdapterClient;
  let ep: AdapterEndpoint;
  let image: { digest: string; layer: string };
  let token: string;
  let dbUpdatedAt: string | null;
  const expected = hasDpkg ? expectedFindings() : [];

  /** What the server logged at info (pino's JSON lines, parsed). */
  const logged: Array<Record<string, unknown>> = [];

  before(async () => {
    t = await startWharf({ logger: pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) }) });
    const vulndb = new VulnDb({ db: t.wharf.db.kysely });
    await vulndb.importPath(`${root}test/fixtures/scanning/osv`);
    dbUpdatedAt = (await vulndb.meta()).updatedAt;
    const created = await request(`${t.url}/api/v2.0/projects`, { method: 'POST', headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: JSON.stringify({ project_name: project, metadata: { public: 'false' } }) });
    assert.equal(created.statusCode, 201, await created.body.text());
    image = await pushHostImage(t.url, 'v1');
    token = await pullToken(t.url);
    client = new AdapterClient({ timeoutSeconds: 10 });
    ep = { url: `${t.url}/scanner`, auth: '', accessCredential: '', skipCertVerify: false };
    assert.ok(expected.length >= 2, 'the machine has zlib and sqlite3 packages');
  });
  after(async () => {
    await client?.close();
    await t?.close();
  });

  it('metadata passes Harbor’s checks and shows the database', async () => {
    const md = await client.metadata(ep);
    assert.equal(validateMetadata(md), null);
    assert.deepEqual(capabilitiesOf(md), { support_vulnerability: true, support_sbom: true });
    assert.deepEqual(md.scanner, { name: 'Wharf', vendor: 'Wharf', version: '0.1.0' });
    assert.equal(md.properties?.['harbor.scanner-adapter/registry-authorization-type'], 'Bearer');
    assert.ok(dbUpdatedAt);
    assert.equal(md.properties?.['harbor.scanner-adapter/vulnerability-database-updated-at'], dbUpdatedAt);
  });

  it('scans the image with a bearer token: exactly the fixture’s findings, in both report types', async () => {
    const { report } = await vulnReport(client, ep, scanRequest(t.url, `Bearer ${token}`, image.digest));
    assert.deepEqual(report.scanner, { name: 'Wharf', vendor: 'Wharf', version: '0.1.0' });
    assert.deepEqual(report.artifact, { repository: repo, digest: image.digest, tag: 'v1', mime_type: OCI_MANIFEST });
    assert.equal(report.severity, 'Critical');
    assert.deepEqual(findingsOf(report), expected);
    const zlib = report.vulnerabilities.find((v) => v.package === 'zlib1g');
    assert.equal(zlib?.vendor_attributes?.osv_id, 'DEBIAN-CVE-2023-45853');
    const harbor = await vulnReport(client, ep, scanRequest(t.url, `Bearer ${token}`, image.digest), VULN_REPORT_MIME_HARBOR);
    assert.deepEqual(findingsOf(harbor.report), expected);
  });

  it('writes SPDX and CycloneDX reports listing every installed package', async () => {
    const id = await client.submit(ep, scanRequest(t.url, `Bearer ${token}`, image.digest, [{ type: 'sbom', produces_mime_types: [SBOM_REPORT_MIME], parameters: { sbom_media_types: [SPDX_JSON, CYCLONEDX_JSON] } }]));
    const spdx = await pollReport(client, ep, id, SBOM_REPORT_MIME, SPDX_JSON);
    const doc = spdx.body as { media_type: string; scanner: unknown; sbom: { spdxVersion: string; packages: Array<{ name: string; versionInfo: string; primaryPackagePurpose?: string }> } }; // the SBOM report's documented shape
    assert.equal(doc.media_type, SPDX_JSON);
    assert.equal(doc.sbom.spdxVersion, 'SPDX-2.3');
    const listed = [...new Set(doc.sbom.packages.filter((p) => p.primaryPackagePurpose !== 'CONTAINER' && p.primaryPackagePurpose !== 'OPERATING-SYSTEM').map((p) => `${p.name} ${p.versionInfo}`))].sort();
    assert.deepEqual(listed, installedPackages());
    // Written again at each poll, and the same document every time.
    const again = await client.report(ep, id, SBOM_REPORT_MIME, SPDX_JSON);
    assert.deepEqual(again, { state: 'ready', body: spdx.body });
    const cdx = await client.report(ep, id, SBOM_REPORT_MIME, CYCLONEDX_JSON);
    assert.equal(cdx.state, 'ready');
    const bom = (cdx.state === 'ready' ? cdx.body : null) as { media_type: string; sbom: { bomFormat: string; components: Array<{ name: string; version: string; purl?: string }> } }; // as above
    assert.equal(bom.media_type, CYCLONEDX_JSON);
    assert.equal(bom.sbom.bomFormat, 'CycloneDX');
    assert.deepEqual(await client.report(ep, id, SBOM_REPORT_MIME, CYCLONEDX_JSON), cdx);
    const zlib = bom.sbom.components.find((c) => c.name === 'zlib1g');
    assert.match(zlib?.purl ?? '', /^pkg:deb\/debian\/zlib1g@1\.2\.13\.dfsg-1\?arch=[a-z0-9]+&distro=debian-12[0-9.]*&epoch=1$/);
    // The scan enabled only the sbom capability.
    await assert.rejects(client.report(ep, id, VULN_REPORT_MIME_1_1), (e: unknown) => e instanceof AdapterError && e.status === 400 && e.message === `scan request "${id}" did not enable the vulnerability capability: unexpected status code: 400, expected: 200`);
    await assert.rejects(client.report(ep, id, SBOM_REPORT_MIME), (e: unknown) => e instanceof AdapterError && e.status === 400 && e.message.startsWith('missing the sbom_media_type query parameter'));
  });

  it('a slow report: pending with Refresh-After while the layer download is held, then ready', async () => {
    const proxy = await startProxy(t.url);
    try {
      const release = proxy.holdBlobs();
      const id = await client.submit(ep, scanRequest(proxy.url, `Bearer ${token}`, image.digest));
      const first = await client.report(ep, id, VULN_REPORT_MIME_1_1);
      assert.deepEqual(first, { state: 'pending', refreshAfterSeconds: 1 });
      const second = await client.report(ep, id, VULN_REPORT_MIME_1_1);
      assert.deepEqual(second, { state: 'pending', refreshAfterSeconds: 1 });
      // Prefer: wait (Wharf's extension): a poll is held while the scan runs; still running after
      // the wait, it is a 302 saying the preference was applied.
      const held = await request(`${t.url}/scanner/api/v1/scan/${id}/report`, { headers: { accept: VULN_REPORT_MIME_1_1, prefer: 'wait=1' } });
      await held.body.dump();
      assert.deepEqual([held.statusCode, held.headers['preference-applied'], held.headers['refresh-after']], [302, 'wait=1', '1']);
      // A held poll answers with the report as soon as the scan finishes.
      const patient = new AdapterClient({ timeoutSeconds: 120 });
      try {
        const waiting = patient.report(ep, id, VULN_REPORT_MIME_1_1, undefined, { waitSeconds: 60 });
        await sleep(300);
        release();
        const ready = await waiting;
        assert.equal(ready.state, 'ready', 'the held poll got the report, not a 302');
        assert.ok(ready.state === 'ready' && isVulnReport(ready.body) && findingsOf(ready.body).length === expected.length);
      } finally {
        await patient.close();
      }
      const { body, polls } = await pollReport(client, ep, id, VULN_REPORT_MIME_1_1);
      assert.ok(isVulnReport(body));
      assert.deepEqual(findingsOf(body), expected);
      assert.equal(polls.at(-1)?.state, 'ready');
    } finally {
      await proxy.close();
    }
  });

  it('a stopping server answers a held poll at once, not after its Prefer: wait', { timeout: 30_000 }, async () => {
    // A second Wharf whose scanner reads this one's image through the proxy, held.
    const other = await startWharf();
    const proxy = await startProxy(t.url);
    let closed = false;
    try {
      const release = proxy.holdBlobs();
      const otherEp = { ...ep, url: `${other.url}/scanner` };
      const id = await client.submit(otherEp, scanRequest(proxy.url, `Bearer ${token}`, image.digest));
      const held = request(`${other.url}/scanner/api/v1/scan/${id}/report`, { headers: { accept: VULN_REPORT_MIME_1_1, prefer: 'wait=60' } });
      await sleep(300);
      const closing = other.close();
      const answer = await held;
      await answer.body.dump();
      assert.equal(answer.statusCode, 302, 'answered while the scan still ran');
      release();
      await closing;
      closed = true;
    } finally {
      await proxy.close();
      if (!closed) await other.close();
    }
  });

  it('Basic credentials: the scanner gets a token from the registry’s realm', async () => {
    const proxy = await startProxy(t.url);
    try {
      proxy.bearerOnly = true;
      const { report } = await vulnReport(client, ep, scanRequest(proxy.url, adminAuth, image.digest));
      assert.deepEqual(findingsOf(report), expected);
      const manifestRequests = proxy.seen.filter((s) => s.path.includes('/manifests/')).map((s) => s.auth);
      assert.deepEqual(manifestRequests, ['Basic', 'Bearer']);
      assert.ok(proxy.seen.filter((s) => s.path.includes('/blobs/')).every((s) => s.auth === 'Bearer'));
    } finally {
      await proxy.close();
    }
  });

  it('failed scans are a 500 with the reason: bad credentials, an unknown manifest, a corrupted layer', async () => {
    const failed = async (req: ScanRequest, message: string) => {
      const id = await client.submit(ep, req);
      await assert.rejects(pollReport(client, ep, id, VULN_REPORT_MIME_1_1), (e: unknown) => {
        assert.ok(e instanceof AdapterError);
        assert.equal(e.status, 500);
        assert.equal(e.message, `${message}: unexpected status code: 500, expected: 200`);
        return true;
      });
    };
    const wrong = 'Basic ' + Buffer.from('admin:wrong-password').toString('base64');
    const missing = 'sha256:' + '0'.repeat(64);
    // Over HTTP (a registry that is not this Wharf: the proxy in front of it)...
    const proxy = await startProxy(t.url);
    try {
      // The token realm is the registry's own (its external URL), behind the proxy too.
      await failed(scanRequest(proxy.url, wrong, image.digest), `GET ${t.url}/service/token: the token service answered 401`);
      await failed(scanRequest(proxy.url, `Bearer ${token}`, missing), `GET ${proxy.url}/v2/${repo}/manifests/${missing}: the registry answered 404`);
      // ...and from this Wharf in-process, with the /v2 routes' own messages.
      await failed(scanRequest(t.url, wrong, image.digest), `reading manifest ${image.digest} of ${repo} from this registry: invalid username or password`);
      await failed(scanRequest(t.url, 'Bearer not-a-token', image.digest), `reading manifest ${image.digest} of ${repo} from this registry: invalid, expired or revoked bearer token; get a new one from /service/token`);
      await failed(scanRequest(t.url, `Bearer ${token}`, missing), `reading manifest ${missing} of ${repo} from this registry: manifest ${missing} not found in ${repo}`);
      // A private project's image, no credentials: refused as an anonymous pull is.
      await failed(scanRequest(t.url, '', image.digest), `reading manifest ${image.digest} of ${repo} from this registry: authentication required to pull on project ${project}`);
      // A layer changed on the disk (the same length): read in-process as a file, still checked.
      const onDisk = await pushHostImage(t.url, 'v5', 'corrupted on disk');
      const hex = onDisk.layer.slice('sha256:'.length);
      const path = join(t.dataDir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex);
      const bytes = readFileSync(path);
      bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
      writeFileSync(path, bytes);
      await failed(scanRequest(t.url, `Bearer ${token}`, onDisk.digest), `blob ${onDisk.layer} does not match its digest (got ${sha256(bytes)})`);
      // A digest not scanned yet: a scanned one's inventory is cached, and its layers are not read again.
      const other = await pushHostImage(t.url, 'v2', 'corrupted in transit');
      proxy.corrupt.add(other.layer);
      const id = await client.submit(ep, scanRequest(proxy.url, `Bearer ${token}`, other.digest));
      await assert.rejects(pollReport(client, ep, id, VULN_REPORT_MIME_1_1), (e: unknown) => e instanceof AdapterError && e.status === 500 && e.message.includes(`blob ${other.layer} does not match its digest`));
    } finally {
      await proxy.close();
    }
  });

  it('a request naming this Wharf reads the image in-process: no registry bytes sent over HTTP, the same report', async () => {
    const sent = async (): Promise<number> => {
      const r = await request(`${t.url}/metrics`, { headers: { authorization: adminAuth } });
      const text = await r.body.text();
      assert.equal(r.statusCode, 200, text);
      const value = /^wharf_bytes_sent_total (\d+)/m.exec(text)?.[1];
      assert.ok(value !== undefined, 'the metrics list wharf_bytes_sent_total');
      return Number(value);
    };
    // Not scanned yet, so its layers are read (a scanned digest's inventory is cached).
    const fresh = await pushHostImage(t.url, 'v3', 'read in-process');
    const before = await sent();
    const { report } = await vulnReport(client, ep, scanRequest(t.url, `Bearer ${token}`, fresh.digest));
    assert.deepEqual(findingsOf(report), expected);
    assert.equal(await sent(), before, 'the scan pulled nothing over HTTP');
    // The scanner's log gives the layers it read and how long that took (its layer throughput).
    const finished = logged.find((l) => l.msg === 'scanner: scan finished' && l.digest === fresh.digest);
    assert.ok(finished, 'the scan logged its end');
    assert.equal(finished.layers, 1);
    assert.equal(finished.layer_bytes, fresh.layerSize);
    assert.ok(typeof finished.analyze_ms === 'number' && finished.analyze_ms >= 0 && typeof finished.ms === 'number' && finished.analyze_ms <= finished.ms);
    // The same image through the proxy (not this Wharf's URL) goes over HTTP.
    const again = await pushHostImage(t.url, 'v4', 'read over HTTP');
    const proxy = await startProxy(t.url);
    try {
      const { report: overHttp } = await vulnReport(client, ep, scanRequest(proxy.url, `Bearer ${token}`, again.digest));
      assert.deepEqual(findingsOf(overHttp), expected);
      assert.ok(proxy.seen.some((r) => r.path.endsWith(`/blobs/${again.layer}`)), 'the layer was pulled through the proxy');
    } finally {
      await proxy.close();
    }
    assert.ok((await sent()) > before, 'the HTTP pull sent registry bytes');
  });

  it('answers the spec’s statuses for bad requests, unknown ids and report types', async () => {
    const post = async (body: string, contentType = 'application/vnd.scanner.adapter.scan.request+json; version=1.0') => {
      const r = await request(`${t.url}/scanner/api/v1/scan`, { method: 'POST', headers: { 'content-type': contentType }, body });
      return { status: r.statusCode, type: r.headers['content-type'], body: await r.body.json() };
    };
    const get = async (path: string, accept: string) => {
      const r = await request(`${t.url}/scanner/api/v1${path}`, { headers: { accept } });
      await r.body.dump();
      return { status: r.statusCode, type: r.headers['content-type'], refresh: r.headers['refresh-after'] };
    };
    assert.deepEqual(await post('{nope'), { status: 400, type: ERROR_MIME, body: { error: { message: 'the scan request is not valid JSON' } } });
    assert.deepEqual(await post(JSON.stringify({ registry: { url: t.url }, artifact: { repository: repo, mime_type: OCI_MANIFEST } })), { status: 422, type: ERROR_MIME, body: { error: { message: 'missing artifact.digest' } } });
    assert.deepEqual(await post('{}', 'text/plain'), { status: 415, type: ERROR_MIME, body: { error: { message: 'unsupported content type "text/plain": send application/vnd.scanner.adapter.scan.request+json; version=1.0' } } });
    await assert.rejects(client.report(ep, 'no-such-scan', VULN_REPORT_MIME_1_1), (e: unknown) => e instanceof AdapterError && e.status === 404 && e.message === 'scan request "no-such-scan" not found: unexpected status code: 404, expected: 200');
    const id = await client.submit(ep, scanRequest(t.url, `Bearer ${token}`, image.digest));
    await assert.rejects(client.report(ep, id, 'application/vnd.scanner.adapter.vuln.report.raw'), (e: unknown) => e instanceof AdapterError && e.status === 501);
    await pollReport(client, ep, id, VULN_REPORT_MIME_1_1);
    assert.deepEqual(await get(`/scan/${id}/report`, VULN_REPORT_MIME_HARBOR), { status: 200, type: VULN_REPORT_MIME_HARBOR, refresh: undefined });
    assert.deepEqual(await get('/metadata', 'application/vnd.scanner.adapter.metadata+json; version=1.0'), { status: 200, type: 'application/vnd.scanner.adapter.metadata+json; version=1.0', refresh: undefined });
    assert.deepEqual(await get('/nowhere', '*/*'), { status: 404, type: ERROR_MIME, refresh: undefined });
  });

  it('the /scanner API needs no registry credentials, and the registry still does', async () => {
    const r = await request(`${t.url}/scanner/api/v1/metadata`);
    assert.equal(r.statusCode, 200);
    await r.body.dump();
    const v2 = await request(`${t.url}/v2/${repo}/manifests/${image.digest}`);
    assert.equal(v2.statusCode, 401);
    await v2.body.dump();
  });

  describe('as a separate `wharf scanner` process', () => {
    let proc: ChildProcess | null = null;
    let out = '';
    let scannerEp: AdapterEndpoint;

    before(async () => {
      const port = await freePort();
      const db = (await databaseOverrides(t.dataDir)).database;
      proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'scanner', '--port', String(port), '--host', '127.0.0.1'], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WHARF_DATA_DIR: t.dataDir, WHARF_LOG_LEVEL: 'info', ...(db ? { WHARF_DATABASE__URL: db.url } : {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      scannerEp = { url: `http://127.0.0.1:${port}`, auth: '', accessCredential: '', skipCertVerify: false };
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`wharf scanner exited with ${proc.exitCode}:\n${out}`);
        try {
          await client.metadata(scannerEp);
          break;
        } catch {
          if (Date.now() > deadline) throw new Error(`wharf scanner did not start:\n${out}`);
          await sleep(100);
        }
      }
    });
    after(async () => {
      if (proc && proc.exitCode === null) {
        const exited = new Promise((r) => proc?.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
    });

    it('serves the same metadata and finds the same vulnerabilities', async () => {
      const md = await client.metadata(scannerEp);
      assert.equal(validateMetadata(md), null);
      assert.equal(md.properties?.['harbor.scanner-adapter/vulnerability-database-updated-at'], dbUpdatedAt);
      const { report } = await vulnReport(client, scannerEp, scanRequest(t.url, `Bearer ${token}`, image.digest));
      assert.equal(report.severity, 'Critical');
      assert.deepEqual(findingsOf(report), expected);
      assert.match(out, /wharf scanner is serving/);
      assert.doesNotMatch(out, new RegExp(token.slice(-20)));
    });

    it('registered through /api/v2.0/scanners and pinned to the project, it scans what Harbor’s scan API asks', async () => {
      const json = async (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => {
        const r = await request(`${t.url}/api/v2.0${path}`, { method, headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        const text = await r.body.text();
        return { status: r.statusCode, location: String(r.headers.location ?? ''), json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
      };
      const reg = await json('POST', '/scanners', { name: 'standalone', url: scannerEp.url });
      assert.equal(reg.status, 201, JSON.stringify(reg.json));
      const uuid = reg.location.split('/').pop();
      assert.ok(uuid);
      assert.equal((await json('PUT', `/projects/${project}/scanner`, { uuid })).status, 200);
      const pinned = await json('GET', `/projects/${project}/scanner`);
      assert.equal(pinned.json.name, 'standalone');
      const other = await pushHostImage(t.url, 'v9', 'standalone');
      const scan = await json('POST', `/projects/${project}/repositories/host-dpkg/artifacts/${other.digest}/scan`, { scan_type: 'vulnerability' });
      assert.equal(scan.status, 202, JSON.stringify(scan.json));
      const path = `/projects/${project}/repositories/host-dpkg/artifacts/${other.digest}`;
      let overview: Record<string, unknown> | undefined;
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
        const a = await json('GET', `${path}?with_scan_overview=true`);
        const so = a.json.scan_overview as Record<string, Record<string, unknown>> | undefined; // Harbor's scan_overview, keyed by report type
        overview = so?.[VULN_REPORT_MIME_1_1];
        if (overview?.scan_status === 'Success' || overview?.scan_status === 'Error') break;
      }
      assert.equal(overview?.scan_status, 'Success', JSON.stringify(overview));
      assert.equal(overview?.severity, 'Critical');
      const add = await json('GET', `${path}/additions/vulnerabilities`);
      const rep = add.json[VULN_REPORT_MIME_1_1] as VulnerabilityReport | undefined; // the addition's one report type
      assert.ok(rep);
      assert.deepEqual(findingsOf(rep), expected);
      const events = await t.wharf.db.kysely.selectFrom('events').select(['type', 'data']).where('type', '=', 'SCANNING_COMPLETED').execute();
      assert.equal(events.filter((e) => e.data.includes(other.digest)).length, 1, 'one SCANNING_COMPLETED for the scan');
    });

    it('refuses a command line without a port', () => {
      for (const args of [['scanner'], ['scanner', '--port'], ['scanner', '--port', 'x'], ['scanner', '--port', '1', '--bogus', 'y']]) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WHARF_DATA_DIR: t.dataDir } });
        assert.equal(r.status, 2, args.join(' '));
        assert.match(r.stderr, /^usage: wharf scanner --port N \[--host H\]/);
      }
    });

    it('stops on SIGTERM', async () => {
      assert.ok(proc);
      const exited = new Promise<number | null>((r) => proc?.once('exit', (code) => r(code)));
      proc.kill('SIGTERM');
      assert.equal(await exited, 0);
    });
  });
});
