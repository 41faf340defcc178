/**
 * Scans as jobs over real HTTP (SQLite, and PostgreSQL in that pass): a real image pushed to
 * Wharf, scanned by a real local adapter (test/helpers/test-adapter.ts) that pulls the manifest
 * with the credential Wharf hands it (Basic and Bearer); the report and its overview, the
 * vulnerabilities addition with Harbor's quirks, the task log, 409 on a second scan, stop
 * (SCANNING_STOPPED), a failing adapter (SCANNING_FAILED with its message in the log), exactly one
 * event per scan also across a restart in the middle of a scan, scan-on-push, the SBOM accessory,
 * and scan all with its metrics.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startWharf, adminAuth, tempDataDir, type TestWharf } from '../helpers/wharf.ts';
import { eventually, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';
import { startTestAdapter, vuln11, type TestAdapter } from '../helpers/test-adapter.ts';

const api = '/api/v2.0';

async function call(tw: TestWharf, method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string; headers: Record<string, unknown> }> {
  const res = await request(`${tw.url}${api}${path}`, {
    method,
    headers: { authorization: adminAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.statusCode, json, text, headers: res.headers };
}

function obj(v: unknown): Record<string, unknown> {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `not an object: ${JSON.stringify(v)}`);
  return v as Record<string, unknown>; // checked just above
}

const registered = new Map<string, string>();

/** Registers `adapter` (once per server and adapter) and pins it as `project`'s scanner. */
async function useAdapter(tw: TestWharf, adapter: TestAdapter, project: string, name: string): Promise<string> {
  let uuid = registered.get(`${tw.url} ${adapter.url}`);
  if (uuid === undefined) {
    const r = await call(tw, 'POST', '/scanners', { name, url: adapter.url });
    assert.equal(r.status, 201, r.text);
    uuid = String(r.headers.location).split('/').pop() ?? '';
    registered.set(`${tw.url} ${adapter.url}`, uuid);
  }
  const p = await call(tw, 'PUT', `/projects/${project}/scanner`, { uuid });
  assert.equal(p.status, 200, p.text);
  return uuid;
}

async function overview(tw: TestWharf, repo: string, ref: string): Promise<Record<string, unknown> | undefined> {
  const r = await call(tw, 'GET', `/projects/${repo.split('/')[0]}/repositories/${repo.split('/').slice(1).join('%252F')}/artifacts/${ref}?with_scan_overview=true&with_sbom_overview=true`);
  assert.equal(r.status, 200, r.text);
  const so = obj(r.json).scan_overview;
  return so === undefined ? undefined : obj(obj(so)[vuln11]);
}

async function waitStatus(tw: TestWharf, repo: string, ref: string, status: string): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const o = await overview(tw, repo, ref);
    return o?.scan_status === status ? o : undefined;
  });
}

async function scanEvents(tw: TestWharf, digest: string): Promise<Array<Record<string, unknown>>> {
  const rows = await tw.wharf.db.kysely.selectFrom('events').select(['type', 'data']).where('type', 'like', 'SCANNING_%').orderBy('seq').execute();
  return rows.map((r) => obj(JSON.parse(r.data))).filter((e) => obj(e.artifact).digest === digest);
}

const scanPath = (repo: string, ref: string) => `/projects/${repo.split('/')[0]}/repositories/${repo.split('/').slice(1).join('%252F')}/artifacts/${ref}/scan`;

describe('scans', { timeout: 600_000 }, () => {
  let tw: TestWharf;
  let adapter: TestAdapter;
  let bearer: TestAdapter | undefined;

  before(async () => {
    tw = await startWharf({ overrides: { jobs: { poll_ms: 100 } } });
    adapter = await startTestAdapter();
    await useAdapter(tw, adapter, 'library', 'test-adapter');
  });
  after(async () => {
    await tw.close();
    await adapter.close();
    await bearer?.close();
  });

  test('a scan: 202, the report, its overview, the addition, the log and one SCANNING_COMPLETED', { timeout: 60_000 }, async () => {
    adapter.mode = 'slow';
    adapter.authType = '';
    const digest = await pushSmallImage(tw.url, 'library/app', smallImage('scan-a'), { tag: 'v1', auth: adminAuth });
    const before = await overview(tw, 'library/app', 'v1');
    assert.equal(before, undefined, 'an unscanned artifact has no scan_overview');
    const r = await call(tw, 'POST', scanPath('library/app', 'v1'));
    assert.equal(r.status, 202, r.text);
    assert.equal(r.text, '');
    const o = await waitStatus(tw, 'library/app', 'v1', 'Success');
    assert.match(String(o.report_id), /^[0-9a-f-]{36}$/);
    assert.equal(o.severity, 'High');
    assert.deepEqual(o.summary, { total: 3, fixable: 1, summary: { High: 1, Medium: 1, None: 1 } });
    assert.deepEqual(o.scanner, { name: 'TestScanner', vendor: 'Wharf Tests', version: '1.2.3' });
    assert.equal(o.complete_percent, 100);
    assert.ok(String(o.start_time) <= String(o.end_time));
    // The adapter pulled the manifest with its Basic credential, for exactly this repository.
    const scan = adapter.scans.at(-1);
    assert.ok(scan);
    assert.equal(scan.pullStatus, 200);
    const reg = obj(scan.body.registry);
    assert.match(String(reg.authorization), /^Basic /);
    assert.equal(Buffer.from(String(reg.authorization).slice(6), 'base64').toString().split(':')[0], 'wharf$scanner');
    assert.deepEqual(obj(scan.body.artifact), { repository: 'library/app', digest, tag: 'v1', mime_type: 'application/vnd.oci.image.manifest.v1+json', size: smallImage('scan-a').manifest.length });
    assert.deepEqual(scan.body.enabled_capabilities, [{ type: 'vulnerability', produces_mime_types: [vuln11], parameters: null }]);
    // The credential pulls nothing else: another repository is refused.
    const other = await pushSmallImage(tw.url, 'library/other', smallImage('scan-other'), { tag: 'v1', auth: adminAuth });
    const denied = await request(`${tw.url}/v2/library/other/manifests/${other}`, { headers: { authorization: String(reg.authorization) } });
    await denied.body.text();
    assert.equal(denied.statusCode, 403);
    // Exchanged at /service/token (what registry clients do on a Bearer challenge), it keeps its
    // marker on its repository and is granted nothing on another.
    const tok = await request(`${tw.url}/service/token?service=wharf&scope=repository:library/app:pull&scope=repository:library/other:pull`, { headers: { authorization: String(reg.authorization) } });
    const issued = obj(JSON.parse(await tok.body.text()));
    assert.equal(tok.statusCode, 200);
    const claims = obj(JSON.parse(Buffer.from(String(issued.token).split('.')[1] ?? '', 'base64url').toString()));
    assert.deepEqual(claims.access, [
      { type: 'repository', name: 'library/app', actions: ['pull', 'scanner-pull'] },
      { type: 'repository', name: 'library/other', actions: [] },
    ]);
    assert.equal(claims.sub, 'wharf$scanner');
    const viaToken = await request(`${tw.url}/v2/library/app/manifests/${digest}`, { headers: { authorization: `Bearer ${String(issued.token)}`, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    await viaToken.body.text();
    assert.equal(viaToken.statusCode, 200);
    // The addition: Harbor's normalisation and quirks.
    const add = await call(tw, 'GET', `/projects/library/repositories/app/artifacts/v1/additions/vulnerabilities`);
    assert.equal(add.status, 200);
    const report = obj(obj(add.json)[vuln11]);
    assert.deepEqual(Object.keys(obj(add.json)), [vuln11]);
    assert.equal(report.generated_at, '2026-01-02T03:04:05Z');
    assert.equal(report.severity, 'High');
    assert.deepEqual(report.vulnerabilities, [
      {
        id: 'CVE-2024-0727',
        package: 'libcrypto3',
        version: '3.1.4-r2',
        fix_version: '3.1.4-r5',
        severity: 'High',
        status: '',
        description: 'PKCS12 NULL dereference',
        links: ['https://nvd.nist.gov/vuln/detail/CVE-2024-0727'],
        artifact_digests: [digest],
        preferred_cvss: { score_v3: 7.5, score_v2: null, vector_v3: '', vector_v2: '' },
        cwe_ids: ['CWE-476'],
        vendor_attributes: { CVSS: { nvd: { V3Score: 7.5, V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' } } },
      },
      { id: 'CVE-2023-0001', package: 'busybox', version: '1.36.1-r5', fix_version: '', severity: 'None', status: '', description: 'minor', links: [''], artifact_digests: [digest], preferred_cvss: { score_v3: null, score_v2: null, vector_v3: '', vector_v2: '' }, cwe_ids: [''], vendor_attributes: {} },
      { id: 'CVE-2023-0002', package: 'zlib', version: '1.3-r0', fix_version: '', severity: 'Medium', status: '', description: 'medium one', links: ['https://example.com/2'], artifact_digests: [digest], preferred_cvss: { score_v3: 5.5, score_v2: null, vector_v3: '', vector_v2: '' }, cwe_ids: [''], vendor_attributes: {} },
    ]);
    // The task log: the submission, the 302s, the outcome.
    const log = await call(tw, 'GET', `${scanPath('library/app', 'v1')}/${String(o.report_id)}/log`);
    assert.equal(log.status, 200);
    assert.match(String(log.headers['content-type']), /^text\/plain/);
    assert.match(log.text, /the adapter accepted the scan: request id scan-\d+/);
    assert.match(log.text, /is not ready: polling again in 1 s/);
    // Every poll asked for a held answer, up to half the adapter timeout (10 s by default); this
    // adapter does not hold, so the Refresh-After polling went on as before.
    const polls = adapter.polls.filter((p) => p.id === adapter.scans.at(-1)?.id);
    assert.ok(polls.length >= 2);
    assert.deepEqual([...new Set(polls.map((p) => p.prefer))], ['wait=5']);
    assert.match(log.text, /report application\/vnd\.security\.vulnerability\.report; version=1\.1: 3 vulnerabilities \(1 fixable\), severity High/);
    const unknown = await call(tw, 'GET', `${scanPath('library/app', 'v1')}/0b7c8d52-3c2e-4a55-9c1c-8a5f3f6c9d10/log`);
    assert.equal(unknown.status, 404);
    assert.equal(obj(obj(unknown.json).errors instanceof Array ? (obj(unknown.json).errors as unknown[])[0] : {}).message, 'report with uuid 0b7c8d52-3c2e-4a55-9c1c-8a5f3f6c9d10 does not exist');
    // Exactly one event, with the tag, the scan type and the overview as stored.
    const events = await scanEvents(tw, digest);
    assert.equal(events.length, 1);
    const e = obj(events[0]);
    assert.equal(e.type, 'SCANNING_COMPLETED');
    assert.equal(e.operator, 'admin');
    assert.equal(e.scanType, 'vulnerability');
    assert.equal(obj(e.artifact).tag, 'v1');
    assert.deepEqual(obj(obj(e.overview)[vuln11]), o);
  });

  test('a second scan while one runs is a 409; stop needs a body and ends it Stopped with one SCANNING_STOPPED', { timeout: 60_000 }, async () => {
    adapter.mode = 'hang';
    const digest = await pushSmallImage(tw.url, 'library/app', smallImage('scan-b'), { tag: 'v2', auth: adminAuth });
    const none = await call(tw, 'POST', `${scanPath('library/app', 'v2')}/stop`, { scan_type: 'vulnerability' });
    assert.equal(none.status, 400);
    assert.match(none.text, new RegExp(`no scan job for artifact digest=${digest}`));
    assert.equal((await call(tw, 'POST', scanPath('library/app', 'v2'), { scan_type: 'nonsense' })).status, 202);
    await waitStatus(tw, 'library/app', 'v2', 'Running');
    const again = await call(tw, 'POST', scanPath('library/app', 'v2'));
    assert.equal(again.status, 409);
    assert.match(again.text, /a previous scan process is Running/);
    const noBody = await call(tw, 'POST', `${scanPath('library/app', 'v2')}/stop`);
    assert.equal(noBody.status, 400);
    const stop = await call(tw, 'POST', `${scanPath('library/app', 'v2')}/stop`, { scan_type: 'vulnerability' });
    assert.equal(stop.status, 202, stop.text);
    const o = await waitStatus(tw, 'library/app', 'v2', 'Stopped');
    assert.equal(o.severity, undefined);
    assert.equal(o.summary, undefined);
    const events = await eventually(async () => {
      const ev = await scanEvents(tw, digest);
      return ev.length ? ev : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await scanEvents(tw, digest)).length, 1);
    assert.equal(obj(events[0]).type, 'SCANNING_STOPPED');
    assert.equal(obj(obj(obj(events[0]).overview)[vuln11]).scan_status, 'Stopped');
    const log = await call(tw, 'GET', `${scanPath('library/app', 'v2')}/${String(o.report_id)}/log`);
    assert.match(log.text, /stopped by request/);
  });

  test('a failing adapter: Error, one SCANNING_FAILED with the message, the message in the task log', { timeout: 60_000 }, async () => {
    adapter.mode = 'fail';
    const digest = await pushSmallImage(tw.url, 'library/app', smallImage('scan-c'), { tag: 'v3', auth: adminAuth });
    assert.equal((await call(tw, 'POST', scanPath('library/app', 'v3'))).status, 202);
    const o = await waitStatus(tw, 'library/app', 'v3', 'Error');
    const log = await call(tw, 'GET', `${scanPath('library/app', 'v3')}/${String(o.report_id)}/log`);
    assert.match(log.text, /\[ERROR\] .*the scanner database is corrupt/);
    const events = await eventually(async () => {
      const ev = await scanEvents(tw, digest);
      return ev.length ? ev : undefined;
    });
    assert.equal(events.length, 1);
    const e = obj(events[0]);
    assert.equal(e.type, 'SCANNING_FAILED');
    assert.match(String(e.error), /the scanner database is corrupt/);
    assert.equal(obj(obj(e.overview)[vuln11]).scan_status, 'Error');
  });

  test('an adapter that asks for Bearer gets a bearer token that pulls the repository', { timeout: 60_000 }, async () => {
    // Kept running until the end: scan all scans this project too.
    bearer = await startTestAdapter('BearerScanner');
    bearer.authType = 'Bearer';
    {
      await call(tw, 'POST', '/projects', { project_name: 'bearer', metadata: {} });
      await useAdapter(tw, bearer, 'bearer', 'test-adapter-bearer');
      await pushSmallImage(tw.url, 'bearer/app', smallImage('scan-d'), { tag: 'v4', auth: adminAuth });
      assert.equal((await call(tw, 'POST', scanPath('bearer/app', 'v4'))).status, 202);
      const o = await waitStatus(tw, 'bearer/app', 'v4', 'Success');
      assert.deepEqual(o.scanner, { name: 'BearerScanner', vendor: 'Wharf Tests', version: '1.2.3' });
      const scan = bearer.scans.at(-1);
      assert.ok(scan);
      assert.match(String(obj(scan.body.registry).authorization), /^Bearer /);
      assert.equal(scan.pullStatus, 200);
    }
  });

  test('an SBOM: SPDX requested, pushed as Harbor’s accessory, sbom_overview with its digest; regeneration replaces it', { timeout: 60_000 }, async () => {
    adapter.mode = 'ready';
    const digest = await pushSmallImage(tw.url, 'library/app', smallImage('scan-e'), { tag: 'v5', auth: adminAuth });
    assert.equal((await call(tw, 'POST', scanPath('library/app', 'v5'), { scan_type: 'sbom' })).status, 202);
    const sbomOf = async () => {
      const r = await call(tw, 'GET', `/projects/library/repositories/app/artifacts/v5?with_sbom_overview=true&with_accessory=true`);
      return obj(r.json);
    };
    const art = await eventually(async () => {
      const a = await sbomOf();
      return a.sbom_overview && obj(a.sbom_overview).scan_status === 'Success' ? a : undefined;
    });
    const so = obj(art.sbom_overview);
    const sbomDigest = String(so.sbom_digest);
    assert.match(sbomDigest, /^sha256:[0-9a-f]{64}$/);
    const scan = adapter.scans.at(-1);
    assert.deepEqual(scan?.body.enabled_capabilities, [{ type: 'sbom', produces_mime_types: ['application/vnd.security.sbom.report+json; version=1.0'], parameters: { sbom_media_types: ['application/spdx+json'] } }]);
    assert.equal(adapter.polls.at(-1)?.sbomMediaType, 'application/spdx+json');
    // The accessory manifest, exactly Harbor's shape.
    const m = await request(`${tw.url}/v2/library/app/manifests/${sbomDigest}`, { headers: { authorization: adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const manifest = obj(JSON.parse(await m.body.text()));
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(obj(manifest.config).mediaType, 'application/vnd.goharbor.harbor.sbom.v1');
    assert.equal(manifest.artifactType, undefined);
    assert.deepEqual(obj(manifest.subject), { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: smallImage('scan-e').manifest.length });
    const layers = manifest.layers as Array<Record<string, unknown>>; // an image manifest's layers
    assert.equal(layers.length, 1);
    assert.equal(layers[0]?.mediaType, 'application/vnd.oci.image.layer.v1.tar');
    assert.deepEqual(Object.keys(obj(manifest.annotations)).sort(), ['created', 'created-by', 'org.opencontainers.artifact.created', 'org.opencontainers.artifact.description']);
    const layer = await request(`${tw.url}/v2/library/app/blobs/${String(layers[0]?.digest)}`, { headers: { authorization: adminAuth } });
    assert.deepEqual(JSON.parse(await layer.body.text()), { spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: 'fixture', packages: [{ SPDXID: 'SPDXRef-Package-1', name: 'zlib', versionInfo: '1.3-r0' }], documentNamespace: `https://scanner.example/${scan?.id ?? ''}` });
    // One SBOM per (subject, format): a regeneration deletes the old accessory.
    assert.equal((await call(tw, 'POST', scanPath('library/app', 'v5'), { scan_type: 'sbom' })).status, 202);
    const second = await eventually(async () => {
      const a = await sbomOf();
      const s = a.sbom_overview ? obj(a.sbom_overview) : undefined;
      return s && s.scan_status === 'Success' && s.sbom_digest !== sbomDigest ? s : undefined;
    });
    assert.notEqual(second.sbom_digest, sbomDigest);
    const gone = await request(`${tw.url}/v2/library/app/manifests/${sbomDigest}`, { method: 'HEAD', headers: { authorization: adminAuth } });
    await gone.body.text();
    assert.equal(gone.statusCode, 404);
    const events = (await scanEvents(tw, digest)).filter((e) => e.scanType === 'sbom');
    assert.equal(events.length, 2);
    assert.deepEqual(
      events.map((e) => obj(e.overview).scan_status),
      ['Success', 'Success'],
    );
    assert.equal(obj(obj(events[1]).overview).sbom_repository, 'library/app');
  });

  test('an index: one task per platform child, one event each with platform and parent_digest, a merged overview', { timeout: 60_000 }, async () => {
    adapter.mode = 'ready';
    const amd = smallImage('idx-amd', 'idx-amd', { architecture: 'amd64', os: 'linux' });
    const arm = smallImage('idx-arm', 'idx-arm', { architecture: 'arm64', os: 'linux' });
    await pushSmallImage(tw.url, 'library/multi', amd, { auth: adminAuth });
    await pushSmallImage(tw.url, 'library/multi', arm, { auth: adminAuth });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: amd.digest, size: amd.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm.digest, size: arm.manifest.length, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
        ],
      }),
    );
    const res = await request(`${tw.url}/v2/library/multi/manifests/multi`, { method: 'PUT', headers: { authorization: adminAuth, 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: index });
    await res.body.text();
    assert.equal(res.statusCode, 201);
    const indexDigest = String(res.headers['docker-content-digest']);
    assert.equal((await call(tw, 'POST', scanPath('library/multi', 'multi'))).status, 202);
    const o = await waitStatus(tw, 'library/multi', 'multi', 'Success');
    assert.deepEqual(o.summary, { total: 6, fixable: 2, summary: { High: 2, Medium: 2, None: 2 } });
    assert.equal(o.severity, 'High');
    assert.equal(o.complete_percent, 100);
    const ids = Buffer.from(String(o.report_id), 'base64').toString().split('|');
    assert.equal(ids.length, 2);
    const events = await eventually(async () => {
      const a = await scanEvents(tw, amd.digest);
      const b = await scanEvents(tw, arm.digest);
      return a.length && b.length ? [...a, ...b] : undefined;
    });
    assert.deepEqual(
      events.map((e) => [e.type, e.platform, e.parentDigest, obj(e.artifact).tag]),
      [
        ['SCANNING_COMPLETED', 'linux/amd64', indexDigest, null],
        ['SCANNING_COMPLETED', 'linux/arm64/v8', indexDigest, null],
      ],
    );
    assert.equal((await scanEvents(tw, indexDigest)).length, 0, 'the index itself is not scanned');
    const log = await call(tw, 'GET', `${scanPath('library/multi', 'multi')}/${String(o.report_id)}/log`);
    assert.equal(log.status, 200);
    assert.equal(log.text.match(/---------- Logs of report [0-9a-f-]{36} ----------/g)?.length, 2);
    assert.ok(log.text.startsWith(`---------- Logs of report ${ids[0] ?? ''} ----------\n`));
    const add = obj(obj((await call(tw, 'GET', '/projects/library/repositories/multi/artifacts/multi/additions/vulnerabilities')).json)[vuln11]);
    const vulns = add.vulnerabilities as Array<Record<string, unknown>>; // the addition's list
    assert.equal(vulns.length, 3);
    assert.deepEqual(vulns[0]?.artifact_digests, [amd.digest, arm.digest]);
  });

  test('the gate reads the last successful report while a rescan runs; deleting the artifact drops its reports', { timeout: 60_000 }, async () => {
    adapter.mode = 'ready';
    const digest = await pushSmallImage(tw.url, 'library/gate', smallImage('gate-a'), { tag: 'g1', auth: adminAuth });
    assert.equal(await tw.wharf.scans.gateReport(digest), null);
    assert.equal((await call(tw, 'POST', scanPath('library/gate', 'g1'))).status, 202);
    await waitStatus(tw, 'library/gate', 'g1', 'Success');
    const judged = { status: 'Success', items: [{ id: 'CVE-2024-0727', severity: 'High' }, { id: 'CVE-2023-0001', severity: 'None' }, { id: 'CVE-2023-0002', severity: 'Medium' }] };
    assert.deepEqual(await tw.wharf.scans.gateReport(digest), judged);
    adapter.mode = 'hang';
    assert.equal((await call(tw, 'POST', scanPath('library/gate', 'g1'))).status, 202);
    await waitStatus(tw, 'library/gate', 'g1', 'Running');
    assert.deepEqual(await tw.wharf.scans.gateReport(digest), judged);
    // The addition keeps showing the last finished report too.
    const add = obj((await call(tw, 'GET', '/projects/library/repositories/gate/artifacts/g1/additions/vulnerabilities')).json);
    assert.equal((obj(add[vuln11]).vulnerabilities as unknown[]).length, 3);
    assert.equal((await call(tw, 'POST', `${scanPath('library/gate', 'g1')}/stop`, { scan_type: 'vulnerability' })).status, 202);
    await waitStatus(tw, 'library/gate', 'g1', 'Stopped');
    assert.deepEqual(await tw.wharf.scans.gateReport(digest), judged);
    adapter.mode = 'ready';
    const res = await request(`${tw.url}${api}/projects/library/repositories/gate/artifacts/g1`, { method: 'DELETE', headers: { authorization: adminAuth } });
    await res.body.text();
    assert.equal(res.statusCode, 200);
    await eventually(async () => (await tw.wharf.db.kysely.selectFrom('scan_reports').select('id').where('digest', '=', digest).execute()).length === 0);
    assert.equal(await tw.wharf.scans.gateReport(digest), null);
  });

  test('scan-on-push: auto_scan scans each push once; the SBOM accessory it pushes is not scanned', { timeout: 60_000 }, async () => {
    adapter.mode = 'ready';
    const created = await call(tw, 'POST', '/projects', { project_name: 'auto', metadata: { auto_scan: 'true', auto_sbom_generation: 'true' } });
    assert.equal(created.status, 201, created.text);
    await useAdapter(tw, adapter, 'auto', 'test-adapter-auto');
    const before = adapter.scans.length;
    const digest = await pushSmallImage(tw.url, 'auto/app', smallImage('auto-a'), { tag: 'latest', auth: adminAuth });
    const events = await eventually(async () => {
      const ev = await scanEvents(tw, digest);
      return ev.length >= 2 ? ev : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    const all = await scanEvents(tw, digest);
    assert.deepEqual(all.map((e) => `${String(e.type)}:${String(e.scanType)}`).sort(), ['SCANNING_COMPLETED:sbom', 'SCANNING_COMPLETED:vulnerability']);
    assert.equal(all.every((e) => e.operator === 'admin' && obj(e.artifact).tag === 'latest'), true);
    assert.equal(adapter.scans.length - before, 2, 'one vulnerability scan and one SBOM, nothing for the accessory');
    assert.ok(events.length >= 2);
  });

  test('scan all: Manual runs at once, 409 while running, metrics, stop', { timeout: 60_000 }, async () => {
    adapter.mode = 'ready';
    const r = await call(tw, 'POST', '/system/scanAll/schedule', { schedule: { type: 'Manual' } });
    assert.equal(r.status, 201, r.text);
    const m = await eventually(async () => {
      const x = obj((await call(tw, 'GET', '/scans/all/metrics')).json);
      return x.ongoing === false ? x : undefined;
    });
    assert.equal(m.trigger, 'Manual');
    assert.equal(m.total, m.completed);
    assert.ok(Number(m.total) > 0);
    assert.deepEqual(Object.keys(obj(m.metrics)), ['Pending', 'Running', 'Success', 'Error', 'Stopped']);
    assert.equal(obj(m.metrics).Success, m.total);
    assert.deepEqual(obj((await call(tw, 'GET', '/scans/schedule/metrics')).json), m);
    const stop = await call(tw, 'POST', '/system/scanAll/stop');
    assert.equal(stop.status, 400);
    assert.match(stop.text, /no scan all job is found currently/);
    // A schedule: 6-field cron; a second POST is Harbor's 412; PUT None removes it.
    assert.equal((await call(tw, 'POST', '/system/scanAll/schedule', { schedule: { type: 'Custom', cron: '0 0 3 * * *' } })).status, 201);
    const dup = await call(tw, 'POST', '/system/scanAll/schedule', { schedule: { type: 'Daily' } });
    assert.equal(dup.status, 412);
    assert.match(dup.text, /fail to set schedule for scan all as always had one, please delete it firstly then to re-schedule/);
    const s = obj((await call(tw, 'GET', '/system/scanAll/schedule')).json);
    assert.deepEqual(obj(s.schedule).type, 'Custom');
    assert.deepEqual(obj(s.schedule).cron, '0 0 3 * * *');
    assert.equal((await call(tw, 'PUT', '/system/scanAll/schedule', { schedule: { type: 'Manual' } })).status, 400);
    assert.equal((await call(tw, 'PUT', '/system/scanAll/schedule', { schedule: { type: 'None' } })).status, 200);
    assert.deepEqual((await call(tw, 'GET', '/system/scanAll/schedule')).json, {});
    // A run that hangs is stopped at once.
    adapter.mode = 'hang';
    assert.equal((await call(tw, 'POST', '/system/scanAll/schedule', { schedule: { type: 'Manual' } })).status, 201);
    const busy = await call(tw, 'POST', '/system/scanAll/schedule', { schedule: { type: 'Manual' } });
    assert.equal(busy.status, 409);
    assert.match(busy.text, /a previous scan all job aleady exits, its status is Running/);
    await eventually(async () => Number(obj(obj((await call(tw, 'GET', '/scans/all/metrics')).json).metrics).Running ?? 0) > 0);
    assert.equal((await call(tw, 'POST', '/system/scanAll/stop')).status, 202);
    const stopped = await eventually(async () => {
      const x = obj((await call(tw, 'GET', '/scans/all/metrics')).json);
      return x.ongoing === false ? x : undefined;
    });
    assert.ok(Number(obj(stopped.metrics).Stopped) > 0);
    assert.equal(obj(stopped.metrics).Running, 0);
    adapter.mode = 'ready';
  });
});

describe('scans across a restart', { timeout: 120_000 }, () => {
  test('a scan interrupted by a restart resumes polling its request: one scan at the adapter, one event', { timeout: 60_000 }, async () => {
    const dataDir = tempDataDir();
    const adapter = await startTestAdapter();
    let tw = await startWharf({ dataDir, overrides: { jobs: { poll_ms: 100 } } });
    try {
      await useAdapter(tw, adapter, 'library', 'restart-adapter');
      adapter.mode = 'hang';
      const digest = await pushSmallImage(tw.url, 'library/app', smallImage('restart-a'), { tag: 'r1', auth: adminAuth });
      assert.equal((await call(tw, 'POST', scanPath('library/app', 'r1'))).status, 202);
      await waitStatus(tw, 'library/app', 'r1', 'Running');
      await eventually(async () => adapter.polls.length > 0);
      await tw.close({ keepData: true });
      adapter.mode = 'ready';
      tw = await startWharf({ dataDir, overrides: { jobs: { poll_ms: 100 } } });
      await waitStatus(tw, 'library/app', 'r1', 'Success');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(adapter.scans.length, 1, 'the resumed task polled the same request instead of scanning again');
      const events = await scanEvents(tw, digest);
      assert.deepEqual(
        events.map((e) => e.type),
        ['SCANNING_COMPLETED'],
      );
    } finally {
      await tw.close();
      await adapter.close();
    }
  });
});

describe('scan all in batches', { timeout: 120_000 }, () => {
  test('batches of 2, a job history of 1: the metrics still count every scan; the summary counts the rest', async () => {
    const tw = await startWharf({ overrides: { jobs: { poll_ms: 100, history_max_per_type: 1 }, scanning: { scan_all_batch: 2 } } });
    const adapter = await startTestAdapter();
    try {
      await useAdapter(tw, adapter, 'library', 'batch-adapter');
      for (let i = 0; i < 5; i++) await pushSmallImage(tw.url, 'library/batch', smallImage(`batch-${i}`), { tag: `t${i}`, auth: adminAuth });
      assert.equal((await call(tw, 'POST', '/system/scanAll/schedule', { schedule: { type: 'Manual' } })).status, 201);
      const m = await eventually(async () => {
        const x = obj((await call(tw, 'GET', '/scans/all/metrics')).json);
        return x.ongoing === false ? x : undefined;
      });
      assert.deepEqual(m, { total: 5, completed: 5, metrics: { Pending: 0, Running: 0, Success: 5, Error: 0, Stopped: 0 }, ongoing: false, trigger: 'Manual' });
      // Each artifact scanned once, over three batches.
      assert.equal(adapter.scans.length, 5);
      const rows = await tw.wharf.db.kysely.selectFrom('job_tasks').select(['vendor_type', 'extra_attrs']).where('vendor_type', '=', 'SCAN_ALL').execute();
      assert.deepEqual(obj(JSON.parse(rows[0]?.extra_attrs ?? '{}')).result, { summary: { total_count: 5, submit_count: 5, conflict_count: 0, precondition_count: 0, unsupport_count: 0, unknow_count: 0 } });
    } finally {
      await tw.close();
      await adapter.close();
    }
  });
});
