/**
 * The Docker token flow over real HTTP: the Bearer challenge on /v2 with the needed scope,
 * /service/token (users, anonymous, POST grant_type=password), tokens on /v2 and /api/v2.0,
 * exact granted actions, tampered, foreign-signed and expired tokens refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, generateKeyPair, decodeProtectedHeader } from 'jose';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { api, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';

// Casts in this file (`x.json as T`) name the shape the API documents for a parsed JSON body; the
// assertions that follow check the fields they use.
const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
const password = 'Passw0rdOne';

interface TokenAnswer {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

function claims(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  // A JWT payload is a JSON object.
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function getToken(w: TestWharf, scopes: string[], auth?: string): Promise<TokenAnswer> {
  const q = new URLSearchParams({ service: 'wharf', account: 'x' });
  for (const s of scopes) q.append('scope', s);
  const r = await fetch(`${w.url}/service/token?${q.toString()}`, { headers: auth ? { authorization: auth } : {} });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  // The endpoint answers JSON; its fields are checked by the callers.
  return JSON.parse(text) as TokenAnswer;
}

async function createUser(w: TestWharf, username: string): Promise<void> {
  const a = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username, password, email: `${username}@example.com`, realname: username } });
  assert.equal(a.status, 201, a.text);
}

async function addMember(w: TestWharf, project: string, username: string, roleId: number): Promise<void> {
  const a = await api(w.url, 'POST', `/api/v2.0/projects/${project}/members`, { auth: adminAuth, body: { role_id: roleId, member_user: { username } } });
  assert.equal(a.status, 201, a.text);
}

describe('token auth', () => {
  let w: TestWharf;
  before(async () => {
    w = await startWharf();
    const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'secret', metadata: { public: 'false' } } });
    assert.equal(p.status, 201, p.text);
    await createUser(w, 'guesty');
    await createUser(w, 'devvy');
    await addMember(w, 'secret', 'guesty', 3);
    await addMember(w, 'secret', 'devvy', 2);
    await pushSmallImage(w.url, 'secret/app', smallImage('secret-app'), { tag: 'v1', auth: adminAuth });
    await pushSmallImage(w.url, 'library/pub', smallImage('library-pub'), { tag: 'v1', auth: adminAuth });
  });
  after(async () => {
    await w.close();
  });

  it('GET /v2/ and every /v2 401 carry the Bearer challenge with the needed scope', async () => {
    const realm = `Bearer realm="${w.url}/service/token",service="wharf"`;
    const root = await fetch(`${w.url}/v2/`);
    assert.equal(root.status, 401);
    assert.equal(root.headers.get('www-authenticate'), realm);
    const pull = await fetch(`${w.url}/v2/secret/app/manifests/v1`);
    assert.equal(pull.status, 401);
    assert.equal(pull.headers.get('www-authenticate'), `${realm},scope="repository:secret/app:pull"`);
    const push = await fetch(`${w.url}/v2/secret/app/blobs/uploads/`, { method: 'POST' });
    assert.equal(push.status, 401);
    assert.equal(push.headers.get('www-authenticate'), `${realm},scope="repository:secret/app:pull,push"`);
    const del = await fetch(`${w.url}/v2/secret/app/manifests/v1`, { method: 'DELETE' });
    assert.equal(del.headers.get('www-authenticate'), `${realm},scope="repository:secret/app:delete"`);
  });

  it('issues a signed JWT with the registry claims and exactly the granted actions', async () => {
    const t = await getToken(w, ['repository:secret/app:pull,push'], adminAuth);
    assert.equal(t.token, t.access_token);
    assert.equal(t.expires_in, 300);
    assert.match(t.issued_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Math.abs(Date.parse(t.issued_at) - Date.now()) < 10_000);
    const c = claims(t.token);
    assert.equal(c.sub, 'admin');
    assert.equal(c.aud, 'wharf');
    assert.equal(typeof c.iss, 'string');
    assert.equal(typeof c.jti, 'string');
    assert.equal(Number(c.exp) - Number(c.iat), 300);
    assert.equal(c.nbf, c.iat);
    assert.deepEqual(c.access, [{ type: 'repository', name: 'secret/app', actions: ['pull', 'push'] }]);
    assert.equal(decodeProtectedHeader(t.token).alg, 'ES256');
  });

  it('a pull-only member asking for pull,push gets only pull; a developer gets both', async () => {
    const g = await getToken(w, ['repository:secret/app:pull,push'], basic('guesty', password));
    assert.deepEqual(claims(g.token).access, [{ type: 'repository', name: 'secret/app', actions: ['pull'] }]);
    const d = await getToken(w, ['repository:secret/app:pull,push,delete'], basic('devvy', password));
    assert.deepEqual(claims(d.token).access, [{ type: 'repository', name: 'secret/app', actions: ['pull', 'push'] }]);
    // The guest's token pulls but cannot push.
    const ok = await fetch(`${w.url}/v2/secret/app/manifests/v1`, { headers: { authorization: `Bearer ${g.token}`, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(ok.status, 200);
    const up = await fetch(`${w.url}/v2/secret/app/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${g.token}` } });
    assert.equal(up.status, 403);
    assert.equal(((await up.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'DENIED');
  });

  it('several scope parameters are granted one by one', async () => {
    const t = await getToken(w, ['repository:secret/app:pull', 'repository:library/pub:pull,push', 'repository:nosuch/x:pull'], basic('devvy', password));
    assert.deepEqual(claims(t.token).access, [
      { type: 'repository', name: 'secret/app', actions: ['pull'] },
      { type: 'repository', name: 'library/pub', actions: ['pull'] },
      { type: 'repository', name: 'nosuch/x', actions: [] },
    ]);
  });

  it('push and pull with a token from the Bearer flow (admin)', async () => {
    const t = await getToken(w, ['repository:secret/tok:pull,push'], adminAuth);
    const auth = `Bearer ${t.token}`;
    const digest = await pushSmallImage(w.url, 'secret/tok', smallImage('via-token'), { tag: 'v1', auth });
    const r = await fetch(`${w.url}/v2/secret/tok/manifests/v1`, { method: 'HEAD', headers: { authorization: auth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), digest);
    const root = await fetch(`${w.url}/v2/`, { headers: { authorization: auth } });
    assert.equal(root.status, 200);
  });

  it('a token for repository A does not grant repository B', async () => {
    const t = await getToken(w, ['repository:secret/tok:pull,push'], adminAuth);
    const auth = `Bearer ${t.token}`;
    const r = await fetch(`${w.url}/v2/secret/app/manifests/v1`, { headers: { authorization: auth } });
    assert.equal(r.status, 403);
    const up = await fetch(`${w.url}/v2/secret/other/blobs/uploads/`, { method: 'POST', headers: { authorization: auth } });
    assert.equal(up.status, 403);
  });

  it('anonymous tokens grant public pulls only', async () => {
    const t = await getToken(w, ['repository:library/pub:pull,push', 'repository:secret/app:pull']);
    const c = claims(t.token);
    assert.equal(c.sub, '');
    assert.deepEqual(c.access, [
      { type: 'repository', name: 'library/pub', actions: ['pull'] },
      { type: 'repository', name: 'secret/app', actions: [] },
    ]);
    const auth = `Bearer ${t.token}`;
    const pull = await fetch(`${w.url}/v2/library/pub/manifests/v1`, { headers: { authorization: auth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(pull.status, 200);
    const priv = await fetch(`${w.url}/v2/secret/app/manifests/v1`, { headers: { authorization: auth } });
    assert.equal(priv.status, 401);
    const push = await fetch(`${w.url}/v2/library/pub/blobs/uploads/`, { method: 'POST', headers: { authorization: auth } });
    assert.equal(push.status, 401);
    assert.match(push.headers.get('www-authenticate') ?? '', /scope="repository:library\/pub:pull,push"/);
  });

  it('tampered and foreign-signed tokens are refused with 401', async () => {
    const t = await getToken(w, ['repository:secret/app:pull'], basic('guesty', password));
    const [h, p, s] = t.token.split('.');
    const payload = claims(t.token);
    const forged = Buffer.from(JSON.stringify({ ...payload, access: [{ type: 'repository', name: 'secret/app', actions: ['pull', 'push'] }] })).toString('base64url');
    const tampered = `${h}.${forged}.${s}`;
    const r1 = await fetch(`${w.url}/v2/secret/app/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${tampered}` } });
    assert.equal(r1.status, 401);
    assert.match(r1.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    assert.match(((await r1.json()) as { errors: Array<{ message: string }> }).errors[0]?.message ?? '', /bearer token/);
    // Same claims and key id, signed by a key Wharf never made.
    const other = await generateKeyPair('ES256');
    const kid = decodeProtectedHeader(t.token).kid;
    const foreign = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid }).sign(other.privateKey);
    const r2 = await fetch(`${w.url}/v2/secret/app/manifests/v1`, { headers: { authorization: `Bearer ${foreign}` } });
    assert.equal(r2.status, 401);
    const foreignKid = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'not-ours' }).sign(other.privateKey);
    assert.equal((await fetch(`${w.url}/v2/`, { headers: { authorization: `Bearer ${foreignKid}` } })).status, 401);
    assert.equal((await fetch(`${w.url}/v2/`, { headers: { authorization: `Bearer ${p ?? ''}` } })).status, 401);
    assert.equal((await fetch(`${w.url}/v2/`, { headers: { authorization: 'Bearer not.a.jwt' } })).status, 401);
    // The API refuses them too, in Harbor's format.
    const a = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: `Bearer ${tampered}` });
    assert.equal(a.status, 401);
    assert.deepEqual((a.json as { errors: Array<{ code: string }> }).errors.map((e) => e.code), ['UNAUTHORIZED']);
  });

  it('the API accepts bearer tokens for the repositories they name, nothing else', async () => {
    const t = await getToken(w, ['repository:secret/app:pull'], basic('devvy', password));
    const ok = await api(w.url, 'GET', '/api/v2.0/projects/secret/repositories/app/artifacts/v1', { auth: `Bearer ${t.token}` });
    assert.equal(ok.status, 200, ok.text);
    // Who the account is stays Basic's business (test/integration/api-registry-tokens.test.ts has the rest).
    const me = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: `Bearer ${t.token}` });
    assert.equal(me.status, 403, me.text);
    assert.deepEqual((me.json as { errors: Array<{ code: string }> }).errors.map((e) => e.code), ['FORBIDDEN']);
  });

  it('a disabled user’s token stops working at once', async () => {
    await createUser(w, 'shortlived');
    await addMember(w, 'secret', 'shortlived', 3);
    const t = await getToken(w, ['repository:secret/app:pull'], basic('shortlived', password));
    const auth = { authorization: `Bearer ${t.token}`, accept: 'application/vnd.oci.image.manifest.v1+json' };
    assert.equal((await fetch(`${w.url}/v2/secret/app/manifests/v1`, { headers: auth })).status, 200);
    const list = await api(w.url, 'GET', '/api/v2.0/users?q=username%3Dshortlived', { auth: adminAuth });
    const id = (list.json as Array<{ user_id: number }>)[0]?.user_id;
    const dis = await api(w.url, 'PUT', `/api/v2.0/users/${String(id)}`, { auth: adminAuth, body: { disabled: true } });
    assert.equal(dis.status, 200, dis.text);
    assert.equal((await fetch(`${w.url}/v2/secret/app/manifests/v1`, { headers: auth })).status, 401);
  });

  it('the token endpoint refuses wrong credentials, unknown services and malformed scopes', async () => {
    const bad = await fetch(`${w.url}/service/token?service=wharf&scope=repository:secret/app:pull`, { headers: { authorization: basic('guesty', 'Wrong0ne!') } });
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'UNAUTHORIZED');
    const svc = await fetch(`${w.url}/service/token?service=elsewhere&scope=repository:secret/app:pull`);
    assert.equal(svc.status, 400);
    const scope = await fetch(`${w.url}/service/token?service=wharf&scope=nonsense`);
    assert.equal(scope.status, 400);
    assert.match(((await scope.json()) as { errors: Array<{ message: string }> }).errors[0]?.message ?? '', /invalid scope/);
    // Repository names /v2 refuses are malformed scopes too, refused the same way.
    for (const name of ['secret/../library/pub', 'private/../p2/app', 'Secret/app', 'secret/app/', 'secret//app', 'secret/%2e%2e/app', 'app']) {
      const q = new URLSearchParams({ service: 'wharf', scope: `repository:${name}:pull` });
      const r = await fetch(`${w.url}/service/token?${q.toString()}`, { headers: { authorization: adminAuth } });
      assert.equal(r.status, 400, name);
      const body = (await r.json()) as { errors: Array<{ code: string; message: string }> };
      assert.equal(body.errors[0]?.code, 'BAD_REQUEST', name);
      assert.match(body.errors[0]?.message ?? '', /invalid scope .*invalid repository name/, name);
    }
    const form = new URLSearchParams({ grant_type: 'password', username: 'devvy', password, service: 'wharf', scope: 'repository:secret/app:pull repository:private/../p2/app:pull' });
    assert.equal((await fetch(`${w.url}/service/token`, { method: 'POST', body: form })).status, 400);
    const many = new URLSearchParams({ service: 'wharf' });
    for (let i = 0; i < 101; i++) many.append('scope', `repository:library/r${i}:pull`);
    assert.equal((await fetch(`${w.url}/service/token?${many.toString()}`)).status, 400);
  });

  it('POST /service/token with grant_type=password', async () => {
    const body = new URLSearchParams({ grant_type: 'password', username: 'devvy', password, service: 'wharf', scope: 'repository:secret/app:pull,push repository:library/pub:pull', client_id: 'test' });
    const r = await fetch(`${w.url}/service/token`, { method: 'POST', body });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    // JSON answer, checked field by field.
    const t = JSON.parse(text) as TokenAnswer;
    assert.deepEqual(claims(t.access_token).access, [
      { type: 'repository', name: 'secret/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'library/pub', actions: ['pull'] },
    ]);
    const wrong = await fetch(`${w.url}/service/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'devvy', password: 'nope' }) });
    assert.equal(wrong.status, 401);
    const grant = await fetch(`${w.url}/service/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x' }) });
    assert.equal(grant.status, 400);
  });

  it('Basic credentials directly on /v2 keep working', async () => {
    const r = await fetch(`${w.url}/v2/secret/app/manifests/v1`, { headers: { authorization: basic('guesty', password), accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(r.status, 200);
  });
});

describe('token expiry', () => {
  let w: TestWharf;
  before(async () => {
    w = await startWharf({ overrides: { auth: { token_ttl_seconds: 1 } } });
  });
  after(async () => {
    await w.close();
  });

  it('an expired token is refused with 401 and the challenge', async () => {
    const t = await getToken(w, ['repository:library/x:pull,push'], adminAuth);
    assert.equal(t.expires_in, 1);
    const auth = { authorization: `Bearer ${t.token}` };
    assert.equal((await fetch(`${w.url}/v2/`, { headers: auth })).status, 200);
    await new Promise((r) => setTimeout(r, 2100));
    const r = await fetch(`${w.url}/v2/`, { headers: auth });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="/);
  });

  it('a token issued late in a second still lasts its expires_in', async () => {
    // Issue at about x.95 s and use it at about x+1.3 s: within its 1 s lifetime, though its
    // whole-second `exp` (x+1) has passed.
    await new Promise((r) => setTimeout(r, (1950 - (Date.now() % 1000)) % 1000));
    const issued = Date.now();
    const t = await getToken(w, ['repository:library/x:pull'], adminAuth);
    await new Promise((r) => setTimeout(r, Math.max(0, issued + 350 - Date.now())));
    const r = await fetch(`${w.url}/v2/`, { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(r.status, 200, `used ${Date.now() - issued} ms after the request for it`);
  });
});

describe('token signing key', () => {
  it('is kept in the database: a token stays valid across a restart; another data folder refuses it', async () => {
    const first = await startWharf();
    const dataDir = first.dataDir;
    let token: string;
    try {
      token = (await getToken(first, ['repository:library/x:pull'], adminAuth)).token;
    } finally {
      await first.close({ keepData: true });
    }
    const again = await startWharf({ dataDir });
    const other = await startWharf();
    try {
      assert.equal((await fetch(`${again.url}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      assert.equal((await fetch(`${other.url}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    } finally {
      await again.close();
      await other.close();
    }
  });
});
