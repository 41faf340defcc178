/**
 * Harbor's scanner registrations and the project scanner over real HTTP: the built-in `Wharf`
 * registration on a fresh server (default, immutable, its metadata fetched from the server's own
 * /scanner), registrations of a real local adapter (a node:http server answering
 * /api/v1/metadata and checking its API key), every route's statuses and Harbor's messages, the
 * 30 s metadata cache (failures included), the default rules, projects falling back when their
 * scanner is deleted, and two servers on one PostgreSQL creating the built-in registration once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startWharf, adminAuth, tempDataDir, type TestWharf } from '../helpers/wharf.ts';
import { onPostgres } from '../helpers/db.ts';
import { error, ok } from '../helpers/answers.ts';

const dockerManifest = 'application/vnd.docker.distribution.manifest.v2+json';
const vulnReport = 'application/vnd.security.vulnerability.report; version=1.1';

/** A real adapter: answers GET /api/v1/metadata; `mode` switches what it answers. */
interface Adapter {
  url: string;
  /** API keys of the metadata requests received, in order. */
  keys: Array<string | undefined>;
  mode: 'ok' | 'fail' | 'invalid';
  close(): Promise<void>;
}

async function startAdapter(key: string, name = 'Trivy'): Promise<Adapter> {
  const a: Adapter = { url: '', keys: [], mode: 'ok', close: async () => undefined };
  const server: Server = createServer((req, res) => {
    if (req.url !== '/api/v1/metadata') {
      res.writeHead(404).end();
      return;
    }
    const got = req.headers['x-scanneradapter-api-key'];
    a.keys.push(typeof got === 'string' ? got : undefined);
    if (got !== key) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"bad api key"}}');
      return;
    }
    if (a.mode === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"adapter broken"}}');
      return;
    }
    const consumes = a.mode === 'invalid' ? ['application/vnd.oci.image.manifest.v1+json'] : ['application/vnd.oci.image.manifest.v1+json', dockerManifest];
    res.writeHead(200, { 'content-type': 'application/vnd.scanner.adapter.metadata+json; version=1.0' }).end(
      JSON.stringify({
        scanner: { name, vendor: 'Aqua Security', version: 'v0.50.1' },
        capabilities: [{ consumes_mime_types: consumes, produces_mime_types: [vulnReport] }],
        properties: { 'harbor.scanner-adapter/scanner-type': 'os-package-vulnerability' },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  a.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`; // listen() on a TCP port: an AddressInfo
  a.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return a;
}

let tw: TestWharf;
let adapter: Adapter;
let other: Adapter;
const devAuth = 'Basic ' + Buffer.from('scan-dev:DevPass123').toString('base64');
const maintAuth = 'Basic ' + Buffer.from('scan-maint:DevPass123').toString('base64');

const api = (path: string, init: { method?: string; body?: unknown; auth?: string | null; headers?: Record<string, string> } = {}) => {
  const headers = new Headers(init.headers);
  const auth = init.auth === undefined ? adminAuth : init.auth;
  if (auth) headers.set('authorization', auth);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  return fetch(`${tw.url}/api/v2.0${path}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
};

interface Reg {
  uuid: string;
  name: string;
  url: string;
  description: string;
  is_default: boolean;
  disabled: boolean;
  auth: string;
  access_credential: string;
  skip_certVerify: boolean;
  use_internal_addr: boolean;
  health: string;
  adapter?: string;
  vendor?: string;
  version?: string;
  capabilities?: { support_vulnerability: boolean; support_sbom: boolean };
  create_time: string;
  update_time: string;
}

async function create(body: Record<string, unknown>): Promise<string> {
  const r = await api('/scanners', { method: 'POST', body });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  const loc = r.headers.get('location') ?? '';
  assert.match(loc, /^\/api\/v2\.0\/scanners\/[0-9a-f-]{36}$/);
  return loc.slice('/api/v2.0/scanners/'.length);
}

const list = async (query = ''): Promise<Reg[]> => ok<Reg[]>(await api(`/scanners${query}`));

describe('scanner registrations', () => {
  before(async () => {
    tw = await startWharf();
    adapter = await startAdapter('key-1');
    other = await startAdapter('key-2', 'Clair');
    for (const u of ['scan-dev', 'scan-maint']) {
      await ok(await api('/users', { method: 'POST', body: { username: u, email: `${u}@example.com`, realname: u, password: 'DevPass123' } }), 201);
    }
    await ok(await api('/projects', { method: 'POST', body: { project_name: 'scanned', metadata: { public: 'false' } } }), 201);
    await ok(await api('/projects/scanned/members', { method: 'POST', body: { role_id: 4, member_user: { username: 'scan-maint' } }, headers: { 'x-is-resource-name': 'true' } }), 201);
  });
  after(async () => {
    await tw?.close();
    await adapter?.close();
    await other?.close();
  });

  let builtin: Reg;

  test('a fresh server has the built-in Wharf registration: default, shown at external_url/scanner', async () => {
    const all = await list();
    assert.equal(all.length, 1);
    builtin = all[0] as Reg;
    assert.equal(builtin.name, 'Wharf');
    assert.equal(builtin.is_default, true);
    assert.equal(builtin.disabled, false);
    assert.equal(builtin.url, `${tw.url}/scanner`);
    assert.equal(builtin.auth, '');
    assert.equal(builtin.access_credential, '');
  });

  test('the built-in registration answers its metadata from the server itself, and GET records its health', async () => {
    const md = await ok<{ scanner: { name: string; vendor: string; version: string }; capabilities: Array<{ type?: string; consumes_mime_types: string[] }> }>(await api(`/scanners/${builtin.uuid}/metadata`));
    assert.ok(md.scanner.name.length > 0 && md.scanner.vendor.length > 0 && md.scanner.version.length > 0, JSON.stringify(md.scanner));
    assert.ok(md.capabilities.every((c) => c.consumes_mime_types.includes(dockerManifest)));
    const one = await ok<Reg>(await api(`/scanners/${builtin.uuid}`));
    assert.equal(one.health, 'healthy');
    assert.equal(one.adapter, md.scanner.name);
    assert.equal(one.vendor, md.scanner.vendor);
    assert.equal(one.version, md.scanner.version);
    assert.deepEqual(one.capabilities, { support_vulnerability: md.capabilities.some((c) => (c.type ?? 'vulnerability') === 'vulnerability'), support_sbom: md.capabilities.some((c) => c.type === 'sbom') });
  });

  test('the built-in registration is immutable: 403 on update and delete', async () => {
    await error(await api(`/scanners/${builtin.uuid}`, { method: 'PUT', body: { name: 'Wharf', url: 'http://elsewhere' } }), 403, 'FORBIDDEN', 'registration Wharf is not allowed to update as it is immutable: scanner API: update');
    await error(await api(`/scanners/${builtin.uuid}`, { method: 'DELETE' }), 403, 'FORBIDDEN', 'registration Wharf is not allowed to delete as it is immutable: scanner API: delete');
    assert.equal((await list()).length, 1);
  });

  test('only the system admin: 401 anonymous, 403 for users', async () => {
    await error(await api('/scanners', { auth: null }), 401, 'UNAUTHORIZED', 'authentication required to admin');
    await error(await api('/scanners', { auth: devAuth }), 403, 'FORBIDDEN', 'scan-dev is not allowed to admin');
    await error(await api(`/scanners/${builtin.uuid}`, { auth: devAuth }), 403, 'FORBIDDEN', 'scan-dev is not allowed to admin');
    await error(await api('/scanners', { method: 'POST', auth: devAuth, body: { name: 'x', url: adapter.url } }), 403, 'FORBIDDEN', 'scan-dev is not allowed to admin');
    await error(await api('/scanners/ping', { method: 'POST', auth: devAuth, body: { name: 'x', url: adapter.url } }), 403, 'FORBIDDEN', 'scan-dev is not allowed to admin');
  });

  test('create: validation, the reserved names, a failing ping', async () => {
    await error(await api('/scanners', { method: 'POST', body: { url: adapter.url } }), 400, 'BAD_REQUEST', 'missing registration name');
    await error(await api('/scanners', { method: 'POST', body: { name: 'a', url: 'ftp://x' } }), 400, 'BAD_REQUEST', 'scanner registration validate: invalid URL ftp://x: use http:// or https://, a host, and no query or fragment');
    await error(await api('/scanners', { method: 'POST', body: { name: 'a', url: adapter.url, auth: 'Digest', access_credential: 'k' } }), 400, 'BAD_REQUEST', 'auth type Digest is not supported');
    await error(await api('/scanners', { method: 'POST', body: { name: 'a', url: adapter.url, auth: 'APIKey' } }), 400, 'BAD_REQUEST', 'access_credential is required for auth type APIKey');
    await error(await api('/scanners', { method: 'POST', body: { name: 'Trivy', url: adapter.url, auth: 'APIKey', access_credential: 'key-1' } }), 400, 'BAD_REQUEST', 'name "Trivy" is reserved, please try a different name');
    await error(await api('/scanners', { method: 'POST', body: { name: 'Wharf', url: adapter.url, auth: 'APIKey', access_credential: 'key-1' } }), 400, 'BAD_REQUEST', 'name "Wharf" is reserved, please try a different name');
    const before = adapter.keys.length;
    await error(await api('/scanners', { method: 'POST', body: { name: 'a', url: adapter.url, auth: 'APIKey', access_credential: 'wrong' } }), 400, 'BAD_REQUEST', /^scanner controller: ping: .*401/);
    assert.deepEqual(adapter.keys.slice(before), ['wrong']);
    await error(await api('/scanners', { method: 'POST', body: { name: 'a', url: 'http://127.0.0.1:1' } }), 400, 'BAD_REQUEST', /^scanner controller: ping: /);
    assert.equal((await list()).length, 1, 'nothing stored');
  });

  let trivy: string;
  let clair: string;

  test('create: 201 with Location after a ping with the API key; not the default while one exists', async () => {
    trivy = await create({ name: 'trivy-a', description: 'Trivy adapter', url: `${adapter.url}/`, auth: 'APIKey', access_credential: 'key-1', use_internal_addr: true });
    assert.equal(adapter.keys.at(-1), 'key-1');
    const r = await ok<Reg>(await api(`/scanners/${trivy}`));
    assert.equal(r.name, 'trivy-a');
    assert.equal(r.description, 'Trivy adapter');
    assert.equal(r.url, adapter.url, 'trailing slash dropped');
    assert.equal(r.auth, 'APIKey');
    assert.equal(r.access_credential, '', 'the credential is write-only');
    assert.equal(r.is_default, false);
    assert.equal(r.use_internal_addr, true);
    assert.equal(r.skip_certVerify, false);
    assert.equal(r.adapter, 'Trivy');
    assert.equal(r.vendor, 'Aqua Security');
    assert.equal(r.version, 'v0.50.1');
    assert.equal(r.health, 'healthy');
    assert.deepEqual(r.capabilities, { support_vulnerability: true, support_sbom: false });
    clair = await create({ name: 'clair-b', url: other.url, auth: 'APIKey', access_credential: 'key-2' });
  });

  test('create: a taken name or URL is 409', async () => {
    await error(await api('/scanners', { method: 'POST', body: { name: 'trivy-a', url: other.url, auth: 'APIKey', access_credential: 'key-2' } }), 409, 'CONFLICT', 'a scanner registration named "trivy-a" already exists');
    await error(await api('/scanners', { method: 'POST', body: { name: 'trivy-z', url: adapter.url, auth: 'APIKey', access_credential: 'key-1' } }), 409, 'CONFLICT', `a scanner registration with the URL "${adapter.url}" already exists`);
  });

  test('ping: 200 for good settings, 400 with Harbor’s metadata checks otherwise', async () => {
    await ok(await api('/scanners/ping', { method: 'POST', body: { name: 'p', url: adapter.url, auth: 'APIKey', access_credential: 'key-1' } }));
    await error(await api('/scanners/ping', { method: 'POST', body: { url: adapter.url } }), 400, 'BAD_REQUEST', 'missing registration name');
    adapter.mode = 'invalid';
    try {
      await error(await api('/scanners/ping', { method: 'POST', body: { name: 'p', url: adapter.url, auth: 'APIKey', access_credential: 'key-1' } }), 400, 'BAD_REQUEST', `scanner controller: ping: missing ${dockerManifest} in consumes_mime_types`);
    } finally {
      adapter.mode = 'ok';
    }
  });

  test('list: q, sort, paging headers and the legacy name/url parameters', async () => {
    assert.deepEqual((await list()).map((r) => r.name), ['Wharf', 'trivy-a', 'clair-b']);
    assert.deepEqual((await list('?sort=-name')).map((r) => r.name), ['trivy-a', 'clair-b', 'Wharf'].sort().reverse());
    assert.deepEqual((await list('?q=name%3D~ivy')).map((r) => r.name), ['trivy-a']);
    assert.deepEqual((await list('?name=LAIR')).map((r) => r.name), ['clair-b']);
    assert.deepEqual((await list('?description=adapter')).map((r) => r.name), ['trivy-a']);
    assert.deepEqual((await list('?ex_name=trivy')).map((r) => r.name), []);
    assert.deepEqual((await list('?ex_name=trivy-a')).map((r) => r.name), ['trivy-a']);
    assert.deepEqual((await list(`?ex_url=${encodeURIComponent(other.url)}`)).map((r) => r.name), ['clair-b']);
    assert.deepEqual((await list('?q=is_default%3Dtrue')).map((r) => r.name), ['Wharf']);
    const r = await api('/scanners?page=2&page_size=1');
    assert.equal(r.headers.get('x-total-count'), '3');
    assert.equal(r.headers.get('link'), '</api/v2.0/scanners?page=1&page_size=1>; rel="prev" , </api/v2.0/scanners?page=3&page_size=1>; rel="next"');
    assert.deepEqual((await ok<Reg[]>(r)).map((x) => x.name), ['trivy-a']);
  });

  test('get, metadata, update, delete: 404 for an unknown uuid', async () => {
    const u = '00000000-0000-0000-0000-000000000000';
    await error(await api(`/scanners/${u}`), 404, 'NOT_FOUND', `scanner ${u} not found`);
    await error(await api(`/scanners/${u}/metadata`), 404, 'NOT_FOUND', `scanner ${u} not found`);
    await error(await api(`/scanners/${u}`, { method: 'PUT', body: { name: 'x', url: adapter.url } }), 404, 'NOT_FOUND', `scanner ${u} not found`);
    await error(await api(`/scanners/${u}`, { method: 'DELETE' }), 404, 'NOT_FOUND', `scanner ${u} not found`);
    await error(await api(`/scanners/${u}`, { method: 'PATCH', body: { is_default: true } }), 404, 'NOT_FOUND', `scanner ${u} not found`);
  });

  test('metadata is cached 30 s, failures included; an update starts afresh', async () => {
    const before = adapter.keys.length;
    const md = await ok<{ scanner: { name: string } }>(await api(`/scanners/${trivy}/metadata`));
    assert.equal(md.scanner.name, 'Trivy');
    adapter.mode = 'fail';
    try {
      // Within 30 s of the GET above (which fetched), the cached answer is served: no request reaches the adapter.
      await ok(await api(`/scanners/${trivy}/metadata`));
      assert.equal(adapter.keys.length, before, 'the create test’s fetch is still cached');
      // An update (same settings, empty credential kept) changes update_time: the next read fetches, fails, and the failure is cached.
      await ok(await api(`/scanners/${trivy}`, { method: 'PUT', body: { name: 'trivy-a', description: 'Trivy adapter', url: adapter.url, auth: 'APIKey', access_credential: '', use_internal_addr: true } }));
      await error(await api(`/scanners/${trivy}/metadata`), 503, 'SERVICE_UNAVAILABLE', /^scanner controller: get metadata: scanner controller: ping: .*500/);
      assert.deepEqual(adapter.keys.slice(before), ['key-1'], 'the stored key was kept by the update');
      adapter.mode = 'ok';
      await error(await api(`/scanners/${trivy}/metadata`), 503, 'SERVICE_UNAVAILABLE', /500/);
      assert.equal(adapter.keys.length, before + 1, 'the failure was cached');
      const r = await ok<Reg>(await api(`/scanners/${trivy}`));
      assert.equal(r.health, 'unhealthy');
    } finally {
      adapter.mode = 'ok';
    }
  });

  test('update: a new credential is used; the name rules apply; 409 for another’s name', async () => {
    await ok(await api(`/scanners/${clair}`, { method: 'PUT', body: { name: 'clair-c', url: other.url, auth: 'APIKey', access_credential: 'key-2', description: 'renamed' } }));
    const r = await ok<Reg>(await api(`/scanners/${clair}`));
    assert.equal(r.name, 'clair-c');
    assert.equal(r.description, 'renamed');
    assert.equal(r.health, 'healthy');
    await error(await api(`/scanners/${clair}`, { method: 'PUT', body: { name: 'Trivy', url: other.url } }), 400, 'BAD_REQUEST', 'name "Trivy" is reserved, please try a different name');
    await error(await api(`/scanners/${clair}`, { method: 'PUT', body: { name: 'trivy-a', url: other.url } }), 409, 'CONFLICT', 'a scanner registration named "trivy-a" already exists');
    await error(await api(`/scanners/${clair}`, { method: 'PUT', body: { name: 'c' } }), 400, 'BAD_REQUEST', 'scanner registration validate: url is required');
  });

  test('metadata fetches that miss the cache at the same moment share one request', async () => {
    await ok(await api(`/scanners/${clair}`, { method: 'PUT', body: { name: 'clair-c', url: other.url, auth: 'APIKey', description: 'renamed' } }));
    const row = await tw.wharf.scanners.byUuid(clair);
    assert.ok(row);
    const before = other.keys.length;
    const all = await Promise.all(Array.from({ length: 10 }, () => tw.wharf.scanners.fetchMetadata(row)));
    assert.deepEqual(new Set(all.map((m) => m.scanner.name)), new Set(['Clair']));
    assert.deepEqual(other.keys.slice(before), ['key-2']);
  });

  test('default: PATCH moves it; the default cannot be disabled; a disabled one cannot be the default', async () => {
    await ok(await api(`/scanners/${trivy}`, { method: 'PATCH', body: { is_default: true } }));
    assert.deepEqual((await list()).filter((r) => r.is_default).map((r) => r.name), ['trivy-a']);
    // is_default false changes nothing, as in Harbor.
    await ok(await api(`/scanners/${trivy}`, { method: 'PATCH', body: { is_default: false } }));
    assert.deepEqual((await list()).filter((r) => r.is_default).map((r) => r.name), ['trivy-a']);
    await error(await api(`/scanners/${trivy}`, { method: 'PUT', body: { name: 'trivy-a', url: adapter.url, auth: 'APIKey', disabled: true } }), 400, 'BAD_REQUEST', `default registration ${trivy} can not be marked to deactivated`);
    await ok(await api(`/scanners/${clair}`, { method: 'PUT', body: { name: 'clair-c', url: other.url, auth: 'APIKey', disabled: true } }));
    await error(await api(`/scanners/${clair}`, { method: 'PATCH', body: { is_default: true } }), 400, 'BAD_REQUEST', 'registration clair-c is deactivated and cannot be the default: enable it first');
    await error(await api(`/scanners/${clair}`, { method: 'PATCH', body: { is_default: 'yes' } }), 400, 'BAD_REQUEST', 'is_default must be true or false, not yes');
    await ok(await api(`/scanners/${builtin.uuid}`, { method: 'PATCH', body: { is_default: true } }));
    assert.deepEqual((await list()).filter((r) => r.is_default).map((r) => r.name), ['Wharf']);
  });

  test('project scanner: the default, a pin, candidates; maintainers read, project admins set', async () => {
    const p = (path = '') => `/projects/scanned/scanner${path}`;
    const h = { 'x-is-resource-name': 'true' };
    assert.equal((await ok<Reg>(await api(p(), { headers: h }))).name, 'Wharf');
    assert.equal((await ok<Reg>(await api(p(), { headers: h, auth: maintAuth }))).name, 'Wharf');
    await error(await api(p(), { headers: h, auth: null }), 401, 'UNAUTHORIZED', 'authentication required to read-settings on project scanned');
    await error(await api(p(), { headers: h, auth: devAuth }), 403, 'FORBIDDEN', 'scan-dev is not allowed to read-settings on project scanned');
    await error(await api(p(), { method: 'PUT', headers: h, auth: maintAuth, body: { uuid: trivy } }), 403, 'FORBIDDEN', 'scan-maint is not allowed to manage on project scanned');
    await error(await api(p('/candidates'), { headers: h, auth: maintAuth }), 403, 'FORBIDDEN', 'scan-maint is not allowed to manage on project scanned');
    await error(await api(p(), { method: 'PUT', headers: h, body: {} }), 400, 'BAD_REQUEST', 'missing scanner UUID');
    await error(await api(p(), { method: 'PUT', headers: h, body: { uuid: 'nope' } }), 404, 'NOT_FOUND', 'scanner nope not found');
    await error(await api('/projects/nope/scanner', { headers: h }), 404, 'NOT_FOUND', 'project nope not found');
    await ok(await api(p(), { method: 'PUT', headers: h, body: { uuid: trivy } }));
    const pinned = await ok<Reg>(await api(p(), { headers: h }));
    assert.equal(pinned.uuid, trivy);
    assert.equal(pinned.is_default, false);
    // By id as well.
    const id = (await ok<{ project_id: number }>(await api('/projects/scanned', { headers: h }))).project_id;
    assert.equal((await ok<Reg>(await api(`/projects/${id}/scanner`))).uuid, trivy);
    const c = await api(p('/candidates?page_size=2'), { headers: h });
    assert.equal(c.headers.get('x-total-count'), '3');
    assert.deepEqual((await ok<Reg[]>(c)).map((r) => r.name), ['Wharf', 'trivy-a']);
    assert.deepEqual((await ok<Reg[]>(await api(p('/candidates?q=name%3D~clair'), { headers: h }))).map((r) => r.name), ['clair-c']);
  });

  test('delete returns the deleted registration; its projects fall back to the default', async () => {
    const gone = await ok<Reg>(await api(`/scanners/${trivy}`, { method: 'DELETE' }));
    assert.equal(gone.uuid, trivy);
    assert.equal(gone.name, 'trivy-a');
    assert.equal(gone.access_credential, '');
    await error(await api(`/scanners/${trivy}`), 404, 'NOT_FOUND', `scanner ${trivy} not found`);
    assert.equal((await ok<Reg>(await api('/projects/scanned/scanner', { headers: { 'x-is-resource-name': 'true' } }))).name, 'Wharf');
    assert.deepEqual((await list()).map((r) => r.name), ['Wharf', 'clair-c']);
  });

  test('scans: resolveForProject and requireForProject (pinned, disabled, default)', async () => {
    const id = (await ok<{ project_id: number }>(await api('/projects/scanned', { headers: { 'x-is-resource-name': 'true' } }))).project_id;
    await ok(await api('/projects/scanned/scanner', { method: 'PUT', headers: { 'x-is-resource-name': 'true' }, body: { uuid: clair } }));
    const { scanners } = tw.wharf;
    // The pinned registration is disabled: a scan resolves to the default, Harbor's choice refuses with its message.
    assert.equal((await scanners.resolveForProject(id))?.name, 'Wharf');
    await assert.rejects(scanners.requireForProject(id), (e: Error) => e.message === 'scanner clair-c is deactivated');
    await ok(await api(`/scanners/${clair}`, { method: 'PUT', body: { name: 'clair-c', url: other.url, auth: 'APIKey', disabled: false } }));
    assert.equal((await scanners.resolveForProject(id))?.name, 'clair-c');
    assert.equal((await scanners.requireForProject(id)).name, 'clair-c');
    const c = await scanners.byUuid(clair);
    assert.ok(c);
    assert.deepEqual(scanners.endpointOf(c), { url: other.url, auth: 'APIKey', accessCredential: 'key-2', skipCertVerify: false });
    const b = await scanners.byUuid(builtin.uuid);
    assert.ok(b);
    assert.deepEqual(scanners.endpointOf(b), { url: `${tw.url}/scanner`, auth: '', accessCredential: '', skipCertVerify: false });
  });
});

describe('without the built-in scanner', () => {
  test('no registration: the project scanner is empty, a scan is refused; the first registration becomes the default', async () => {
    const w = await startWharf({ overrides: { scanning: { builtin: false } } });
    const a = await startAdapter('k');
    try {
      const call = (path: string, init: RequestInit = {}) => fetch(`${w.url}/api/v2.0${path}`, { ...init, headers: { authorization: adminAuth, 'content-type': 'application/json', ...init.headers } });
      assert.deepEqual(await ok<Reg[]>(await call('/scanners')), []);
      const r = await call('/projects/library/scanner', { headers: { 'x-is-resource-name': 'true' } });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), '', 'Harbor answers 200 with no body');
      const id = (await ok<{ project_id: number }>(await call('/projects/library', { headers: { 'x-is-resource-name': 'true' } }))).project_id;
      assert.equal(await w.wharf.scanners.resolveForProject(id), null);
      await assert.rejects(w.wharf.scanners.requireForProject(id), (e: Error) => e.message === `no available scanner for project: ${id}`);
      const created = await call('/scanners', { method: 'POST', body: JSON.stringify({ name: 'only', url: a.url, auth: 'APIKey', access_credential: 'k' }) });
      assert.equal(created.status, 201, await created.text());
      assert.deepEqual((await ok<Reg[]>(await call('/scanners'))).map((x) => [x.name, x.is_default]), [['only', true]]);
      assert.equal((await w.wharf.scanners.requireForProject(id)).name, 'only');
    } finally {
      await w.close();
      await a.close();
    }
  });
});

describe('the built-in registration on a shared database', () => {
  test('a restarted server keeps one built-in registration', async () => {
    const dataDir = tempDataDir();
    const a = await startWharf({ dataDir });
    await a.close({ keepData: true });
    const b = await startWharf({ dataDir });
    try {
      const r = await fetch(`${b.url}/api/v2.0/scanners`, { headers: { authorization: adminAuth } });
      const all = (await r.json()) as Reg[];
      assert.deepEqual(all.map((x) => [x.name, x.is_default]), [['Wharf', true]]);
    } finally {
      await b.close();
    }
  });

  test('two servers starting together on one PostgreSQL create it once', { skip: !onPostgres && 'PostgreSQL pass only' }, async () => {
    const first = await startWharf();
    try {
      const url = first.wharf.config.database.url;
      assert.ok(url);
      // Drop what the first created, then start two more servers on the same database at once.
      await first.wharf.db.kysely.deleteFrom('scanners').execute();
      const [x, y] = await Promise.all([startWharf({ overrides: { database: { url } } }), startWharf({ overrides: { database: { url } } })]);
      try {
        const rows = await first.wharf.db.kysely.selectFrom('scanners').select(['name', 'is_default', 'immutable']).execute();
        assert.deepEqual(rows, [{ name: 'Wharf', is_default: 1, immutable: 1 }]);
      } finally {
        await x.close();
        await y.close();
      }
    } finally {
      await first.close();
    }
  });
});
