/**
 * Proxy-cache projects over real HTTP (src/replication/proxy-cache.ts, the projects module's
 * `registry_id`): Debian's CNCF registry is the upstream, images go into it with skopeo and come
 * out through Wharf with skopeo. Covers Harbor's creation rules (system admin only, registry_id
 * checks, proxy metadata kept for proxy projects only, registry_id fixed after creation), a
 * pull-through that caches the artifact (artifacts API, the `pull` audit entry), blob HEAD
 * answered from upstream, tags listed from both sides, a tag moved upstream, an image deleted
 * upstream (404, or the cache with proxy_cache_local_on_not_found), pushes refused with Harbor's
 * DENIED, a Harbor-type upstream (a second Wharf, Bearer tokens), and the cache served while the
 * upstream is down.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { adminAuth, adminPassword, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, type ApiAnswer } from '../helpers/webhook-client.ts';
import { adminCreds, describeRun, skipWithoutSkopeo, skopeo, skopeoOk } from '../helpers/skopeo.ts';
import { skipWithoutCncf, startCncf, type CncfRegistry } from '../helpers/cncf-registry.ts';
import { OciLayout, readLayoutIndex, writeSingleLayerImage, type BuiltImage } from '../helpers/oci-layout.ts';

const skip = skipWithoutSkopeo() || skipWithoutCncf;
const userPassword = 'Passw0rdProxyCache';
const userAuth = 'Basic ' + Buffer.from(`pc-dev:${userPassword}`).toString('base64');

let w: TestWharf;
let cncf: CncfRegistry;
let registryId = 0;
const layouts: OciLayout[] = [];

function layout(): OciLayout {
  const l = OciLayout.create();
  layouts.push(l);
  return l;
}

function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, body?: unknown, auth = adminAuth): Promise<ApiAnswer> {
  const a = await api(w.url, method, `/api/v2.0${path}`, { auth, ...(body === undefined ? {} : { body }) });
  assert.equal(a.status, status, explain(method, path, a));
  return a;
}

function firstError(a: ApiAnswer): { code: string; message: string } {
  return shape<{ errors: Array<{ code: string; message: string }> }>(a.json).errors[0] ?? { code: '', message: '' };
}

interface ProjectJson {
  project_id: number;
  registry_id?: number;
  metadata: Record<string, string>;
}

async function project(name: string): Promise<ProjectJson> {
  return shape<ProjectJson>((await call('GET', `/projects/${name}`, 200)).json);
}

/** Pushes a layout's tag into the CNCF registry as `<repo>:<tag>`. */
async function pushUpstream(src: OciLayout, tag: string, repo: string): Promise<void> {
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', src.ref(tag), `docker://${cncf.host}/${repo}:${tag}`]);
}

/** Pulls `<ref>` through Wharf (as admin) into a fresh layout; returns the pulled manifest digest. */
async function pullThrough(ref: string): Promise<string> {
  const out = layout();
  await skopeoOk(['copy', '--quiet', '--src-tls-verify=false', '--src-creds', adminCreds, `docker://${w.host}/${ref}`, out.ref('pulled')]);
  const entries = readLayoutIndex(out.dir);
  assert.equal(entries.length, 1);
  return entries[0]?.digest ?? '';
}

/** A /v2 call on Wharf with admin Basic credentials. */
async function v2(method: 'GET' | 'HEAD' | 'POST', path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const res = await request(`${w.url}/v2/${path}`, {
    method,
    headers: { authorization: adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits out the proxy cache's reuse of a project's settings (5 s). */
function settingsExpire(): Promise<void> {
  return new Promise((r) => setTimeout(r, 5_200));
}

describe('proxy-cache projects', { skip, timeout: 300_000 }, () => {
  before(async () => {
    cncf = await startCncf();
    w = await startWharf();
    const a = await call('POST', '/registries', 201, { name: 'cncf-upstream', type: 'docker-registry', url: cncf.url, insecure: true });
    registryId = Number(String(a.headers.location).split('/').pop());
    await call('POST', '/projects', 201, { project_name: 'hub', registry_id: registryId, metadata: { public: 'false' } });
    await call('POST', '/users', 201, { username: 'pc-dev', password: userPassword, email: 'pc-dev@example.com', realname: 'd' });
  });
  after(async () => {
    for (const l of layouts) l.remove();
    await w?.close();
    await cncf?.remove();
  });

  it('creation: system admin only, registry_id checked, proxy metadata kept for proxy projects only', async () => {
    const hub = await project('hub');
    assert.equal(hub.registry_id, registryId);
    assert.equal((await project('library')).registry_id, undefined, 'Harbor omits it for an ordinary project');

    const denied = await call('POST', '/projects', 403, { project_name: 'userproxy', registry_id: registryId }, userAuth);
    assert.deepEqual(firstError(denied), { code: 'FORBIDDEN', message: 'Only system admin can create proxy cache project' });
    assert.match(firstError(await call('POST', '/projects', 400, { project_name: 'p0', registry_id: 0 })).message, /greater than 0/);
    assert.match(firstError(await call('POST', '/projects', 400, { project_name: 'p1', registry_id: -1 })).message, /greater than 0/);
    assert.match(firstError(await call('POST', '/projects', 400, { project_name: 'p2', registry_id: 9999 })).message, /registry 9999 not found/);
    await call('GET', '/projects/p2', 404);

    const meta = { proxy_speed_kb: '2048', proxy_cache_local_on_not_found: 'true', proxy_referrer_api: 'true' };
    await call('POST', '/projects', 201, { project_name: 'hub-meta', registry_id: registryId, metadata: meta });
    const pm = (await project('hub-meta')).metadata;
    assert.equal(pm.proxy_speed_kb, '2048');
    assert.equal(pm.proxy_cache_local_on_not_found, 'true');
    assert.equal(pm.proxy_referrer_api, undefined, 'not implemented: dropped');
    await call('POST', '/projects', 201, { project_name: 'plain-meta', metadata: meta });
    const plain = await project('plain-meta');
    assert.equal(plain.registry_id, undefined);
    assert.equal(plain.metadata.proxy_speed_kb, undefined, 'proxy keys are dropped for an ordinary project');
    assert.equal(plain.metadata.proxy_cache_local_on_not_found, undefined);
    await call('PUT', '/projects/plain-meta', 200, { metadata: { proxy_speed_kb: '1' } });
    assert.equal((await project('plain-meta')).metadata.proxy_speed_kb, undefined);

    // registry_id cannot change after creation (ignored, as Harbor does); proxy keys can.
    await call('PUT', '/projects/hub-meta', 200, { registry_id: 9999, metadata: { proxy_speed_kb: '0' } });
    const after = await project('hub-meta');
    assert.equal(after.registry_id, registryId);
    assert.equal(after.metadata.proxy_speed_kb, '0');
    assert.equal(after.metadata.proxy_cache_local_on_not_found, 'true');
    await call('DELETE', '/projects/hub-meta', 200);
  });

  let first: BuiltImage;
  let headed: BuiltImage;
  let otherLayer = '';

  it('a pull goes through: same digest, cached as an artifact, the pull audited, tags from both sides', async () => {
    const src = layout();
    first = await writeSingleLayerImage(src, 'v1');
    await pushUpstream(src, 'v1', 'team/app');
    await pushUpstream(src, 'v1', 'team/other');

    assert.equal(await pullThrough('hub/team/app:v1'), first.manifest.digest);

    const arts = shape<Array<{ digest: string; tags: Array<{ name: string }> | null }>>((await call('GET', '/projects/hub/repositories/team%252Fapp/artifacts', 200)).json);
    assert.deepEqual(
      arts.map((a) => [a.digest, (a.tags ?? []).map((t) => t.name)]),
      [[first.manifest.digest, ['v1']]],
    );
    await waitFor('the pull in the audit log', async () => {
      const logs = shape<Array<{ operation: string; resource: string; username: string }>>((await call('GET', '/audit-logs?page_size=100', 200)).json);
      return logs.find((l) => l.operation === 'pull' && l.resource === 'hub/team/app:v1' && l.username === 'admin');
    });

    // A second pull is served from the cache: same digest, and a HEAD by tag answers it.
    assert.equal(await pullThrough('hub/team/app:v1'), first.manifest.digest);
    const head = await v2('HEAD', 'hub/team/app/manifests/v1');
    assert.equal(head.status, 200);
    assert.equal(head.headers['docker-content-digest'], first.manifest.digest);

    // A blob not cached yet: HEAD asks upstream instead of answering 404 (Harbor #22609).
    const layer = first.layers[0]?.digest ?? '';
    otherLayer = layer;
    const blobHead = await v2('HEAD', `hub/team/other/blobs/${layer}`);
    assert.equal(blobHead.status, 200, blobHead.text);
    assert.equal(Number(blobHead.headers['content-length']), first.layers[0]?.size);
    // ... and GET streams it (and caches it).
    const blobGet = await v2('GET', `hub/team/other/blobs/${layer}`);
    assert.equal(blobGet.status, 200);
    assert.equal(blobGet.text.length > 0, true);

    // Tags: the cached ones and the upstream's.
    const src2 = layout();
    await writeSingleLayerImage(src2, 'v2');
    await pushUpstream(src2, 'v2', 'team/app');
    const tags = await v2('GET', 'hub/team/app/tags/list');
    assert.equal(tags.status, 200);
    assert.deepEqual(shape<{ tags: string[] }>(JSON.parse(tags.text)).tags, ['v1', 'v2']);
  });

  it('a HEAD of a manifest not cached answers from upstream and caches it in the background', async () => {
    const src = layout();
    headed = await writeSingleLayerImage(src, 'h1');
    await pushUpstream(src, 'h1', 'team/headed');
    const head = await v2('HEAD', 'hub/team/headed/manifests/h1');
    assert.equal(head.status, 200, head.text);
    assert.equal(head.headers['docker-content-digest'], headed.manifest.digest);
    assert.equal(Number(head.headers['content-length']), headed.manifestBody.length);
    await waitFor('the background copy', async () => {
      const a = await api(w.url, 'GET', '/api/v2.0/projects/hub/repositories/team%252Fheaded/artifacts', { auth: adminAuth });
      return a.status === 200 && shape<Array<{ digest: string }>>(a.json).some((x) => x.digest === headed.manifest.digest) ? true : undefined;
    });
  });

  it('a ranged GET of a blob not cached is served from upstream; callers without pull permission reach nothing', async () => {
    const src = layout();
    const img = await writeSingleLayerImage(src, 'r1');
    await pushUpstream(src, 'r1', 'team/ranged');
    const layer = img.layers[0];
    assert.ok(layer);
    const whole = src.readBlob(layer.digest);
    const res = await request(`${w.url}/v2/hub/team/ranged/blobs/${layer.digest}`, { headers: { authorization: adminAuth, range: 'bytes=10-29' } });
    const body = Buffer.from(await res.body.arrayBuffer());
    assert.equal(res.statusCode, 206);
    assert.equal(res.headers['content-range'], `bytes 10-29/${whole.length}`);
    assert.deepEqual(body, whole.subarray(10, 30));

    // pc-dev is no member of the private project: refused before anything goes upstream.
    const denied = await request(`${w.url}/v2/hub/team/ranged/manifests/r1`, { headers: { authorization: userAuth } });
    await denied.body.dump();
    assert.equal(denied.statusCode, 403);
    const arts = await api(w.url, 'GET', '/api/v2.0/projects/hub/repositories/team%252Franged/artifacts', { auth: adminAuth });
    assert.equal(arts.status, 404, 'nothing was cached for the refused caller');
  });

  it('concurrent cold pulls of one image share one copy and get the same digest', async () => {
    const src = layout();
    const img = await writeSingleLayerImage(src, 'c1');
    await pushUpstream(src, 'c1', 'team/concurrent');
    const digests = await Promise.all([1, 2, 3].map(() => pullThrough('hub/team/concurrent:c1')));
    assert.deepEqual(digests, [img.manifest.digest, img.manifest.digest, img.manifest.digest]);
    const arts = shape<Array<{ digest: string }>>((await call('GET', '/projects/hub/repositories/team%252Fconcurrent/artifacts', 200)).json);
    assert.deepEqual(arts.map((a) => a.digest), [img.manifest.digest]);
  });

  it('pushes into a proxy project are refused with Harbor’s DENIED', async () => {
    const up = await v2('POST', 'hub/team/app/blobs/uploads/');
    assert.equal(up.status, 403, up.text);
    assert.deepEqual(shape<{ errors: Array<{ code: string; message: string }> }>(JSON.parse(up.text)).errors[0], { code: 'DENIED', message: 'denied: can not push artifact to a proxy project: hub' });
    const src = layout();
    await writeSingleLayerImage(src, 'pushed');
    const r = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('pushed'), `docker://${w.host}/hub/team/pushed:pushed`]);
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, /can not push artifact to a proxy project: hub/, describeRun(r));
    // Copying an artifact into it through the API is a push too.
    const copy = await call('POST', '/projects/hub/repositories/copied/artifacts?from=hub/team/app:v1', 403);
    assert.equal(firstError(copy).message, 'denied: can not push artifact to a proxy project: hub');
  });

  it('a tag moved upstream is served with its new digest', async () => {
    const src = layout();
    const moved = await writeSingleLayerImage(src, 'v1');
    assert.notEqual(moved.manifest.digest, first.manifest.digest);
    await pushUpstream(src, 'v1', 'team/app');
    assert.equal(await pullThrough('hub/team/app:v1'), moved.manifest.digest);
    first = moved;
  });

  it('deleted upstream: 404, unless proxy_cache_local_on_not_found serves the cache', async () => {
    const del = await request(`${cncf.url}/v2/team/app/manifests/${first.manifest.digest}`, { method: 'DELETE' });
    await del.body.dump();
    assert.equal(del.statusCode, 202);
    const gone = await v2('GET', 'hub/team/app/manifests/v1');
    assert.equal(gone.status, 404, gone.text);
    assert.equal(shape<{ errors: Array<{ code: string }> }>(JSON.parse(gone.text)).errors[0]?.code, 'MANIFEST_UNKNOWN');

    await call('PUT', '/projects/hub', 200, { metadata: { proxy_cache_local_on_not_found: 'true' } });
    await settingsExpire();
    const served = await v2('GET', 'hub/team/app/manifests/v1');
    assert.equal(served.status, 200, served.text);
    assert.equal(served.headers['docker-content-digest'], first.manifest.digest);
    await call('PUT', '/projects/hub', 200, { metadata: { proxy_cache_local_on_not_found: 'false' } });
    await settingsExpire();
  });

  it('a Harbor-type upstream (another Wharf, private project, Bearer tokens)', async () => {
    const peer = await startWharf();
    try {
      const p = await api(peer.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'secret', metadata: { public: 'false' } } });
      assert.equal(p.status, 201, explain('POST', '/projects', p));
      const src = layout();
      const img = await writeSingleLayerImage(src, 'p1');
      await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('p1'), `docker://${peer.host}/secret/tool:p1`]);
      const reg = await call('POST', '/registries', 201, { name: 'peer-wharf', type: 'harbor', url: peer.url, credential: { access_key: 'admin', access_secret: adminPassword } });
      const peerId = Number(String(reg.headers.location).split('/').pop());
      await call('POST', '/projects', 201, { project_name: 'peerhub', registry_id: peerId });
      assert.equal(await pullThrough(`peerhub/secret/tool:p1`), img.manifest.digest);
      const arts = shape<Array<{ digest: string }>>((await call('GET', '/projects/peerhub/repositories/secret%252Ftool/artifacts', 200)).json);
      assert.deepEqual(arts.map((a) => a.digest), [img.manifest.digest]);
    } finally {
      await peer.close();
    }
  });

  it('the upstream down: cached images are still served, others are unknown', async () => {
    await cncf.stop();
    try {
      // team/other:v1 was never pulled (only one of its blobs was): not cached, so unknown.
      const unknown = await v2('GET', 'hub/team/other/manifests/v1');
      assert.equal(unknown.status, 404, unknown.text);
      // The blob a client streamed through was cached on the way.
      const blob = await v2('HEAD', `hub/team/other/blobs/${otherLayer}`);
      assert.equal(blob.status, 200, 'cached while it was streamed to the client');
      // So was the image a HEAD found upstream (in the background).
      assert.equal(await pullThrough(`hub/team/headed@${headed.manifest.digest}`), headed.manifest.digest);
      assert.equal(await pullThrough(`hub/team/app@${first.manifest.digest}`), first.manifest.digest);
      // By tag: the upstream cannot answer, so the cached tag is served.
      assert.equal(await pullThrough('hub/team/app:v1'), first.manifest.digest);
    } finally {
      await cncf.restart();
    }
  });
});
