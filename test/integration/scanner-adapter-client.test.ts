/**
 * The adapter client (src/scanning/adapter/client.ts) against real local HTTP and HTTPS servers
 * that behave like broken, slow or picky adapters: Harbor's error texts for 500 and 422 answers,
 * metadata that fails Harbor's checks, Refresh-After parsing, redirects not followed, the
 * per-request timeout, a stop, the auth header of each registration mode as the server receives
 * it (and never in the log), and skip-verify against a self-signed certificate made with openssl.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AdapterClient, AdapterError, capabilitiesOf, validateMetadata, type AdapterEndpoint } from '../../src/scanning/adapter/index.ts';
import { DOCKER_MANIFEST, OCI_MANIFEST, SBOM_REPORT_MIME, VULN_REPORT_MIME_1_1, type ScanRequest } from '../../src/scanning/adapter/protocol.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real local server whose answers each test sets; it records what it received. */
interface FakeAdapter {
  url: string;
  received: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  handle: Handler;
  close(): Promise<void>;
}

async function listen(server: Server, scheme: 'http' | 'https', state: { handle: Handler; received: FakeAdapter['received'] }): Promise<FakeAdapter> {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      state.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      state.handle(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    received: state.received,
    get handle() {
      return state.handle;
    },
    set handle(h: Handler) {
      state.handle = h;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function json(res: ServerResponse, status: number, doc: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(doc));
}

const goodMetadata = {
  scanner: { name: 'Fake', vendor: 'Tests', version: '1' },
  capabilities: [{ consumes_mime_types: [OCI_MANIFEST, DOCKER_MANIFEST], produces_mime_types: [VULN_REPORT_MIME_1_1] }],
};

const scanRequest: ScanRequest = {
  registry: { url: 'http://127.0.0.1:1', authorization: 'Bearer registry-token' },
  artifact: { repository: 'library/a', digest: 'sha256:' + 'b'.repeat(64), tag: 'v1', mime_type: OCI_MANIFEST },
};

function endpoint(a: FakeAdapter, more: Partial<AdapterEndpoint> = {}): AdapterEndpoint {
  return { url: a.url, auth: '', accessCredential: '', skipCertVerify: false, ...more };
}

async function rejects(p: Promise<unknown>, expected: { kind: string; status?: number | null; message: string | RegExp }): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AdapterError, `not an AdapterError: ${String(err)}`);
    assert.equal(err.kind, expected.kind);
    if (expected.status !== undefined) assert.equal(err.status, expected.status);
    if (typeof expected.message === 'string') assert.equal(err.message, expected.message);
    else assert.match(err.message, expected.message);
    return true;
  });
}

describe('adapter client against real local servers', () => {
  let adapter: FakeAdapter;
  let client: AdapterClient;
  let logged = '';

  before(async () => {
    adapter = await listen(createServer(), 'http', { handle: (_q, res) => json(res, 200, goodMetadata), received: [] });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logged += chunk.toString();
        cb();
      },
    });
    client = new AdapterClient({ timeoutSeconds: 1, logger: pino({ level: 'debug' }, sink) });
  });
  after(async () => {
    await client.close();
    await adapter.close();
  });

  it('reads metadata with the Accept types of v1.2 and v1.0, and derives capabilities', async () => {
    adapter.handle = (_q, res) => json(res, 200, { ...goodMetadata, properties: { 'harbor.scanner-adapter/scanner-type': 'os-package-vulnerability' } });
    const md = await client.metadata(endpoint(adapter));
    assert.equal(validateMetadata(md), null);
    assert.deepEqual(capabilitiesOf(md), { support_vulnerability: true, support_sbom: false });
    assert.deepEqual(md.properties, { 'harbor.scanner-adapter/scanner-type': 'os-package-vulnerability' });
    const last = adapter.received.at(-1);
    assert.equal(last?.url, '/api/v1/metadata');
    assert.equal(last?.headers.accept, 'application/vnd.scanner.adapter.metadata+json; version=1.1, application/vnd.scanner.adapter.metadata+json; version=1.0');
  });

  it('keeps a path prefix of the adapter URL', async () => {
    adapter.handle = (_q, res) => json(res, 200, goodMetadata);
    await client.metadata(endpoint(adapter, { url: `${adapter.url}/scanner/` }));
    assert.equal(adapter.received.at(-1)?.url, '/scanner/api/v1/metadata');
  });

  it('metadata that fails Harbor’s checks gets Harbor’s message', async () => {
    adapter.handle = (_q, res) => json(res, 200, { scanner: { name: 'Bad', vendor: 'Tests', version: '1' }, capabilities: [{ consumes_mime_types: [OCI_MANIFEST], produces_mime_types: [VULN_REPORT_MIME_1_1] }] });
    assert.equal(validateMetadata(await client.metadata(endpoint(adapter))), 'missing application/vnd.docker.distribution.manifest.v2+json in consumes_mime_types');
    adapter.handle = (_q, res) => json(res, 200, { scanner: { name: 'Bad' }, capabilities: [] });
    assert.equal(validateMetadata(await client.metadata(endpoint(adapter))), 'invalid scanner in metadata');
    adapter.handle = (_q, res) => json(res, 200, { scanner: 'Bad' });
    await rejects(client.metadata(endpoint(adapter)), { kind: 'protocol', status: 200, message: `GET ${adapter.url}/api/v1/metadata: the answer is not scanner adapter metadata` });
  });

  it('an adapter answering 500 with an error body: Harbor’s text', async () => {
    adapter.handle = (_q, res) => json(res, 500, { error: { message: 'database is locked' } });
    await rejects(client.metadata(endpoint(adapter)), { kind: 'status', status: 500, message: 'database is locked: unexpected status code: 500, expected: 200' });
    adapter.handle = (_q, res) => {
      res.writeHead(503);
      res.end('<html>down</html>');
    };
    await rejects(client.metadata(endpoint(adapter)), { kind: 'status', status: 503, message: 'unexpected status code: 503, expected: 200' });
  });

  it('submit: 202 gives the id; the request is Harbor’s; a 422 keeps the adapter’s message', async () => {
    adapter.handle = (_q, res) => json(res, 202, { id: 'scan-1' });
    assert.equal(await client.submit(endpoint(adapter), scanRequest), 'scan-1');
    const got = adapter.received.at(-1);
    assert.equal(got?.method, 'POST');
    assert.equal(got?.url, '/api/v1/scan');
    assert.equal(got?.headers['content-type'], 'application/vnd.scanner.adapter.scan.request+json; version=1.0');
    assert.equal(got?.headers.accept, 'application/vnd.scanner.adapter.scan.response+json; version=1.0');
    assert.deepEqual(JSON.parse(got?.body ?? ''), scanRequest);
    adapter.handle = (_q, res) => json(res, 422, { error: { message: 'invalid artifact.digest' } });
    await rejects(client.submit(endpoint(adapter), scanRequest), { kind: 'status', status: 422, message: 'invalid artifact.digest: unexpected status code: 422, expected: 202' });
    adapter.handle = (_q, res) => json(res, 202, { id: '' });
    await rejects(client.submit(endpoint(adapter), scanRequest), { kind: 'protocol', status: 202, message: `POST ${adapter.url}/api/v1/scan: the 202 answer has no scan request id` });
  });

  it('does not follow redirects', async () => {
    adapter.handle = (_q, res) => {
      res.writeHead(302, { location: '/api/v1/scan-elsewhere' });
      res.end();
    };
    const before = adapter.received.length;
    await rejects(client.submit(endpoint(adapter), scanRequest), { kind: 'status', status: 302, message: 'unexpected status code: 302, expected: 202' });
    assert.equal(adapter.received.length, before + 1);
  });

  it('report: 302 is pending with Refresh-After (default 5 when missing or over 127), 200 the report', async () => {
    let refresh: string | null = '3';
    adapter.handle = (req, res) => {
      if (refresh === 'ready') return json(res, 200, { generated_at: '2026-01-01T00:00:00Z', severity: 'None', vulnerabilities: [] }, { 'content-type': req.headers.accept ?? '' });
      res.writeHead(302, refresh === null ? {} : { 'refresh-after': refresh });
      res.end();
    };
    const ep = endpoint(adapter);
    assert.deepEqual(await client.report(ep, 'id/with space', VULN_REPORT_MIME_1_1), { state: 'pending', refreshAfterSeconds: 3 });
    assert.equal(adapter.received.at(-1)?.url, '/api/v1/scan/id%2Fwith%20space/report');
    assert.equal(adapter.received.at(-1)?.headers.accept, VULN_REPORT_MIME_1_1);
    refresh = '200';
    assert.deepEqual(await client.report(ep, 'x', VULN_REPORT_MIME_1_1), { state: 'pending', refreshAfterSeconds: 5 });
    refresh = null;
    assert.deepEqual(await client.report(ep, 'x', VULN_REPORT_MIME_1_1), { state: 'pending', refreshAfterSeconds: 5 });
    refresh = 'ready';
    assert.deepEqual(await client.report(ep, 'x', SBOM_REPORT_MIME, 'application/spdx+json'), { state: 'ready', body: { generated_at: '2026-01-01T00:00:00Z', severity: 'None', vulnerabilities: [] } });
    assert.equal(adapter.received.at(-1)?.url, '/api/v1/scan/x/report?sbom_media_type=application%2Fspdx%2Bjson');
    assert.equal(adapter.received.at(-1)?.headers.prefer, undefined);
  });

  it('report: waitSeconds asks for a held answer (Prefer: wait), at most half the request timeout', async () => {
    adapter.handle = (_q, res) => {
      res.writeHead(302, { 'refresh-after': '2' });
      res.end();
    };
    const ep = endpoint(adapter);
    const patient = new AdapterClient({ timeoutSeconds: 10 });
    try {
      const prefers: Array<string | undefined> = [];
      for (const waitSeconds of [0, 3, 3.9, 60]) {
        assert.deepEqual(await patient.report(ep, 'x', VULN_REPORT_MIME_1_1, undefined, { waitSeconds }), { state: 'pending', refreshAfterSeconds: 2 });
        const h = adapter.received.at(-1)?.headers.prefer;
        prefers.push(Array.isArray(h) ? h.join() : h);
      }
      assert.deepEqual(prefers, [undefined, 'wait=3', 'wait=3', 'wait=5']);
      // A 1 s timeout leaves no room to hold: no preference is sent.
      await client.report(ep, 'x', VULN_REPORT_MIME_1_1, undefined, { waitSeconds: 60 });
      assert.equal(adapter.received.at(-1)?.headers.prefer, undefined);
    } finally {
      await patient.close();
    }
  });

  it('report: 404, 500 and 501 are errors with the adapter’s message', async () => {
    const ep = endpoint(adapter);
    adapter.handle = (_q, res) => {
      res.writeHead(404);
      res.end();
    };
    await rejects(client.report(ep, 'gone', VULN_REPORT_MIME_1_1), { kind: 'status', status: 404, message: 'unexpected status code: 404, expected: 200' });
    adapter.handle = (_q, res) => json(res, 500, { error: { message: 'pulling the image: unauthorized' } });
    await rejects(client.report(ep, 'x', VULN_REPORT_MIME_1_1), { kind: 'status', status: 500, message: 'pulling the image: unauthorized: unexpected status code: 500, expected: 200' });
    adapter.handle = (_q, res) => json(res, 501, { error: { message: 'unsupported report type' } });
    await rejects(client.report(ep, 'x', 'application/vnd.scanner.adapter.vuln.report.raw'), { kind: 'status', status: 501, message: 'unsupported report type: unexpected status code: 501, expected: 200' });
    adapter.handle = (_q, res) => {
      res.writeHead(200, { 'content-type': VULN_REPORT_MIME_1_1 });
      res.end('{not json');
    };
    await rejects(client.report(ep, 'x', VULN_REPORT_MIME_1_1), { kind: 'protocol', status: 200, message: `GET ${adapter.url}/api/v1/scan/x/report: the report is not JSON` });
  });

  it('times out an adapter that does not answer, and one that stops mid-body', async () => {
    adapter.handle = () => {}; // never answers
    const t = Date.now();
    await rejects(client.metadata(endpoint(adapter)), { kind: 'timeout', status: null, message: `GET ${adapter.url}/api/v1/metadata: no answer within 1 s` });
    assert.ok(Date.now() - t >= 900, 'waited for the timeout');
    adapter.handle = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"scanner":');
    };
    await rejects(client.metadata(endpoint(adapter)), { kind: 'timeout', message: `GET ${adapter.url}/api/v1/metadata: no answer within 1 s` });
  });

  it('a stop aborts a call at once', async () => {
    adapter.handle = () => {};
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    await rejects(client.report(endpoint(adapter), 'x', VULN_REPORT_MIME_1_1, undefined, { signal: stop.signal }), { kind: 'aborted', message: `GET ${adapter.url}/api/v1/scan/x/report: stopped` });
  });

  it('a refused connection is a network error', async () => {
    const gone = await listen(createServer(), 'http', { handle: () => {}, received: [] });
    await gone.close();
    await rejects(client.metadata(endpoint(gone)), { kind: 'network', message: new RegExp(`^GET ${gone.url}/api/v1/metadata: .*ECONNREFUSED`) });
  });

  it('sends each registration’s auth header, and never logs the credential', async () => {
    adapter.handle = (_q, res) => json(res, 200, goodMetadata);
    const modes: Array<[AdapterEndpoint['auth'], string, Record<string, string | undefined>]> = [
      ['', '', { authorization: undefined, 'x-scanneradapter-api-key': undefined }],
      ['Basic', 'robot$scan:s3cr3t-basic', { authorization: 'Basic ' + Buffer.from('robot$scan:s3cr3t-basic').toString('base64'), 'x-scanneradapter-api-key': undefined }],
      ['Bearer', 's3cr3t-bearer', { authorization: 'Bearer s3cr3t-bearer', 'x-scanneradapter-api-key': undefined }],
      ['APIKey', 's3cr3t-apikey', { authorization: undefined, 'x-scanneradapter-api-key': 's3cr3t-apikey' }],
    ];
    for (const [auth, accessCredential, expected] of modes) {
      await client.metadata(endpoint(adapter, { auth, accessCredential }));
      const h = adapter.received.at(-1)?.headers ?? {};
      assert.deepEqual({ authorization: h.authorization, 'x-scanneradapter-api-key': h['x-scanneradapter-api-key'] }, expected, auth);
    }
    adapter.handle = (_q, res) => json(res, 500, { error: { message: 'nope' } });
    await rejects(client.metadata(endpoint(adapter, { auth: 'APIKey', accessCredential: 's3cr3t-apikey' })), { kind: 'status', message: 'nope: unexpected status code: 500, expected: 200' });
    assert.match(logged, /scanner adapter call/);
    assert.doesNotMatch(logged, /s3cr3t|cm9ib3Qkc2Nhbjpz/);
  });
});

describe('adapter client over TLS with a self-signed certificate', () => {
  const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
  let dir = '';
  let adapter: FakeAdapter;
  const client = new AdapterClient({ timeoutSeconds: 5 });

  before(async () => {
    if (!hasOpenssl) return;
    dir = mkdtempSync(join(tmpdir(), 'wharf-tls-'));
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) });
    adapter = await listen(server, 'https', { handle: (_q, res) => json(res, 200, goodMetadata), received: [] });
  });
  after(async () => {
    await client.close();
    await adapter?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the certificate unless the registration skips verification', { skip: !hasOpenssl && 'openssl is not installed' }, async () => {
    await rejects(client.metadata(endpoint(adapter)), { kind: 'network', message: new RegExp(`^GET ${adapter.url}/api/v1/metadata: self-signed certificate.*DEPTH_ZERO_SELF_SIGNED_CERT`) });
    const md = await client.metadata(endpoint(adapter, { skipCertVerify: true }));
    assert.equal(md.scanner.name, 'Fake');
    // The verifying pool is still verifying after the trusting one was used.
    await rejects(client.metadata(endpoint(adapter)), { kind: 'network', message: /self-signed certificate/ });
  });
});
