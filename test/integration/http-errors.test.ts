/**
 * Issue 8, item 10 (the HTTP-level parts): every answer Wharf gives is in its surface's error
 * format, including the ones Node and Fastify produce (malformed HTTP, oversized headers, unknown
 * paths, a Content-Type Fastify cannot parse); bodies with a transfer or content coding other
 * than chunked/identity are refused before anything is stored; /metrics needs a system admin
 * or the metrics token unless `metrics.auth` is off. Real HTTP against a real Wharf.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api } from '../helpers/webhook-client.ts';

/** Sends `data` on a fresh connection; what came back and whether the server closed the connection within `ms`. */
async function rawExchange(port: number, data: string, ms = 3000): Promise<{ text: string; closed: boolean }> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = await new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true));
    setTimeout(() => resolve(false), ms);
    socket.write(data);
  });
  socket.destroy();
  return { text, closed };
}

/** The JSON body of a raw HTTP/1.1 answer (Content-Length framed). */
function rawJson(text: string): { errors: Array<{ code: string; message: string }> } {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  // The error bodies are `{"errors":[...]}`; the assertions check the fields.
  return JSON.parse(body) as { errors: Array<{ code: string; message: string }> };
}

type ErrorBody = { errors: Array<{ code: string; message: string; detail?: unknown }> };

function sha256(b: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

describe('HTTP-level errors in the surface formats', () => {
  let w: TestWharf;
  let port: number;
  before(async () => {
    w = await startWharf();
    port = Number(new URL(w.url).port);
  });
  after(async () => {
    await w.close();
  });

  it('answers a manifest PUT with a garbage Content-Type 415 UNSUPPORTED, as docs/errors.md says', async () => {
    const r = await fetch(`${w.url}/v2/library/ct/manifests/v1`, { method: 'PUT', headers: { authorization: adminAuth, 'content-type': '???garbage' }, body: '{}' });
    assert.equal(r.status, 415);
    assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
    const b = (await r.json()) as ErrorBody;
    assert.equal(b.errors[0]?.code, 'UNSUPPORTED');
  });

  it('answers malformed HTTP with a 400 JSON error and closes the connection', async () => {
    const { text, closed } = await rawExchange(port, 'GARBAGE\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /connection: close/i);
    assert.equal(rawJson(text).errors[0]?.code, 'BAD_REQUEST');
    assert.equal(closed, true);
  });

  it('answers oversized headers with a 431 JSON error and closes the connection', async () => {
    const { text, closed } = await rawExchange(port, `GET /v2/ HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 431 /);
    assert.equal(rawJson(text).errors[0]?.code, 'REQUEST_HEADER_FIELDS_TOO_LARGE');
    assert.equal(closed, true);
  });

  it('answers unknown paths in each surface’s format', async () => {
    for (const path of ['/nothing-here', '/api/v2.0/nothing-here', '/healthz/extra']) {
      const r = await fetch(`${w.url}${path}`);
      assert.equal(r.status, 404, path);
      const b = (await r.json()) as ErrorBody;
      assert.deepEqual(Object.keys(b), ['errors'], path);
      assert.equal(b.errors[0]?.code, 'NOT_FOUND', path);
    }
    const del = await fetch(`${w.url}/healthz`, { method: 'DELETE' });
    assert.equal(del.status, 404);
    assert.equal(((await del.json()) as ErrorBody).errors[0]?.code, 'NOT_FOUND');
    const oci = await fetch(`${w.url}/v2/library/x/nothing/here`, { headers: { authorization: adminAuth } });
    assert.equal(oci.status, 404);
    assert.equal(oci.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal(((await oci.json()) as ErrorBody).errors[0]?.code, 'NOT_FOUND');
  });

  it('refuses a blob PATCH with Transfer-Encoding gzip, chunked (415) and appends nothing', async () => {
    const start = await fetch(`${w.url}/v2/library/coded/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth } });
    const loc = start.headers.get('location') ?? '';
    const first = await fetch(`${w.url}${loc}`, { method: 'PATCH', headers: { authorization: adminAuth, 'content-range': '0-2' }, body: 'abc' });
    assert.equal(first.status, 202);
    const { text } = await rawExchange(port, `PATCH ${loc} HTTP/1.1\r\nHost: a\r\nAuthorization: ${adminAuth}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\ndef\r\n0\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 415 /);
    const b = rawJson(text);
    assert.equal(b.errors[0]?.code, 'UNSUPPORTED');
    assert.match(b.errors[0]?.message ?? '', /gzip/);
    const state = await fetch(`${w.url}${loc}`, { headers: { authorization: adminAuth } });
    assert.equal(state.status, 204);
    assert.equal(state.headers.get('range'), '0-2', 'the refused body was not appended');
  });

  it('refuses Content-Encoding gzip on a monolithic upload and on a manifest PUT (415); nothing is stored', async () => {
    const body = Buffer.from('not really gzip');
    const d = sha256(body);
    const post = await fetch(`${w.url}/v2/library/coded/blobs/uploads/?digest=${d}`, { method: 'POST', headers: { authorization: adminAuth, 'content-encoding': 'gzip' }, body });
    assert.equal(post.status, 415);
    assert.equal(((await post.json()) as ErrorBody).errors[0]?.code, 'UNSUPPORTED');
    const head = await fetch(`${w.url}/v2/library/coded/blobs/${d}`, { method: 'HEAD', headers: { authorization: adminAuth } });
    assert.equal(head.status, 404);
    const put = await fetch(`${w.url}/v2/library/coded/manifests/v1`, {
      method: 'PUT',
      headers: { authorization: adminAuth, 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-encoding': 'gzip' },
      body: '{}',
    });
    assert.equal(put.status, 415);
    assert.equal(((await put.json()) as ErrorBody).errors[0]?.code, 'UNSUPPORTED');
  });

  it('answers Transfer-Encoding gzip without chunked (unframeable) with a 400 JSON error', async () => {
    const { text, closed } = await rawExchange(port, `PATCH /v2/library/coded/blobs/uploads/x HTTP/1.1\r\nHost: a\r\nAuthorization: ${adminAuth}\r\nTransfer-Encoding: gzip\r\n\r\nabc`);
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.equal(rawJson(text).errors[0]?.code, 'BAD_REQUEST');
    assert.equal(closed, true);
  });

  it('refuses NUL characters in /api/v2.0 bodies and URLs with a 400 (PostgreSQL cannot store them); nothing is created', async () => {
    const body = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'nulled', metadata: { public: 'false', description: 'a\u0000b' } } });
    assert.equal(body.status, 400, body.text);
    const err = (body.json as ErrorBody).errors[0];
    assert.equal(err?.code, 'BAD_REQUEST');
    assert.match(err?.message ?? '', /NUL/);
    const key = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'nulled', metadata: { 'x\u0000': 'y' } } });
    assert.equal(key.status, 400, key.text);
    const query = await api(w.url, 'GET', '/api/v2.0/projects?q=name%3D~a%00b', { auth: adminAuth });
    assert.equal(query.status, 400, query.text);
    assert.match((query.json as ErrorBody).errors[0]?.message ?? '', /NUL/);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/projects/nulled', { auth: adminAuth })).status, 404);
  });
});

describe('/metrics access', () => {
  let w: TestWharf;
  let open: TestWharf;
  const metricsToken = 'scrape-secret-0123456789';
  before(async () => {
    w = await startWharf({ overrides: { metrics: { token: metricsToken } } });
    open = await startWharf({ overrides: { metrics: { auth: false } } });
    const u = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username: 'watcher', password: 'WatcherPassw0rd', email: 'watcher@example.com', realname: 'watcher' } });
    assert.equal(u.status, 201, u.text);
  });
  after(async () => {
    await w.close();
    await open.close();
  });

  it('refuses anonymous scrapes by default with a 401 Basic challenge in Harbor’s format', async () => {
    const r = await fetch(`${w.url}/metrics`);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Basic realm="wharf"');
    assert.equal(((await r.json()) as ErrorBody).errors[0]?.code, 'UNAUTHORIZED');
    assert.equal((await fetch(`${w.url}/metrics`, { headers: { authorization: 'Basic ' + Buffer.from('admin:wrong-password').toString('base64') } })).status, 401);
  });

  it('serves a system admin and the metrics token; refuses other users, a wrong token and registry tokens', async () => {
    const admin = await fetch(`${w.url}/metrics`, { headers: { authorization: adminAuth } });
    assert.equal(admin.status, 200);
    assert.match(await admin.text(), /^wharf_http_requests_total\{/m);
    const scraper = await fetch(`${w.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    assert.equal(scraper.status, 200);
    const user = await fetch(`${w.url}/metrics`, { headers: { authorization: 'Basic ' + Buffer.from('watcher:WatcherPassw0rd').toString('base64') } });
    assert.equal(user.status, 403);
    assert.equal(((await user.json()) as ErrorBody).errors[0]?.code, 'FORBIDDEN');
    assert.equal((await fetch(`${w.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}x` } })).status, 401);
    const t = await fetch(`${w.url}/service/token?service=wharf`, { headers: { authorization: adminAuth } });
    const { token } = (await t.json()) as { token: string };
    assert.equal((await fetch(`${w.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
  });

  it('is open with metrics.auth: false', async () => {
    const r = await fetch(`${open.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /wharf_bytes_received_total/);
  });
});
