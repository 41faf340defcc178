/**
 * What the OCI distribution-spec conformance suite (v1.1.1) does that Wharf once failed, replayed
 * over real HTTP the way the suite's client (reggie) talks: every request goes out without
 * credentials first; on a 401 the client asks the challenge's realm for a token with exactly the
 * challenge's `scope` (one query parameter, space-separated when several) and its HTTP Basic
 * credentials, then repeats the request with that token. A registry whose challenge names less
 * than its check needs answers the repeat with 403, which is what the suite saw for the GET of an
 * upload (pull scope, push checked). docs/testing.md ("OCI conformance") has the suite's figures.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startWharf, adminAuth, adminPassword, type TestWharf } from '../helpers/wharf.ts';
import { api } from '../helpers/webhook-client.ts';

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

/** One answer of the suite-like client, with the scope its token was asked for (null: no 401 came). */
interface Exchange {
  res: Response;
  scope: string | null;
  challenge: string | null;
}

/** The challenge's parameters (`realm`, `service`, `scope`). */
function challengeParams(header: string): Record<string, string> {
  assert.match(header, /^Bearer /, `a Bearer challenge: ${header}`);
  const params: Record<string, string> = {};
  for (const m of header.slice('Bearer '.length).matchAll(/(\w+)="([^"]*)"/g)) params[m[1] ?? ''] = m[2] ?? '';
  return params;
}

/** A registry client that behaves as the conformance suite's does (see the file comment). */
function suiteClient(w: TestWharf, user: string, password: string) {
  return async (method: string, path: string, init: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<Exchange> => {
    const send = (auth?: string) =>
      fetch(w.url + path, { method, headers: { 'user-agent': 'distribution-spec-conformance-tests', ...init.headers, ...(auth ? { authorization: auth } : {}) }, body: init.body ? new Uint8Array(init.body) : undefined, redirect: 'manual' });
    const first = await send();
    if (first.status !== 401) return { res: first, scope: null, challenge: null };
    await first.arrayBuffer();
    const challenge = first.headers.get('www-authenticate') ?? '';
    const { realm, service, scope } = challengeParams(challenge);
    assert.ok(realm && service, `realm and service in ${challenge}`);
    const q = new URLSearchParams({ service });
    if (scope) q.set('scope', scope);
    const t = await fetch(`${realm}?${q.toString()}`, { headers: { authorization: basic(user, password) } });
    assert.equal(t.status, 200, await t.clone().text());
    // The token endpoint answers JSON with a `token` field (token-auth.test.ts checks the rest).
    const { token } = (await t.json()) as { token: string };
    return { res: await send(`Bearer ${token}`), scope: scope ?? null, challenge };
  };
}

async function errorCode(r: Response): Promise<string | undefined> {
  // The /v2 error body: {"errors":[{"code",...}]}.
  const body = (await r.json()) as { errors?: Array<{ code?: string }> };
  return body.errors?.[0]?.code;
}

describe('OCI conformance: the suite token flow on uploads and mounts', () => {
  let w: TestWharf;
  before(async () => {
    w = await startWharf();
    // A private project, so that every request of the anonymous first try is challenged.
    const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'conf', metadata: { public: 'false' } } });
    assert.equal(p.status, 201, p.text);
    const u = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username: 'guesty', password: 'Passw0rdOne', email: 'guesty@example.com', realname: 'guesty' } });
    assert.equal(u.status, 201, u.text);
    const m = await api(w.url, 'POST', '/api/v2.0/projects/conf/members', { auth: adminAuth, body: { role_id: 3, member_user: { username: 'guesty' } } });
    assert.equal(m.status, 201, m.text);
  });
  after(async () => {
    await w.close();
  });

  it('a GET of an upload after its out-of-order chunk was refused answers 204 with Range and Location', async () => {
    const call = suiteClient(w, 'admin', adminPassword);
    const blob = randomBytes(44);
    const chunk1 = blob.subarray(0, 22);
    const chunk2 = blob.subarray(22);
    const patch = (location: string, chunk: Buffer, range: string) =>
      call('PATCH', location, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(chunk.length), 'content-range': range }, body: chunk });

    const post = await call('POST', '/v2/conf/app/blobs/uploads/', { headers: { 'content-length': '0' } });
    assert.equal(post.res.status, 202);
    const location = post.res.headers.get('location') ?? '';
    assert.match(location, /^\/v2\/conf\/app\/blobs\/uploads\/[0-9a-f-]+$/);

    const first = await patch(location, chunk1, '0-21');
    assert.equal(first.res.status, 202);
    assert.equal(first.res.headers.get('range'), '0-21');
    const retry = await patch(location, chunk1, '0-21');
    assert.equal(retry.res.status, 416);
    assert.equal(await errorCode(retry.res), 'BLOB_UPLOAD_INVALID');

    // The suite's request: anonymous 401, a token for the challenge's scope (pull), the GET again.
    const state = await call('GET', location);
    assert.equal(state.scope, 'repository:conf/app:pull');
    assert.equal(state.res.status, 204, await state.res.clone().text());
    assert.equal(state.res.headers.get('range'), '0-21');
    assert.equal(state.res.headers.get('location'), location);

    const second = await patch(location, chunk2, '22-43');
    assert.equal(second.res.status, 202);
    const put = await call('PUT', `${location}?digest=${sha256(blob)}`, { headers: { 'content-type': 'application/octet-stream', 'content-length': '0' } });
    assert.equal(put.res.status, 201, await put.res.clone().text());
    const get = await call('GET', `/v2/conf/app/blobs/${sha256(blob)}`);
    assert.equal(get.res.status, 200);
    assert.deepEqual(Buffer.from(await get.res.arrayBuffer()), blob);
  });

  it('a DELETE of an upload with the token its challenge names (delete) answers 204', async () => {
    const call = suiteClient(w, 'admin', adminPassword);
    const post = await call('POST', '/v2/conf/app/blobs/uploads/');
    assert.equal(post.res.status, 202);
    const location = post.res.headers.get('location') ?? '';
    const del = await call('DELETE', location);
    assert.equal(del.scope, 'repository:conf/app:delete');
    assert.equal(del.res.status, 204, await del.res.clone().text());
    const gone = await call('GET', location);
    assert.equal(gone.res.status, 404);
    assert.equal(await errorCode(gone.res), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('a pull-only token reads an upload state but cannot write to it', async () => {
    const admin = suiteClient(w, 'admin', adminPassword);
    const post = await admin('POST', '/v2/conf/app/blobs/uploads/');
    const location = post.res.headers.get('location') ?? '';
    const guest = suiteClient(w, 'guesty', 'Passw0rdOne');
    const state = await guest('GET', location);
    assert.equal(state.res.status, 204);
    assert.equal(state.res.headers.get('range'), '0-0');
    const chunk = randomBytes(8);
    const write = await guest('PATCH', location, { headers: { 'content-type': 'application/octet-stream', 'content-range': '0-7' }, body: chunk });
    assert.equal(write.scope, 'repository:conf/app:pull,push');
    assert.equal(write.res.status, 403);
    assert.equal(await errorCode(write.res), 'DENIED');
    const drop = await guest('DELETE', location);
    assert.equal(drop.res.status, 403);
    // The upload is still there, empty.
    const after = await admin('GET', location);
    assert.equal(after.res.status, 204);
    assert.equal(after.res.headers.get('range'), '0-0');
  });

  it('a mount with from: the challenge names the source pull scope, so the mount answers 201', async () => {
    const call = suiteClient(w, 'admin', adminPassword);
    const blob = randomBytes(100);
    const digest = sha256(blob);
    const up = await call('POST', `/v2/conf/app/blobs/uploads/?digest=${digest}`, { headers: { 'content-type': 'application/octet-stream' }, body: blob });
    assert.equal(up.res.status, 201, await up.res.clone().text());

    const mount = await call('POST', `/v2/conf/mounted/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=conf%2Fapp`);
    assert.match(mount.challenge ?? '', /,scope="repository:conf\/mounted:pull,push repository:conf\/app:pull"$/);
    assert.equal(mount.res.status, 201, await mount.res.clone().text());
    assert.equal(mount.res.headers.get('location'), `/v2/conf/mounted/blobs/${digest}`);
    const get = await call('GET', `/v2/conf/mounted/blobs/${digest}`);
    assert.equal(get.res.status, 200);

    // Without from, nothing more is asked for and the answer is a plain upload session.
    const plain = await call('POST', `/v2/conf/other/blobs/uploads/?mount=${encodeURIComponent(digest)}`);
    assert.equal(plain.scope, 'repository:conf/other:pull,push');
    assert.equal(plain.res.status, 202);
    assert.match(plain.res.headers.get('location') ?? '', /^\/v2\/conf\/other\/blobs\/uploads\//);
  });
});
