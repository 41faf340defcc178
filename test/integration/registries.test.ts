/**
 * Registry endpoints over real HTTP (src/replication/registries.ts): CRUD, ping and info with
 * Harbor's status codes and messages against real peers: a second Wharf (type `harbor`, Bearer
 * token flow), Debian's CNCF registry with htpasswd Basic auth (type `docker-registry`), and an
 * HTTPS `/v2/` endpoint behind a test CA (`ca_certificate`, `insecure`). The secret is masked on
 * reads, kept by a PUT of `*****`, cleared by a URL change, and never written to the log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { adminAuth, adminPassword, freePort, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, type ApiAnswer } from '../helpers/webhook-client.ts';
import { cncfBinary, cncfSecret, cncfUser, skipWithoutCncf, startCncf, type CncfRegistry } from '../helpers/cncf-registry.ts';
import type { RegistryInfo, RegistryView } from '../../src/replication/index.ts';

/** The CNCF registry's htpasswd user (test/helpers/cncf-registry.ts). */
const regUser = cncfUser;
const regSecret = cncfSecret;
const wrongSecret = 'Wrong-secret-51ab';
const userPassword = 'Passw0rdRegistries';

let w: TestWharf;
let peer: TestWharf;
const logLines: string[] = [];
let cncf: CncfRegistry | undefined;
let tls: { server: Server; url: string; caPem: string; dir: string } | undefined;

/** A parsed JSON body typed as the test reads it. */
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, body?: unknown, auth = adminAuth): Promise<ApiAnswer> {
  const a = await api(w.url, method, `/api/v2.0${path}`, { ...(auth === '' ? {} : { auth }), ...(body === undefined ? {} : { body }) });
  assert.equal(a.status, status, explain(method, path, a));
  return a;
}

/** The first error of a Harbor error body: code and message. */
function error(a: ApiAnswer): { code: string; message: string } {
  return shape<{ errors: Array<{ code: string; message: string }> }>(a.json).errors[0] ?? { code: '', message: '' };
}

async function refused(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, message: string, body?: unknown): Promise<void> {
  const a = await call(method, path, status, body);
  assert.equal(error(a).message, message, explain(method, path, a));
}

async function create(body: Record<string, unknown>): Promise<number> {
  const a = await call('POST', '/registries', 201, body);
  const loc = String(a.headers.location);
  assert.match(loc, /^\/api\/v2\.0\/registries\/\d+$/);
  return Number(loc.split('/').pop());
}

async function view(id: number): Promise<RegistryView> {
  return shape<RegistryView>((await call('GET', `/registries/${id}`, 200)).json);
}

/** A test CA, a server certificate for 127.0.0.1 signed by it, and an HTTPS `/v2/` answering 200. */
async function startTls(): Promise<{ server: Server; url: string; caPem: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-registries-tls-'));
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=wharf-test-ca');
  ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  ossl('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'ext.cnf');
  const server = createServer({ key: readFileSync(join(dir, 'srv.key')), cert: readFileSync(join(dir, 'srv.pem')) }, (req, res) => {
    res.writeHead(req.url === '/v2/' ? 200 : 404, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = addr !== null && typeof addr === 'object' ? addr.port : 0;
  return { server, url: `https://127.0.0.1:${port}`, caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'), dir };
}

const skipCncf = skipWithoutCncf;

before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  w = await startWharf({ logger: pino({ level: 'debug' }, sink) });
  peer = await startWharf();
  tls = await startTls();
  if (!skipCncf) cncf = await startCncf({ auth: true });
  await call('POST', '/users', 201, { username: 'reg-user', password: userPassword, email: 'reg-user@example.com', realname: 'r' });
});

after(async () => {
  await w?.close();
  await peer?.close();
  if (tls) {
    tls.server.close();
    rmSync(tls.dir, { recursive: true, force: true });
  }
  await cncf?.remove();
});

describe('registry endpoints: permissions and adapters', () => {
  it('is for the system admin only', async () => {
    await call('GET', '/registries', 401, undefined, '');
    const user = 'Basic ' + Buffer.from(`reg-user:${userPassword}`).toString('base64');
    const a = await call('GET', '/registries', 403, undefined, user);
    assert.equal(error(a).code, 'FORBIDDEN');
    await call('POST', '/registries/ping', 403, { type: 'harbor', url: peer.url }, user);
    await call('GET', '/replication/adapters', 403, undefined, user);
  });

  it('lists the adapters and their infos', async () => {
    assert.deepEqual((await call('GET', '/replication/adapters', 200)).json, ['docker-registry', 'harbor']);
    assert.deepEqual((await call('GET', '/replication/adapterinfos', 200)).json, { 'docker-registry': {}, harbor: {} });
  });

  it('refuses bad bodies with Harbor-style messages', async () => {
    await refused('POST', '/registries', 400, 'the registry name is required', { type: 'harbor', url: peer.url });
    await refused('POST', '/registries', 400, 'the registry name is too long: at most 64 characters', { name: 'x'.repeat(65), type: 'harbor', url: peer.url });
    await refused('POST', '/registries', 400, 'invalid registry type "docker-hub": supported types are docker-registry, harbor', { name: 'n', type: 'docker-hub', url: peer.url });
    await refused('POST', '/registries', 400, 'invalid url "ftp://x": an http or https URL is expected', { name: 'n', type: 'harbor', url: 'ftp://x' });
    await refused('POST', '/registries', 400, 'the registry url is required', { name: 'n', type: 'harbor' });
    await refused('POST', '/registries', 400, 'invalid ca_certificate: no PEM certificate found', { name: 'n', type: 'harbor', url: peer.url, ca_certificate: 'nope' });
    await refused('POST', '/registries/ping', 400, 'type or url cannot be empty', { type: 'harbor' });
    await refused('GET', '/registries/999', 404, 'registry 999 not found');
    await refused('PUT', '/registries/999', 404, 'registry 999 not found', { description: 'x' });
    await refused('DELETE', '/registries/999', 404, 'registry 999 not found');
    await refused('POST', '/registries/ping', 404, 'registry 999 not found', { id: 999 });
  });

  it('answers the local instance as id 0 for info only', async () => {
    await call('POST', '/labels', 201, { name: 'gold', scope: 'g', color: '#FFD700' });
    const info = shape<RegistryInfo>((await call('GET', '/registries/0/info', 200)).json);
    assert.deepEqual(info, {
      type: 'harbor',
      description: '',
      supported_resource_filters: [
        { type: 'name', style: 'input' },
        { type: 'tag', style: 'input' },
        { type: 'label', style: 'list', values: ['gold'] },
        { type: 'resource', style: 'radio', values: ['image', 'artifact'] },
      ],
      supported_triggers: ['manual', 'scheduled', 'event_based'],
      supported_copy_by_chunk: true,
    });
    await refused('GET', '/registries/0', 400, 'invalid registry id "0"');
  });
});

describe('registry endpoints: a second Wharf as type harbor', () => {
  it('creates after a healthy check, masks the secret, refuses duplicates and bad credentials', async () => {
    // The peer asks for a Bearer token on /v2/: the checks below go through the token flow.
    const challenge = await fetch(`${peer.url}/v2/`);
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/service\/token"/);
    await refused('POST', '/registries', 400, 'the registry is unhealthy', { name: 'peer', type: 'harbor', url: peer.url, credential: { access_key: 'admin', access_secret: wrongSecret } });
    const id = await create({ name: 'peer', type: 'harbor', url: `${peer.url}/`, description: 'the other Wharf', credential: { type: 'basic', access_key: 'admin', access_secret: adminPassword } });
    const v = await view(id);
    assert.deepEqual({ ...v, creation_time: '', update_time: '' }, {
      id,
      name: 'peer',
      type: 'harbor',
      url: peer.url,
      insecure: false,
      ca_certificate: null,
      description: 'the other Wharf',
      credential: { type: 'basic', access_key: 'admin', access_secret: '*****' },
      status: 'healthy',
      creation_time: '',
      update_time: '',
    });
    assert.match(v.creation_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await refused('POST', '/registries', 409, 'registry peer already exists', { name: 'peer', type: 'harbor', url: peer.url });
    await call('POST', '/registries/ping', 200, { id });
    await call('POST', '/registries/ping', 200, { type: 'harbor', url: peer.url, access_key: 'admin', access_secret: adminPassword });
    await refused('POST', '/registries/ping', 400, 'the registry is unhealthy', { type: 'harbor', url: peer.url, access_key: 'admin', access_secret: wrongSecret });
    // A Wharf that is not there.
    await refused('POST', '/registries/ping', 400, 'the registry is unhealthy', { type: 'harbor', url: `http://127.0.0.1:${await freePort()}` });
  });

  it('reads the peer’s global labels into info', async () => {
    const a = await api(peer.url, 'POST', '/api/v2.0/labels', { auth: adminAuth, body: { name: 'peer-label', scope: 'g' } });
    assert.equal(a.status, 201, explain('POST', '/labels', a));
    const list = shape<RegistryView[]>((await call('GET', '/registries?q=name%3Dpeer', 200)).json);
    const id = list[0]?.id ?? 0;
    const info = shape<RegistryInfo>((await call('GET', `/registries/${id}/info`, 200)).json);
    assert.deepEqual(info.supported_resource_filters[2], { type: 'label', style: 'list', values: ['peer-label'] });
    assert.deepEqual(info.supported_triggers, ['manual', 'scheduled']);
  });
});

describe('registry endpoints: the CNCF registry as type docker-registry', { skip: skipCncf }, () => {
  let id = 0;

  it('pings with Basic credentials, and without (401 counts as up)', async () => {
    if (!cncf) throw new Error(`${cncfBinary} is not installed but WHARF_REQUIRE_E2E=1 requires this test`);
    await call('POST', '/registries/ping', 200, { type: 'docker-registry', url: cncf.url, access_key: regUser, access_secret: regSecret });
    await call('POST', '/registries/ping', 200, { type: 'docker-registry', url: cncf.url });
    await refused('POST', '/registries/ping', 400, 'the registry is unhealthy', { type: 'docker-registry', url: cncf.url, access_key: regUser, access_secret: wrongSecret });
  });

  it('creates, lists, and keeps the secret on a PUT of *****', async () => {
    if (!cncf) throw new Error('no CNCF registry');
    id = await create({ name: 'dist', type: 'docker-registry', url: cncf.url, credential: { access_key: regUser, access_secret: regSecret } });
    const list = await call('GET', '/registries?q=type%3D~r&sort=-name&page_size=1', 200);
    assert.equal(list.headers['x-total-count'], '2');
    assert.deepEqual(shape<RegistryView[]>(list.json).map((r) => r.name), ['peer']);
    const all = await call('GET', '/registries?sort=name', 200);
    assert.deepEqual(shape<RegistryView[]>(all.json).map((r) => r.name), ['dist', 'peer']);
    assert.equal(all.text.includes(regSecret), false);

    await call('PUT', `/registries/${id}`, 200, { description: 'CNCF', access_secret: '*****' });
    assert.equal((await view(id)).description, 'CNCF');
    await call('POST', '/registries/ping', 200, { id });
    await call('POST', '/registries/ping', 200, { id, access_secret: '*****' });

    // A wrong secret for a ping by id marks the endpoint unhealthy; the stored one makes it healthy again.
    await refused('POST', '/registries/ping', 400, 'the registry is unhealthy', { id, access_secret: wrongSecret });
    assert.equal((await view(id)).status, 'unhealthy');
    await call('POST', '/registries/ping', 200, { id });
    assert.equal((await view(id)).status, 'healthy');

    // A wrong secret in a PUT is refused (health check) and changes nothing.
    await refused('PUT', `/registries/${id}`, 400, 'the registry is unhealthy', { access_secret: wrongSecret, description: 'changed' });
    assert.equal((await view(id)).description, 'CNCF');
    await refused('PUT', `/registries/${id}`, 409, 'registry peer already exists', { name: 'peer' });
  });

  it('clears the secret when the URL changes without a new one', async () => {
    if (!cncf) throw new Error('no CNCF registry');
    const moved = cncf.url.replace('127.0.0.1', 'localhost');
    await refused('PUT', `/registries/${id}`, 400, 'the registry is unhealthy', { url: moved });
    await refused('PUT', `/registries/${id}`, 400, 'the registry is unhealthy', { url: moved, access_secret: '*****' });
    await call('PUT', `/registries/${id}`, 200, { url: moved, access_secret: regSecret });
    const v = await view(id);
    assert.equal(v.url, moved);
    assert.deepEqual(v.credential, { type: 'basic', access_key: regUser, access_secret: '*****' });
  });

  it('answers the native adapter’s info', async () => {
    assert.deepEqual((await call('GET', `/registries/${id}/info`, 200)).json, {
      type: 'docker-registry',
      description: '',
      supported_resource_filters: [
        { type: 'name', style: 'input' },
        { type: 'tag', style: 'input' },
        { type: 'resource', style: 'radio', values: ['image'] },
      ],
      supported_triggers: ['manual', 'scheduled'],
    });
  });

  it('records unhealthy when the registry stops, and deletes', async () => {
    if (!cncf) throw new Error('no CNCF registry');
    await cncf.stop();
    await refused('POST', '/registries/ping', 400, 'the registry is unhealthy', { id });
    assert.equal((await view(id)).status, 'unhealthy');
    await call('DELETE', `/registries/${id}`, 200);
    await refused('GET', `/registries/${id}`, 404, `registry ${id} not found`);
  });
});

describe('registry endpoints: TLS', () => {
  it('fails without the CA, succeeds with ca_certificate or insecure', async () => {
    if (!tls) throw new Error('no TLS endpoint');
    const base = { type: 'docker-registry', url: tls.url };
    await refused('POST', '/registries/ping', 400, 'the registry is unhealthy', base);
    await call('POST', '/registries/ping', 200, { ...base, ca_certificate: tls.caPem });
    await call('POST', '/registries/ping', 200, { ...base, insecure: true });
    const id = await create({ name: 'tls', ...base, ca_certificate: tls.caPem });
    assert.equal((await view(id)).ca_certificate, tls.caPem);
    // Dropping the CA makes the update fail its health check; insecure instead passes.
    await refused('PUT', `/registries/${id}`, 400, 'the registry is unhealthy', { ca_certificate: '' });
    await call('PUT', `/registries/${id}`, 200, { ca_certificate: '', insecure: true });
    const v = await view(id);
    assert.deepEqual([v.insecure, v.ca_certificate], [true, null]);
  });
});

describe('registry endpoints: the log', () => {
  it('explains failed checks and never carries a secret', () => {
    const log = logLines.join('');
    assert.match(log, /registry health check failed/);
    assert.match(log, /GET \/v2\/ answered 401/);
    for (const s of [regSecret, wrongSecret, Buffer.from(`${regUser}:${regSecret}`).toString('base64'), Buffer.from(`admin:${wrongSecret}`).toString('base64')]) {
      assert.equal(log.includes(s), false, `the log carries ${s}`);
    }
  });
});
