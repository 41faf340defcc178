/** The built-in scanner's pure parts: scan request checks, the in-memory scans, report choices, challenges and manifests. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CYCLONEDX_JSON, DOCKER_MANIFEST, OCI_MANIFEST, SBOM_REPORT_MIME, SPDX_JSON, VULN_REPORT_MIME_1_1, VULN_REPORT_MIME_HARBOR } from '../adapter/index.ts';
import { checkScanRequest, isRepositoryName } from './scan-request.ts';
import { ScanQueueFull, ScanStore } from './scan-store.ts';
import { acceptsGzip, BoundedLru } from './scanner.ts';
import { chooseReportMime, scannerMetadata, vulnerabilityReport, wharfScanner } from './reports.ts';
import { parseChallenge, parseImageManifest, RegistryPullError } from './registry-client.ts';
import { validateMetadata } from '../adapter/client.ts';

const digest = 'sha256:' + 'a'.repeat(64);
const good = {
  registry: { url: 'https://wharf.example', authorization: 'Bearer abc', insecure: false },
  artifact: { repository: 'library/alpine', tag: '3.20', digest, mime_type: OCI_MANIFEST, size: 1022 },
};

describe('checkScanRequest', () => {
  it('reads Harbor’s request; no enabled_capabilities means all, SPDX by default', () => {
    const r = checkScanRequest(good);
    assert.deepEqual(r, {
      ok: true,
      request: {
        registry: { url: 'https://wharf.example', authorization: 'Bearer abc', insecure: false },
        artifact: { repository: 'library/alpine', digest, tag: '3.20', mime_type: OCI_MANIFEST },
        vulnerability: true,
        sbom: true,
        sbomMediaTypes: [SPDX_JSON],
      },
    });
  });
  it('reads enabled capabilities and SBOM formats', () => {
    const r = checkScanRequest({ ...good, enabled_capabilities: [{ type: 'sbom', produces_mime_types: [SBOM_REPORT_MIME], parameters: { sbom_media_types: [CYCLONEDX_JSON, SPDX_JSON] } }] });
    assert.ok(r.ok);
    assert.equal(r.request.vulnerability, false);
    assert.equal(r.request.sbom, true);
    assert.deepEqual(r.request.sbomMediaTypes, [CYCLONEDX_JSON, SPDX_JSON]);
    const v = checkScanRequest({ ...good, enabled_capabilities: [{ type: 'vulnerability', produces_mime_types: [VULN_REPORT_MIME_HARBOR], parameters: null }] });
    assert.ok(v.ok && v.request.vulnerability && !v.request.sbom);
  });
  const cases: Array<[string, unknown, 400 | 422 | 501, string]> = [
    ['not an object', [], 400, 'the scan request must be a JSON object'],
    ['no registry', { artifact: good.artifact }, 422, 'missing registry'],
    ['registry of the wrong type', { ...good, registry: 'x' }, 400, 'registry must be an object'],
    ['url of the wrong type', { ...good, registry: { url: 5 } }, 400, 'registry.url must be a string'],
    ['no url', { ...good, registry: { url: '' } }, 422, 'missing registry.url'],
    ['url not http', { ...good, registry: { url: 'file:///etc' } }, 422, 'invalid registry.url: the scheme must be http or https'],
    ['url with credentials', { ...good, registry: { url: 'https://u:p@h' } }, 422, 'invalid registry.url: credentials go in registry.authorization'],
    ['odd authorization', { ...good, registry: { url: 'https://h', authorization: 'Token x' } }, 422, 'invalid registry.authorization: a Basic or Bearer header value'],
    ['insecure not boolean', { ...good, registry: { url: 'https://h', insecure: 'yes' } }, 400, 'registry.insecure must be a boolean'],
    ['no artifact', { registry: good.registry }, 422, 'missing artifact'],
    ['bad repository', { ...good, artifact: { ...good.artifact, repository: 'Library/Alpine' } }, 422, 'invalid artifact.repository'],
    ['no digest', { ...good, artifact: { ...good.artifact, digest: '' } }, 422, 'missing artifact.digest'],
    ['bad digest', { ...good, artifact: { ...good.artifact, digest: 'sha256:xyz' } }, 422, 'invalid artifact.digest'],
    ['no mime type', { ...good, artifact: { ...good.artifact, mime_type: '' } }, 422, 'missing artifact.mime_type'],
    ['an index', { ...good, artifact: { ...good.artifact, mime_type: 'application/vnd.oci.image.index.v1+json' } }, 501, 'unsupported artifact.mime_type "application/vnd.oci.image.index.v1+json"'],
    ['capabilities not an array', { ...good, enabled_capabilities: {} }, 400, 'enabled_capabilities must be an array'],
    ['capability without type', { ...good, enabled_capabilities: [{}] }, 422, 'missing enabled_capabilities[0].type'],
    ['unknown capability', { ...good, enabled_capabilities: [{ type: 'secrets' }] }, 501, 'unsupported capability type "secrets"'],
    ['foreign report type', { ...good, enabled_capabilities: [{ type: 'vulnerability', produces_mime_types: ['application/vnd.scanner.adapter.vuln.report.raw'] }] }, 501, 'the vulnerability capability does not produce application/vnd.scanner.adapter.vuln.report.raw'],
    ['unknown SBOM format', { ...good, enabled_capabilities: [{ type: 'sbom', parameters: { sbom_media_types: ['text/plain'] } }] }, 501, 'unsupported sbom_media_type "text/plain"'],
  ];
  for (const [name, doc, status, message] of cases) {
    it(`answers ${status} for ${name}`, () => assert.deepEqual(checkScanRequest(doc), { ok: false, status, message }));
  }
  it('takes the Docker v2 type and single-component names (other registries)', () => {
    const r = checkScanRequest({ ...good, artifact: { ...good.artifact, repository: 'alpine', mime_type: DOCKER_MANIFEST } });
    assert.ok(r.ok);
  });
  it('checks repository names in linear time', () => {
    assert.ok(isRepositoryName('a/b-c/d__e.f'));
    assert.ok(!isRepositoryName('a'.repeat(256)));
    const t = Date.now();
    assert.ok(!isRepositoryName('a-'.repeat(120) + '!'));
    assert.ok(Date.now() - t < 1000);
  });
});

describe('ScanStore', () => {
  it('runs at most `concurrency` scans and keeps results', async () => {
    let running = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const store = new ScanStore<number, number>({
      concurrency: 2,
      run: async (n) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => gates.push(r));
        running--;
        if (n === 3) throw new Error('three failed');
        return n * 10;
      },
    });
    const ids = [1, 2, 3].map((n) => store.submit(n));
    assert.deepEqual(ids.map((id) => store.get(id)?.state), ['running', 'running', 'queued']);
    while (store.stats().running + store.stats().queued > 0) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(peak, 2);
    assert.equal(store.get(ids[0]!)?.result, 10);
    assert.equal(store.get(ids[1]!)?.state, 'done');
    assert.deepEqual([store.get(ids[2]!)?.state, store.get(ids[2]!)?.error], ['failed', 'three failed']);
    await store.close();
  });
  it('forgets finished scans after the TTL and beyond the bound (least recently polled first)', async () => {
    let now = 1000;
    const store = new ScanStore<number, number>({ concurrency: 5, run: async (n) => n, ttlMs: 100, maxFinished: 2, now: () => now });
    const a = store.submit(1);
    const b = store.submit(2);
    await new Promise((r) => setImmediate(r));
    assert.equal(store.get(a)?.state, 'done'); // a is now the most recently polled
    const c = store.submit(3);
    await new Promise((r) => setImmediate(r));
    assert.equal(store.get(b), undefined);
    assert.equal(store.get(a)?.result, 1);
    assert.equal(store.get(c)?.result, 3);
    now += 100;
    assert.equal(store.get(a), undefined);
    assert.equal(store.get('no-such-id'), undefined);
    await store.close();
  });
  it('bounds the finished scans by bytes: 30 scans of 4 MiB in a row keep 32 MiB at most, the TTL frees the rest', async () => {
    let now = 1000;
    const MiB = 1024 * 1024;
    const store = new ScanStore<number, Buffer>({ concurrency: 1, run: async (n) => Buffer.alloc(4 * MiB, n), sizeOf: (b) => b.length, now: () => now });
    const ids: string[] = [];
    for (let n = 0; n < 30; n++) {
      ids.push(store.submit(n));
      while (store.stats().running + store.stats().queued > 0) await new Promise((r) => setImmediate(r));
      assert.ok(store.stats().finishedBytes <= 32 * MiB, `after scan ${n}: ${store.stats().finishedBytes}`);
    }
    assert.deepEqual(store.stats(), { queued: 0, running: 0, finished: 8, finishedBytes: 32 * MiB });
    assert.equal(store.get(ids[21]!), undefined);
    assert.equal(store.get(ids[22]!)?.result?.[0], 22);
    now += 10 * 60_000; // the default TTL
    assert.equal(store.get(ids[29]!), undefined);
    store.submit(30);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(store.stats(), { queued: 0, running: 0, finished: 1, finishedBytes: 4 * MiB });
    await store.close();
  });
  it('keeps the scan that just finished even when it alone is over the byte bound; counts failures by their message', async () => {
    const store = new ScanStore<number, Buffer>({
      concurrency: 1,
      maxFinishedBytes: 100,
      sizeOf: (b) => b.length,
      run: async (n) => {
        if (n === 0) throw new Error('no');
        return Buffer.alloc(n);
      },
    });
    const failed = store.submit(0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([store.get(failed)?.error, store.stats().finishedBytes], ['no', 2]);
    const big = store.submit(500);
    await new Promise((r) => setImmediate(r));
    assert.equal(store.get(big)?.result?.length, 500);
    assert.equal(store.get(failed), undefined);
    assert.equal(store.stats().finishedBytes, 500);
    const small = store.submit(50);
    await new Promise((r) => setImmediate(r));
    assert.equal(store.get(big), undefined);
    assert.deepEqual([store.get(small)?.result?.length, store.stats().finishedBytes], [50, 50]);
    await store.close();
  });
  it('settled: resolves when the scan finishes, after the wait, on abort, and at once for a finished or unknown scan', async () => {
    const gates: Array<(v: number) => void> = [];
    const store = new ScanStore<number, number>({ concurrency: 1, run: () => new Promise<number>((r) => gates.push(r)) });
    const a = store.submit(1);
    const b = store.submit(2);
    // Two callers wait for a (running) and one for b (queued); a finishing wakes a's only.
    const order: string[] = [];
    const waits = [store.settled(a, 60_000).then(() => order.push(`a1 ${store.get(a)?.state}`)), store.settled(a, 60_000).then(() => order.push(`a2 ${store.get(a)?.state}`))];
    const forB = store.settled(b, 60_000).then(() => order.push(`b ${store.get(b)?.state}`));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, []);
    gates.shift()?.(10);
    await Promise.all(waits);
    assert.deepEqual(order, ['a1 done', 'a2 done']);
    // b is running now: a short wait ends with it still running; an abort ends another.
    await store.settled(b, 20);
    assert.equal(store.get(b)?.state, 'running');
    const stop = new AbortController();
    const aborted = store.settled(b, 60_000, stop.signal);
    stop.abort();
    await aborted;
    assert.equal(store.get(b)?.state, 'running');
    await store.settled(a, 60_000);
    await store.settled('no-such-id', 60_000);
    gates.shift()?.(20);
    await forB;
    assert.deepEqual(order, ['a1 done', 'a2 done', 'b done']);
    await store.close();
  });
  it('refuses scans beyond the in-flight limit and after close; close stops running scans', async () => {
    const store = new ScanStore<number, number>({
      concurrency: 1,
      maxInFlight: 2,
      run: (_n, signal) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')))),
    });
    const a = store.submit(1);
    const b = store.submit(2);
    assert.throws(() => store.submit(3), ScanQueueFull);
    await store.close();
    assert.deepEqual([store.get(a)?.state, store.get(a)?.error], ['failed', 'stopped']);
    assert.deepEqual([store.get(b)?.state, store.get(b)?.error], ['failed', 'the scanner stopped before the scan started']);
    assert.throws(() => store.submit(4), ScanQueueFull);
  });
});

describe('scanner memory bounds', () => {
  it('BoundedLru drops the least recently used above the entry and byte bounds, and refuses an entry over the byte bound', () => {
    const lru = new BoundedLru<string, Buffer>(3, 100, (b) => b.length);
    lru.set('a', Buffer.alloc(40));
    lru.set('b', Buffer.alloc(40));
    assert.equal(lru.get('a')?.length, 40); // b is now the least recently used
    lru.set('c', Buffer.alloc(40));
    assert.deepEqual([lru.get('b'), lru.get('a')?.length, lru.get('c')?.length, lru.stats()], [undefined, 40, 40, { entries: 2, bytes: 80 }]);
    lru.set('d', Buffer.alloc(101));
    assert.deepEqual([lru.get('d'), lru.stats()], [undefined, { entries: 2, bytes: 80 }]);
    lru.set('a', Buffer.alloc(10));
    lru.set('e', Buffer.alloc(1));
    lru.set('f', Buffer.alloc(1));
    assert.deepEqual([lru.get('c'), lru.stats()], [undefined, { entries: 3, bytes: 12 }]);
  });
  it('reads Accept-Encoding for gzip', () => {
    assert.equal(acceptsGzip(undefined), false);
    assert.equal(acceptsGzip('gzip'), true); // Go's http.Transport
    assert.equal(acceptsGzip('br, GZIP;q=0.5'), true);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip('identity'), false);
    assert.equal(acceptsGzip('gzip;q=0, deflate'), false);
    assert.equal(acceptsGzip('gzip; q=0.000'), false);
    assert.equal(acceptsGzip(['deflate', 'x-gzip']), true);
  });
});

describe('reports', () => {
  it('chooses the report type from Accept', () => {
    assert.equal(chooseReportMime(undefined), VULN_REPORT_MIME_1_1);
    assert.equal(chooseReportMime('*/*'), VULN_REPORT_MIME_1_1);
    assert.equal(chooseReportMime(VULN_REPORT_MIME_HARBOR), VULN_REPORT_MIME_HARBOR);
    assert.equal(chooseReportMime('application/vnd.security.sbom.report+json;version=1.0;q=0.9'), SBOM_REPORT_MIME);
    assert.equal(chooseReportMime('text/html, application/vnd.security.vulnerability.report; version=1.1'), VULN_REPORT_MIME_1_1);
    assert.equal(chooseReportMime('application/vnd.scanner.adapter.vuln.report.raw'), null);
    assert.equal(chooseReportMime('application/vnd.security.vulnerability.report; version=1.0'), null);
  });
  it('writes metadata that passes Harbor’s checks', () => {
    const md = scannerMetadata('1.2.3', { updatedAt: '2026-12-01T00:00:00Z', advisories: 12, source: 'file:///osv' });
    assert.equal(validateMetadata(md), null);
    assert.deepEqual(md.properties, {
      'harbor.scanner-adapter/scanner-type': 'os-package-vulnerability',
      'harbor.scanner-adapter/registry-authorization-type': 'Bearer',
      'harbor.scanner-adapter/vulnerability-database-updated-at': '2026-12-01T00:00:00Z',
      'wharf.scanner/vulnerability-database-advisories': '12',
      'wharf.scanner/vulnerability-database-source': 'file:///osv',
    });
    assert.equal(scannerMetadata('1', { updatedAt: null, advisories: 0, source: null }).properties?.['harbor.scanner-adapter/vulnerability-database-updated-at'], undefined);
  });
  it('gives a clean image severity None and otherwise the highest', () => {
    const art = { repository: 'library/a', digest, tag: '', mime_type: OCI_MANIFEST };
    const empty = vulnerabilityReport(wharfScanner('1'), art, [], '2026-01-01T00:00:00.000Z');
    assert.deepEqual(empty, { generated_at: '2026-01-01T00:00:00.000Z', artifact: art, scanner: { name: 'Wharf', vendor: 'Wharf', version: '1' }, severity: 'None', vulnerabilities: [] });
    const item = { id: 'CVE-1', package: 'p', version: '1', fix_version: '', severity: 'Medium' as const, description: '', links: [] };
    assert.equal(vulnerabilityReport(wharfScanner('1'), art, [item, { ...item, id: 'CVE-2', severity: 'High' }], '').severity, 'High');
  });
});

describe('registry client parsing', () => {
  it('parses Bearer challenges with quoted commas and escapes, in one pass', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://r.example/service/token",service="wharf",scope="repository:a/b:pull,push"'), {
      scheme: 'Bearer',
      params: { realm: 'https://r.example/service/token', service: 'wharf', scope: 'repository:a/b:pull,push' },
    });
    assert.deepEqual(parseChallenge('Basic realm="a \\"q\\" b"'), { scheme: 'Basic', params: { realm: 'a "q" b' } });
    assert.deepEqual(parseChallenge('Bearer  realm = x , service=y'), { scheme: 'Bearer', params: { realm: 'x', service: 'y' } });
    assert.equal(parseChallenge(''), null);
    const t = Date.now();
    parseChallenge('Bearer ' + 'a=",'.repeat(50_000));
    assert.ok(Date.now() - t < 1000);
  });
  it('reads image manifests and refuses indexes and schema 1', () => {
    const m = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'c', digest, size: 3 }, layers: [{ mediaType: 'l', digest, size: 7 }] };
    assert.deepEqual(parseImageManifest(Buffer.from(JSON.stringify(m)), ''), { mediaType: OCI_MANIFEST, config: { mediaType: 'c', digest, size: 3 }, layers: [{ mediaType: 'l', digest, size: 7 }] });
    const { mediaType: _omit, ...noType } = m;
    assert.equal(parseImageManifest(Buffer.from(JSON.stringify(noType)), `${DOCKER_MANIFEST}; charset=utf-8`).mediaType, DOCKER_MANIFEST);
    assert.throws(() => parseImageManifest(Buffer.from(JSON.stringify({ ...m, mediaType: 'application/vnd.oci.image.index.v1+json' })), ''), RegistryPullError);
    assert.throws(() => parseImageManifest(Buffer.from(JSON.stringify({ ...m, schemaVersion: 1 })), ''), /schemaVersion 2/);
    assert.throws(() => parseImageManifest(Buffer.from(JSON.stringify({ ...m, layers: [{ digest: 'x', size: 1 }] })), ''), /layer 0 is not a valid descriptor/);
  });
});
