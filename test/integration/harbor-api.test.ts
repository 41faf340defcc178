/**
 * The /api/v2.0 project model over real HTTP: projects, repositories, artifacts, tags, system info,
 * health, gc; paging headers, q filters, error shapes, X-Is-Resource-Name, double-encoded names,
 * and the CREATE_PROJECT / DELETE_PROJECT rows in the outbox. Images are pushed through /v2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Authenticator } from '../../src/auth/index.ts';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';

let tw: TestWharf;
const userAuth = 'Basic ' + Buffer.from('dev:DevPass123').toString('base64');

const api = (path: string, init: RequestInit & { auth?: string | null } = {}) => {
  const headers = new Headers(init.headers);
  const auth = init.auth === undefined ? adminAuth : init.auth;
  if (auth) headers.set('authorization', auth);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return fetch(`${tw.url}/api/v2.0${path}`, { ...init, headers });
};

const json = async <T = unknown>(r: Response): Promise<T> => (await r.json()) as T;

/** Asserts Harbor's error shape with the given status and code. */
async function assertError(r: Response, status: number, code: string): Promise<string> {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}`);
  const body = await json<{ errors: Array<{ code: string; message: string }> }>(r);
  assert.equal(body.errors.length, 1);
  assert.equal(body.errors[0]?.code, code);
  assert.equal(typeof body.errors[0]?.message, 'string');
  assert.ok((body.errors[0]?.message ?? '').length > 0);
  return body.errors[0]?.message ?? '';
}

const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** Pushes a blob with a monolithic upload (POST ...?digest=). */
async function pushBlob(repo: string, data: Buffer): Promise<string> {
  const digest = sha(data);
  const r = await fetch(`${tw.url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { authorization: adminAuth, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(data),
  });
  assert.equal(r.status, 201, `blob push to ${repo}: ${r.status} ${await r.text()}`);
  return digest;
}

async function putManifest(repo: string, ref: string, mediaType: string, body: object): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(body));
  const r = await fetch(`${tw.url}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { authorization: adminAuth, 'content-type': mediaType },
    body: new Uint8Array(bytes),
  });
  assert.equal(r.status, 201, `manifest push to ${repo}:${ref}: ${r.status} ${await r.text()}`);
  return sha(bytes);
}

const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const ociIndex = 'application/vnd.oci.image.index.v1+json';
const ociConfig = 'application/vnd.oci.image.config.v1+json';

/** Pushes a one-layer image; returns its manifest digest and size facts. */
async function pushImage(repo: string, tag: string, arch = 'amd64'): Promise<{ digest: string; manifestSize: number }> {
  const layer = randomBytes(512);
  const config = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', author: 'wharf-tests', config: { Env: ['A=1'] }, rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
  const layerDigest = await pushBlob(repo, layer);
  const configDigest = await pushBlob(repo, config);
  const manifest = {
    schemaVersion: 2,
    mediaType: ociManifest,
    config: { mediaType: ociConfig, digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    annotations: { 'org.opencontainers.image.title': `${repo}-${arch}` },
  };
  const digest = await putManifest(repo, tag, ociManifest, manifest);
  return { digest, manifestSize: Buffer.byteLength(JSON.stringify(manifest)) };
}

interface ProjectJson {
  project_id: number;
  name: string;
  owner_name: string;
  repo_count: number;
  metadata: { public: string };
  creation_time: string;
  storage_limit: number;
}

interface ArtifactJson {
  id: number;
  type: string;
  media_type: string;
  manifest_media_type: string;
  project_id: number;
  repository_id: number;
  repository_name: string;
  digest: string;
  size: number;
  push_time: string;
  pull_time: string;
  tags: Array<{ id: number; name: string; artifact_id: number; repository_id: number; immutable: boolean; push_time: string; pull_time: string }> | null;
  references: Array<{ parent_id: number; child_id: number; child_digest: string; platform: { architecture: string; os: string } | null }>;
  extra_attrs: Record<string, unknown>;
  annotations: Record<string, string> | null;
}

async function eventsOfType(type: string): Promise<Array<{ operator: string; project_id: number | null; data: string }>> {
  return tw.wharf.db.kysely.selectFrom('events').select(['operator', 'project_id', 'data']).where('type', '=', type).orderBy('seq').execute();
}

before(async () => {
  tw = await startWharf();
  const now = Date.now();
  await tw.wharf.db.kysely
    .insertInto('users')
    .values({ username: 'dev', password_hash: await Authenticator.hashPassword('DevPass123'), email: '', realname: '', comment: '', sysadmin: 0, disabled: 0, creation_time: now, update_time: now })
    .execute();
});

after(async () => {
  await tw.close();
});

describe('system', () => {
  test('ping answers Pong as text', async () => {
    const r = await api('/ping', { auth: null });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await r.text(), 'Pong');
  });

  test('systeminfo: version, urls, auth mode, notification_enable from configurations', async () => {
    const r = await api('/systeminfo', { auth: null });
    assert.equal(r.status, 200);
    const info = await json<Record<string, unknown>>(r);
    assert.match(String(info.wharf_version), /^v\d+\.\d+\.\d+/);
    assert.equal(info.external_url, tw.url);
    assert.equal(info.registry_url, tw.host);
    assert.equal(info.auth_mode, 'db_auth');
    assert.equal(info.notification_enable, true);
    await tw.wharf.db.kysely.insertInto('configurations').values({ key: 'notification_enable', value: 'false' }).execute();
    try {
      const off = await json<Record<string, unknown>>(await api('/systeminfo'));
      assert.equal(off.notification_enable, false);
    } finally {
      await tw.wharf.db.kysely.deleteFrom('configurations').where('key', '=', 'notification_enable').execute();
    }
    // The same switch through Harbor's configurations API.
    const put = await api('/configurations', { method: 'PUT', body: JSON.stringify({ notification_enable: false }) });
    assert.equal(put.status, 200, await put.clone().text());
    assert.equal((await json<Record<string, unknown>>(await api('/systeminfo'))).notification_enable, false);
    assert.equal((await api('/configurations', { method: 'PUT', body: JSON.stringify({ notification_enable: true }) })).status, 200);
    assert.equal((await json<Record<string, unknown>>(await api('/systeminfo'))).notification_enable, true);
  });

  test('health reports database and storage', async () => {
    const r = await api('/health', { auth: null });
    assert.equal(r.status, 200);
    const h = await json<{ status: string; components: Array<{ name: string; status: string }> }>(r);
    assert.equal(h.status, 'healthy');
    assert.deepEqual(h.components.map((c) => [c.name, c.status]).sort(), [
      ['database', 'healthy'],
      ['storage', 'healthy'],
    ]);
  });

  test('unknown paths and bad credentials get Harbor errors', async () => {
    await assertError(await api('/no-such-thing'), 404, 'NOT_FOUND');
    const r = await api('/projects', { auth: 'Basic ' + Buffer.from('admin:wrong-password').toString('base64') });
    assert.equal(r.headers.get('www-authenticate'), 'Basic realm="wharf"');
    await assertError(r, 401, 'UNAUTHORIZED');
  });
});

describe('projects', () => {
  test('library exists at first start and is public', async () => {
    const r = await api('/projects/library', { auth: null });
    assert.equal(r.status, 200);
    const p = await json<ProjectJson>(r);
    assert.equal(p.name, 'library');
    assert.equal(p.metadata.public, 'true');
    assert.equal(p.owner_name, 'admin');
    assert.ok(!Number.isNaN(Date.parse(p.creation_time)));
  });

  test('create: 201 with Location, CREATE_PROJECT in the same change, 409 on duplicate', async () => {
    const r = await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'team-a', metadata: { public: 'false' }, storage_limit: 1048576 }) });
    assert.equal(r.status, 201, await r.clone().text());
    const location = r.headers.get('location') ?? '';
    assert.match(location, /^\/api\/v2\.0\/projects\/\d+$/);
    const id = Number(location.split('/').pop());
    const p = await json<ProjectJson>(await api(`/projects/${id}`));
    assert.equal(p.name, 'team-a');
    assert.equal(p.metadata.public, 'false');
    assert.equal(p.storage_limit, 1048576);
    assert.equal(p.repo_count, 0);

    const created = (await eventsOfType('CREATE_PROJECT')).filter((e) => e.project_id === id);
    assert.equal(created.length, 1);
    assert.equal(created[0]?.operator, 'admin');
    const data = JSON.parse(created[0]?.data ?? '{}') as { project: { name: string; public: boolean } };
    assert.deepEqual(data.project, { id, name: 'team-a', public: false });

    const msg = await assertError(await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'team-a' }) }), 409, 'CONFLICT');
    assert.match(msg, /team-a/);
  });

  test('create: bad input is a 400 in Harbor format', async () => {
    await assertError(await api('/projects', { method: 'POST', body: '{"project_name":' }), 400, 'BAD_REQUEST');
    await assertError(await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'Bad Name' }) }), 400, 'BAD_REQUEST');
    await assertError(await api('/projects', { method: 'POST', body: JSON.stringify({}) }), 400, 'BAD_REQUEST');
    await assertError(await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'okname', metadata: { public: 'maybe' } }) }), 400, 'BAD_REQUEST');
    await assertError(await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'okname', storage_limit: 0 }) }), 400, 'BAD_REQUEST');
    await assertError(await api('/projects', { method: 'POST', body: '[1,2]' }), 400, 'BAD_REQUEST');
    await assertError(await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'okname', registry_id: 1 }) }), 400, 'BAD_REQUEST');
    assert.equal((await api('/projects?project_name=okname', { method: 'HEAD' })).status, 404);
  });

  test('create: anonymous 401 with a challenge, a non-admin 403 only under project_creation_restriction adminonly', async () => {
    const anon = await api('/projects', { method: 'POST', auth: null, body: JSON.stringify({ project_name: 'nope' }) });
    assert.equal(anon.headers.get('www-authenticate'), 'Basic realm="wharf"');
    await assertError(anon, 401, 'UNAUTHORIZED');
    assert.equal((await api('/configurations', { method: 'PUT', body: JSON.stringify({ project_creation_restriction: 'adminonly' }) })).status, 200);
    try {
      await assertError(await api('/projects', { method: 'POST', auth: userAuth, body: JSON.stringify({ project_name: 'nope' }) }), 403, 'FORBIDDEN');
    } finally {
      assert.equal((await api('/configurations', { method: 'PUT', body: JSON.stringify({ project_creation_restriction: 'everyone' }) })).status, 200);
    }
  });

  test('HEAD /projects?project_name= tells whether a project exists', async () => {
    assert.equal((await api('/projects?project_name=library', { method: 'HEAD', auth: null })).status, 200);
    assert.equal((await api('/projects?project_name=absent', { method: 'HEAD', auth: null })).status, 404);
    assert.equal((await api('/projects', { method: 'HEAD' })).status, 400);
  });

  test('list: paging headers and Link as Harbor builds them, q and name filters', async () => {
    for (const n of ['page-1', 'page-2', 'page-3', 'page-4', 'page-5']) {
      assert.equal((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: n, metadata: { public: 'true' } }) })).status, 201);
    }
    const r = await api('/projects?q=name%3D~page-&page=2&page_size=2');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-total-count'), '5');
    assert.equal(
      r.headers.get('link'),
      '</api/v2.0/projects?page=1&page_size=2&q=name=~page->; rel="prev" , </api/v2.0/projects?page=3&page_size=2&q=name=~page->; rel="next"',
    );
    assert.deepEqual((await json<ProjectJson[]>(r)).map((p) => p.name), ['page-3', 'page-4']);

    const last = await api('/projects?q=name%3D~page-&page=3&page_size=2');
    assert.equal(last.headers.get('link'), '</api/v2.0/projects?page=2&page_size=2&q=name=~page->; rel="prev"');
    assert.deepEqual((await json<ProjectJson[]>(last)).map((p) => p.name), ['page-5']);

    const exact = await json<ProjectJson[]>(await api('/projects?q=name%3Dpage-1'));
    assert.deepEqual(exact.map((p) => p.name), ['page-1']);
    const byName = await api('/projects?name=age-');
    assert.equal(byName.headers.get('x-total-count'), '5');
    assert.equal(byName.headers.get('link'), null);

    const privateOnly = await json<ProjectJson[]>(await api('/projects?public=false'));
    assert.ok(privateOnly.length >= 1);
    assert.ok(privateOnly.every((p) => p.metadata.public === 'false'));
    const viaQ = await json<ProjectJson[]>(await api('/projects?q=public%3Dtrue&page_size=100'));
    assert.ok(viaQ.every((p) => p.metadata.public === 'true'));
    assert.ok(viaQ.some((p) => p.name === 'library'));

    const desc = await json<ProjectJson[]>(await api('/projects?q=name%3D~page-&sort=-name&page_size=2'));
    assert.deepEqual(desc.map((p) => p.name), ['page-5', 'page-4']);
    const newest = await json<ProjectJson[]>(await api('/projects?q=name%3D~page-&sort=-creation_time,-project_id&page_size=1'));
    assert.deepEqual(newest.map((p) => p.name), ['page-5']);
    // As Harbor: fields a list cannot sort by and keys it cannot filter by are ignored.
    const unknownSort = await api('/projects?q=name%3D~page-&sort=owner&page_size=2');
    assert.equal(unknownSort.status, 200);
    assert.deepEqual((await json<ProjectJson[]>(unknownSort)).map((p) => p.name), ['page-1', 'page-2'], 'the default order (name)');
    const unknownKey = await api('/projects?q=owner%3Dadmin,name%3D~page-');
    assert.equal(unknownKey.headers.get('x-total-count'), '5');

    await assertError(await api('/projects?page_size=101'), 422, 'UNPROCESSABLE_ENTITY');
    await assertError(await api('/projects?page=x'), 422, 'UNPROCESSABLE_ENTITY');
    await assertError(await api('/projects?q=name'), 400, 'BAD_REQUEST');
    assert.deepEqual((await json<ProjectJson[]>(await api('/projects?q=name%3D~page-&page=0&page_size=1'))).map((p) => p.name), ['page-1'], 'page 0 is the first');
  });

  test('anonymous and non-admin callers see public projects only; private ones are 401/403', async () => {
    const anon = await api('/projects?page_size=100', { auth: null });
    const names = (await json<ProjectJson[]>(anon)).map((p) => p.name);
    assert.ok(names.includes('library'));
    assert.ok(!names.includes('team-a'));
    assert.equal(anon.headers.get('x-total-count'), String(names.length));
    const admin = (await json<ProjectJson[]>(await api('/projects?page_size=100'))).map((p) => p.name);
    assert.ok(admin.includes('team-a'));

    await assertError(await api('/projects/team-a', { auth: null }), 401, 'UNAUTHORIZED');
    await assertError(await api('/projects/team-a', { auth: userAuth }), 403, 'FORBIDDEN');
    await assertError(await api('/projects/absent'), 404, 'NOT_FOUND');
  });

  test('X-Is-Resource-Name: a numeric name is an id unless the header says it is a name', async () => {
    assert.equal((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: '9999', metadata: { public: 'true' } }) })).status, 201);
    await assertError(await api('/projects/9999'), 404, 'NOT_FOUND');
    const r = await api('/projects/9999', { headers: { 'x-is-resource-name': 'true' } });
    assert.equal(r.status, 200);
    const p = await json<ProjectJson>(r);
    assert.equal(p.name, '9999');
    const byId = await json<ProjectJson>(await api(`/projects/${p.project_id}`));
    assert.equal(byId.name, '9999');
  });

  test('update: metadata.public and storage_limit; anonymous 401, non-admin 403', async () => {
    assert.equal((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'toggle' }) })).status, 201);
    await assertError(await api('/projects/toggle', { auth: null }), 401, 'UNAUTHORIZED');
    const put = await api('/projects/toggle', { method: 'PUT', body: JSON.stringify({ metadata: { public: 'true' }, storage_limit: 2048 }) });
    assert.equal(put.status, 200);
    const p = await json<ProjectJson>(await api('/projects/toggle', { auth: null }));
    assert.equal(p.metadata.public, 'true');
    assert.equal(p.storage_limit, 2048);
    await assertError(await api('/projects/toggle', { method: 'PUT', auth: null, body: '{}' }), 401, 'UNAUTHORIZED');
    await assertError(await api('/projects/toggle', { method: 'PUT', auth: userAuth, body: '{}' }), 403, 'FORBIDDEN');
    await assertError(await api('/projects/toggle', { method: 'PUT', body: JSON.stringify({ metadata: { public: 'yes please' } }) }), 400, 'BAD_REQUEST');
    await assertError(await api('/projects/absent', { method: 'PUT', body: '{}' }), 404, 'NOT_FOUND');
  });

  test('delete an empty project: 200 and DELETE_PROJECT; then 404', async () => {
    assert.equal((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'short-lived' }) })).status, 201);
    const p = await json<ProjectJson>(await api('/projects/short-lived'));
    await assertError(await api('/projects/short-lived', { method: 'DELETE', auth: userAuth }), 403, 'FORBIDDEN');
    const r = await api('/projects/short-lived', { method: 'DELETE' });
    assert.equal(r.status, 200);
    await assertError(await api('/projects/short-lived'), 404, 'NOT_FOUND');
    const deleted = (await eventsOfType('DELETE_PROJECT')).filter((e) => e.project_id === p.project_id);
    assert.equal(deleted.length, 1);
    assert.equal(deleted[0]?.operator, 'admin');
    await assertError(await api('/projects/short-lived', { method: 'DELETE' }), 404, 'NOT_FOUND');
  });
});

describe('repositories, artifacts and tags (images pushed through /v2)', () => {
  let alpine: { digest: string; manifestSize: number };
  let nested: { digest: string; manifestSize: number };
  let index: { digest: string; children: string[] };

  before(async () => {
    alpine = await pushImage('library/alpine', 'latest');
    nested = await pushImage('library/a/b', 'v1');
    const arm = await pushImage('library/multi', 'arm-only', 'arm64');
    const amd = await pushImage('library/multi', 'amd-tmp', 'amd64');
    // amd64 stays an untagged child of the index; arm64 keeps its tag.
    const del = await fetch(`${tw.url}/v2/library/multi/manifests/amd-tmp`, { method: 'DELETE', headers: { authorization: adminAuth } });
    assert.ok(del.status === 202 || del.status === 400 || del.status === 405, `tag delete via /v2: ${del.status}`);
    const indexDigest = await putManifest('library/multi', 'multi', ociIndex, {
      schemaVersion: 2,
      mediaType: ociIndex,
      manifests: [
        { mediaType: ociManifest, digest: amd.digest, size: amd.manifestSize, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: ociManifest, digest: arm.digest, size: arm.manifestSize, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      ],
    });
    index = { digest: indexDigest, children: [amd.digest, arm.digest] };
    assert.equal((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'secret' }) })).status, 201);
    await pushImage('secret/app', 'v1');
  });

  test('repositories list: names, counts, paging, q', async () => {
    const r = await api('/projects/library/repositories?page_size=2');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-total-count'), '3');
    assert.equal(r.headers.get('link'), '</api/v2.0/projects/library/repositories?page=2&page_size=2>; rel="next"');
    const repos = await json<Array<{ name: string; artifact_count: number; pull_count: number; project_id: number; creation_time: string; update_time: string }>>(r);
    assert.deepEqual(repos.map((x) => x.name), ['library/a/b', 'library/alpine']);
    assert.equal(repos[1]?.artifact_count, 1);
    assert.equal(typeof repos[1]?.pull_count, 'number');
    assert.ok(!Number.isNaN(Date.parse(repos[1]?.creation_time ?? '')));
    const desc = await json<Array<{ name: string }>>(await api('/projects/library/repositories?sort=-name'));
    assert.deepEqual(desc.map((x) => x.name), ['library/multi', 'library/alpine', 'library/a/b']);
    assert.equal((await api('/projects/library/repositories?sort=size')).status, 200, 'an unknown sort field is ignored');
    const q = await json<Array<{ name: string }>>(await api('/projects/library/repositories?q=name%3D~alp'));
    assert.deepEqual(q.map((x) => x.name), ['library/alpine']);
    const everywhere = await api('/repositories?page_size=100');
    assert.equal(everywhere.headers.get('x-total-count'), '4');
    assert.deepEqual((await json<Array<{ name: string }>>(everywhere)).map((x) => x.name), ['library/a/b', 'library/alpine', 'library/multi', 'secret/app']);
    const anonEverywhere = await api('/repositories?page_size=100', { auth: null });
    assert.equal(anonEverywhere.headers.get('x-total-count'), '3');
    assert.deepEqual((await json<Array<{ name: string }>>(anonEverywhere)).map((x) => x.name), ['library/a/b', 'library/alpine', 'library/multi'], 'the private project stays hidden');
    const appOnly = await json<Array<{ name: string }>>(await api('/repositories?q=name%3D~app'));
    assert.deepEqual(appOnly.map((x) => x.name), ['secret/app']);
    assert.deepEqual(await json(await api('/repositories?q=name%3D~app', { auth: null })), []);

    const anonSecret = await api('/projects/secret/repositories', { auth: null });
    await assertError(anonSecret, 401, 'UNAUTHORIZED');
    await assertError(await api('/projects/secret/repositories', { auth: userAuth }), 403, 'FORBIDDEN');
    assert.equal((await api('/projects/secret/repositories')).status, 200);
  });

  test('repository names with slashes: a%252Fb (Harbor) and a%2Fb', async () => {
    const r = await api('/projects/library/repositories/a%252Fb', { auth: null });
    assert.equal(r.status, 200);
    assert.equal((await json<{ name: string }>(r)).name, 'library/a/b');
    assert.equal((await api('/projects/library/repositories/a%2Fb')).status, 200);
    await assertError(await api('/projects/library/repositories/nope'), 404, 'NOT_FOUND');
    const arts = await json<ArtifactJson[]>(await api('/projects/library/repositories/a%252Fb/artifacts'));
    assert.equal(arts.length, 1);
    assert.equal(arts[0]?.digest, nested.digest);
    assert.equal(arts[0]?.repository_name, 'library/a/b');
  });

  test('artifact fields as Harbor names them', async () => {
    const r = await api('/projects/library/repositories/alpine/artifacts', { auth: null });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-total-count'), '1');
    const [a] = await json<ArtifactJson[]>(r);
    assert.ok(a);
    assert.equal(a.type, 'IMAGE');
    assert.equal(a.media_type, ociConfig);
    assert.equal(a.manifest_media_type, ociManifest);
    assert.equal(a.digest, alpine.digest);
    assert.equal(a.repository_name, 'library/alpine');
    assert.ok(a.size > alpine.manifestSize, 'size includes the referenced blobs');
    assert.ok(!Number.isNaN(Date.parse(a.push_time)));
    assert.equal(typeof a.pull_time, 'string');
    assert.equal(a.extra_attrs.architecture, 'amd64');
    assert.equal(a.extra_attrs.os, 'linux');
    assert.equal(a.extra_attrs.author, 'wharf-tests');
    assert.deepEqual(a.annotations, { 'org.opencontainers.image.title': 'library/alpine-amd64' });
    assert.deepEqual(a.references, []);
    assert.equal(a.tags?.length, 1);
    const t = a.tags?.[0];
    assert.equal(t?.name, 'latest');
    assert.equal(t?.artifact_id, a.id);
    assert.equal(t?.repository_id, a.repository_id);
    assert.equal(t?.immutable, false);

    const noTags = await json<ArtifactJson[]>(await api('/projects/library/repositories/alpine/artifacts?with_tag=false'));
    assert.equal(noTags[0]?.tags, undefined, 'left out, not null: the swagger types tags as an array');

    // Never pulled: Go's zero time, as Harbor shows it; a pull through /v2 sets pull_time and pull_count.
    assert.equal(a.pull_time, '0001-01-01T00:00:00.000Z');
    const pull = await fetch(`${tw.url}/v2/library/alpine/manifests/latest`, { headers: { accept: ociManifest } });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();
    const pulled = await json<ArtifactJson>(await api('/projects/library/repositories/alpine/artifacts/latest'));
    assert.ok(Date.parse(pulled.pull_time) > Date.parse('2000-01-01T00:00:00Z'), pulled.pull_time);
    const repo = await json<{ pull_count: number }>(await api('/projects/library/repositories/alpine'));
    assert.equal(repo.pull_count, 1);
  });

  test('get an artifact by tag and by digest', async () => {
    const byTag = await json<ArtifactJson>(await api('/projects/library/repositories/alpine/artifacts/latest'));
    assert.equal(byTag.digest, alpine.digest);
    const byDigest = await json<ArtifactJson>(await api(`/projects/library/repositories/alpine/artifacts/${alpine.digest}`));
    assert.equal(byDigest.id, byTag.id);
    await assertError(await api('/projects/library/repositories/alpine/artifacts/nope'), 404, 'NOT_FOUND');
    await assertError(await api(`/projects/library/repositories/alpine/artifacts/sha256:${'0'.repeat(64)}`), 404, 'NOT_FOUND');
    await assertError(await api('/projects/library/repositories/alpine/artifacts/sha256:zz'), 400, 'BAD_REQUEST');
  });

  test('an index lists its children as references; untagged children are hidden unless base=*', async () => {
    const list = await json<ArtifactJson[]>(await api('/projects/library/repositories/multi/artifacts'));
    const digests = list.map((a) => a.digest);
    assert.ok(digests.includes(index.digest));
    assert.ok(!digests.includes(index.children[0] ?? ''), 'the untagged amd64 child is hidden');
    assert.ok(digests.includes(index.children[1] ?? ''), 'the tagged arm64 child is shown');
    const idx = list.find((a) => a.digest === index.digest);
    assert.equal(idx?.type, 'IMAGE');
    assert.equal(idx?.manifest_media_type, ociIndex);
    assert.deepEqual(
      idx?.references.map((r) => [r.child_digest, r.platform?.architecture, r.parent_id === idx.id, r.child_id > 0]),
      [
        [index.children[0], 'amd64', true, true],
        [index.children[1], 'arm64', true, true],
      ],
    );
    const all = await api('/projects/library/repositories/multi/artifacts?q=base%3D*');
    assert.equal(all.headers.get('x-total-count'), '3');
    const untagged = await json<ArtifactJson[]>(await api('/projects/library/repositories/multi/artifacts?q=base%3D*,tags%3Dnil'));
    assert.deepEqual(untagged.map((a) => a.digest), [index.children[0]]);
    const byTag = await json<ArtifactJson[]>(await api('/projects/library/repositories/multi/artifacts?q=tags%3D~arm'));
    assert.deepEqual(byTag.map((a) => a.digest), [index.children[1]]);
    const images = await api('/projects/library/repositories/multi/artifacts?q=type%3DIMAGE');
    assert.equal(images.headers.get('x-total-count'), '2');
    const plain = (await api('/projects/library/repositories/multi/artifacts')).headers.get('x-total-count');
    assert.equal((await api('/projects/library/repositories/multi/artifacts?q=colour%3D1')).headers.get('x-total-count'), plain, 'an unknown q key is ignored');
  });

  test('tags: list, create (201, 409), delete (200, 404)', async () => {
    const path = '/projects/library/repositories/alpine/artifacts/latest/tags';
    const created = await api(path, { method: 'POST', body: JSON.stringify({ name: 'stable' }) });
    assert.equal(created.status, 201, await created.clone().text());
    await assertError(await api(path, { method: 'POST', body: JSON.stringify({ name: 'stable' }) }), 409, 'CONFLICT');
    await assertError(await api(path, { method: 'POST', body: JSON.stringify({ name: '-bad' }) }), 400, 'BAD_REQUEST');
    await assertError(await api(path, { method: 'POST', auth: null, body: JSON.stringify({ name: 'x' }) }), 401, 'UNAUTHORIZED');
    await assertError(await api(path, { method: 'POST', auth: userAuth, body: JSON.stringify({ name: 'x' }) }), 403, 'FORBIDDEN');

    const list = await api(`${path}?page_size=1`);
    assert.equal(list.headers.get('x-total-count'), '2');
    assert.match(list.headers.get('link') ?? '', /rel="next"$/);
    const page = await json<Array<{ name: string; artifact_id: number }>>(list);
    assert.equal(page.length, 1);
    const byName = await json<Array<{ name: string }>>(await api(`${path}?sort=name`));
    assert.deepEqual(byName.map((t) => t.name), ['latest', 'stable']);
    const byNameDesc = await json<Array<{ name: string }>>(await api(`${path}?sort=-name`));
    assert.deepEqual(byNameDesc.map((t) => t.name), ['stable', 'latest']);
    const filtered = await json<Array<{ name: string }>>(await api(`${path}?q=name%3Dstable`));
    assert.deepEqual(filtered.map((t) => t.name), ['stable']);
    const viaDigest = await json<ArtifactJson>(await api(`/projects/library/repositories/alpine/artifacts/stable`));
    assert.equal(viaDigest.digest, alpine.digest);

    assert.equal((await api(`${path}/stable`, { method: 'DELETE' })).status, 200);
    await assertError(await api(`${path}/stable`, { method: 'DELETE' }), 404, 'NOT_FOUND');
    const after = await json<Array<{ name: string }>>(await api(path));
    assert.deepEqual(after.map((t) => t.name), ['latest']);
  });

  test('a project with repositories cannot be deleted: 412', async () => {
    const msg = await assertError(await api('/projects/secret', { method: 'DELETE' }), 412, 'PRECONDITION');
    assert.match(msg, /repositor/);
  });

  test('delete an artifact, then a repository', async () => {
    const nestedPath = '/projects/library/repositories/a%252Fb';
    await assertError(await api(`${nestedPath}/artifacts/v1`, { method: 'DELETE', auth: userAuth }), 403, 'FORBIDDEN');
    assert.equal((await api(`${nestedPath}/artifacts/${nested.digest}`, { method: 'DELETE' })).status, 200);
    await assertError(await api(`${nestedPath}/artifacts/${nested.digest}`), 404, 'NOT_FOUND');

    await assertError(await api('/projects/secret/repositories/app', { method: 'DELETE', auth: null }), 401, 'UNAUTHORIZED');
    assert.equal((await api('/projects/secret/repositories/app', { method: 'DELETE' })).status, 200);
    await assertError(await api('/projects/secret/repositories/app'), 404, 'NOT_FOUND');
    assert.equal((await api('/projects/secret', { method: 'DELETE' })).status, 200);
  });
});

describe('garbage collection', () => {
  test('admin only; Manual runs, listed with their report', async () => {
    const body = JSON.stringify({ schedule: { type: 'Manual' } });
    await assertError(await api('/system/gc/schedule', { method: 'POST', auth: null, body }), 401, 'UNAUTHORIZED');
    await assertError(await api('/system/gc/schedule', { method: 'POST', auth: userAuth, body }), 403, 'FORBIDDEN');
    await assertError(await api('/system/gc/schedule', { method: 'POST', body: JSON.stringify({ schedule: { type: 'Sometimes' } }) }), 400, 'BAD_REQUEST');
    await assertError(await api('/system/gc', { auth: userAuth }), 403, 'FORBIDDEN');

    const r = await api('/system/gc/schedule', { method: 'POST', body });
    assert.equal(r.status, 201);
    const location = r.headers.get('location') ?? '';
    assert.match(location, /^\/api\/v2\.0\/system\/gc\/\d+$/);
    let run: { id: number; job_status: string; job_kind: string; report: { blobs_deleted: number } | null; error: string | null } | undefined;
    for (let i = 0; i < 100; i++) {
      const list = await api('/system/gc');
      assert.equal(list.headers.get('x-total-count'), '1');
      run = (await json<NonNullable<typeof run>[]>(list))[0];
      if (run?.job_status !== 'Running') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(run?.job_status, 'Success', `gc error: ${run?.error}`);
    assert.equal(run?.job_kind, 'MANUAL');
    assert.equal(typeof run?.report?.blobs_deleted, 'number');
    const one = await api(location.replace('/api/v2.0', ''));
    assert.equal(one.status, 200);
    const log = await api(`${location.replace('/api/v2.0', '')}/log`);
    assert.match(await log.text(), /Success/);
    await assertError(await api('/system/gc/999'), 404, 'NOT_FOUND');
  });
});

describe('first start', () => {
  test('library is created once: a restart on the same data keeps one project and one CREATE_PROJECT', async () => {
    const first = await startWharf();
    const dataDir = first.dataDir;
    await first.close({ keepData: true });
    const second = await startWharf({ dataDir });
    try {
      const db = second.wharf.db.kysely;
      const projects = await db.selectFrom('projects').select('id').where('name', '=', 'library').execute();
      assert.equal(projects.length, 1);
      const events = await db.selectFrom('events').select(['data', 'operator']).where('type', '=', 'CREATE_PROJECT').execute();
      assert.equal(events.filter((e) => (JSON.parse(e.data) as { project: { name: string } }).project.name === 'library').length, 1);
      assert.equal(events[0]?.operator, 'wharf-system');
    } finally {
      await second.close();
    }
  });
});

describe('failures', () => {
  test('an unexpected error is a 500 UNKNOWN naming the request id; health turns unhealthy', async () => {
    const broken = await startWharf();
    try {
      await broken.wharf.db.close();
      const r = await fetch(`${broken.url}/api/v2.0/projects`, { headers: { authorization: adminAuth, 'x-request-id': 'req-harbor-500' } });
      assert.equal(r.headers.get('x-request-id'), 'req-harbor-500');
      const msg = await assertError(r, 500, 'UNKNOWN');
      assert.match(msg, /req-harbor-500/);
      const h = await fetch(`${broken.url}/api/v2.0/health`);
      assert.equal(h.status, 200);
      const health = (await h.json()) as { status: string; components: Array<{ name: string; status: string; error?: string }> };
      assert.equal(health.status, 'unhealthy');
      const db = health.components.find((c) => c.name === 'database');
      assert.equal(db?.status, 'unhealthy');
      assert.ok((db?.error ?? '').length > 0);
    } finally {
      // close() fails on the already closed database; remove the data folder ourselves then.
      await broken.close().catch(() => rmSync(broken.dataDir, { recursive: true, force: true }));
    }
  });
});
