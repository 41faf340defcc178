/**
 * Harbor's discovery operations over real HTTP: `/search` (what each caller may see, Harbor's case
 * rules, q required), `/statistics` (the admin's totals, a member's own counts), `/systeminfo/volumes`
 * (admin only) and `/icons/{digest}` (an artifact's icon layer, and 404 where Harbor has none).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { pushBlob, pushSmallImage, putManifest, smallImage } from '../helpers/webhook-client.ts';

let tw: TestWharf;
const danaAuth = 'Basic ' + Buffer.from('dana:Passw0rdX').toString('base64');
const eveAuth = 'Basic ' + Buffer.from('eve:Passw0rdX').toString('base64');

async function call(method: string, path: string, auth: string | null, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${tw.url}/api/v2.0${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, json, text };
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A 1x1 PNG. */
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** Pushes an image whose second layer is annotated as Harbor's icon; returns the icon layer's digest. */
async function pushWithIcon(repo: string, tag: string, icon: Buffer): Promise<string> {
  const img = smallImage(`${repo}-${tag}`);
  await pushBlob(tw.url, repo, img.layer, adminAuth);
  await pushBlob(tw.url, repo, img.config, adminAuth);
  await pushBlob(tw.url, repo, icon, adminAuth);
  const m = JSON.parse(img.manifest.toString('utf8')) as { layers: unknown[] };
  m.layers.push({ mediaType: 'image/png', digest: sha256(icon), size: icon.length, annotations: { 'io.goharbor.artifact.v1alpha1.icon': '' } });
  await putManifest(tw.url, repo, tag, Buffer.from(JSON.stringify(m)), { auth: adminAuth });
  return sha256(icon);
}

let iconDigest = '';
let notImageDigest = '';

before(async () => {
  tw = await startWharf();
  for (const [name, pub] of [['disc-pub', true], ['disc-priv', false], ['disc-other', false]] as const) {
    const r = await call('POST', '/projects', adminAuth, { project_name: name, metadata: { public: String(pub) } });
    assert.equal(r.status, 201, r.text);
  }
  for (const u of ['dana', 'eve']) {
    const r = await call('POST', '/users', adminAuth, { username: u, email: `${u}@example.com`, realname: u, password: 'Passw0rdX' });
    assert.equal(r.status, 201, r.text);
  }
  assert.equal((await call('POST', '/projects/disc-priv/members', adminAuth, { role_id: 2, member_user: { username: 'dana' } })).status, 201);
  await pushSmallImage(tw.url, 'disc-pub/alpha-app', smallImage('a1'), { tag: 'v1', auth: adminAuth });
  await pushSmallImage(tw.url, 'disc-pub/alpha-app', smallImage('a2'), { tag: 'v2', auth: adminAuth });
  await pushSmallImage(tw.url, 'disc-priv/alpha-svc', smallImage('s1'), { tag: 'v1', auth: adminAuth });
  await pushSmallImage(tw.url, 'disc-other/alpha-hidden', smallImage('h1'), { tag: 'v1', auth: adminAuth });
  iconDigest = await pushWithIcon('disc-priv/iconic', 'v1', png);
  notImageDigest = await pushWithIcon('disc-priv/iconic', 'bad', Buffer.from('not an image at all'));
});

after(async () => {
  await tw.close();
});

type Search = { project: Array<{ name: string; repo_count: number; current_user_role_id: number }>; repository: Array<Record<string, unknown>> };

async function search(q: string, auth: string | null): Promise<Search> {
  const r = await call('GET', `/search?q=${encodeURIComponent(q)}`, auth);
  assert.equal(r.status, 200, r.text);
  return r.json as Search;
}

describe('GET /search', () => {
  test('anonymous callers find public projects and their repositories only', async () => {
    const s = await search('alpha', null);
    assert.deepEqual(s.project, []);
    assert.deepEqual(
      s.repository.map((r) => r.repository_name),
      ['disc-pub/alpha-app'],
    );
    assert.deepEqual(s.repository[0], { project_id: s.repository[0]?.project_id, project_name: 'disc-pub', project_public: true, repository_name: 'disc-pub/alpha-app', pull_count: 0, artifact_count: 2 });
    assert.deepEqual((await search('disc', null)).project.map((p) => p.name), ['disc-pub']);
  });

  test('a member sees her private project; another user does not', async () => {
    const s = await search('disc', danaAuth);
    assert.deepEqual(s.project.map((p) => p.name).sort(), ['disc-priv', 'disc-pub']);
    const priv = s.project.find((p) => p.name === 'disc-priv');
    assert.equal(priv?.current_user_role_id, 2);
    assert.equal(priv?.repo_count, 2);
    assert.deepEqual((await search('alpha', danaAuth)).repository.map((r) => r.repository_name).sort(), ['disc-priv/alpha-svc', 'disc-pub/alpha-app']);
    assert.deepEqual((await search('alpha', eveAuth)).repository.map((r) => r.repository_name), ['disc-pub/alpha-app']);
  });

  test('the admin sees every project; repositories match in any case, projects by exact case', async () => {
    const s = await search('ALPHA', adminAuth);
    assert.deepEqual(s.repository.map((r) => r.repository_name).sort(), ['disc-other/alpha-hidden', 'disc-priv/alpha-svc', 'disc-pub/alpha-app']);
    assert.deepEqual((await search('DISC', adminAuth)).project, []);
    assert.deepEqual((await search('disc-', adminAuth)).project.map((p) => p.name).sort(), ['disc-other', 'disc-priv', 'disc-pub']);
  });

  test('q is required (422), empty too', async () => {
    for (const path of ['/search', '/search?q=']) {
      const r = await call('GET', path, adminAuth);
      assert.equal(r.status, 422, r.text);
      assert.deepEqual(r.json, { errors: [{ code: 'UNPROCESSABLE_ENTITY', message: 'validation failure list:\nq in query is required' }] });
    }
  });
});

describe('GET /statistics', () => {
  test('anonymous: 401', async () => {
    assert.equal((await call('GET', '/statistics', null)).status, 401);
  });

  test('the admin sees totals, private counts and storage', async () => {
    const r = await call('GET', '/statistics', adminAuth);
    assert.equal(r.status, 200, r.text);
    const s = r.json as Record<string, number>;
    // library (public, empty), disc-pub (1 repository), disc-priv (2), disc-other (1).
    assert.equal(s.total_project_count, 4);
    assert.equal(s.public_project_count, 2);
    assert.equal(s.private_project_count, 2);
    assert.equal(s.total_repo_count, 4);
    assert.equal(s.public_repo_count, 1);
    assert.equal(s.private_repo_count, 3);
    assert.ok((s.total_storage_consumption ?? 0) > png.length, JSON.stringify(s));
  });

  test('a member sees public counts and her own private ones, no totals', async () => {
    const r = await call('GET', '/statistics', danaAuth);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      private_project_count: 1,
      private_repo_count: 2,
      public_project_count: 2,
      public_repo_count: 1,
      total_project_count: 0,
      total_repo_count: 0,
      total_storage_consumption: 0,
    });
    const e = (await call('GET', '/statistics', eveAuth)).json as Record<string, number>;
    assert.equal(e.private_project_count, 0);
    assert.equal(e.private_repo_count, 0);
  });
});

describe('GET /systeminfo/volumes', () => {
  test('the admin reads the local disk', async () => {
    const r = await call('GET', '/systeminfo/volumes', adminAuth);
    assert.equal(r.status, 200, r.text);
    const v = r.json as { storage: Array<{ total: number; free: number }> };
    assert.equal(v.storage.length, 1);
    const [s] = v.storage;
    assert.ok(s && Number.isInteger(s.total) && s.total > 0 && s.free >= 0 && s.free <= s.total, JSON.stringify(v));
  });

  test('anonymous 401, a user 403', async () => {
    assert.equal((await call('GET', '/systeminfo/volumes', null)).status, 401);
    assert.equal((await call('GET', '/systeminfo/volumes', danaAuth)).status, 403);
  });
});

describe('GET /icons/{digest}', () => {
  test('an icon layer of an artifact: its bytes, base64, and the artifact names it', async () => {
    const r = await call('GET', `/icons/${iconDigest}`, danaAuth);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { 'content-type': 'image/png', content: png.toString('base64') });
    const a = await call('GET', '/projects/disc-priv/repositories/iconic/artifacts/v1', danaAuth);
    assert.equal((a.json as { icon: string }).icon, iconDigest);
    const plain = await call('GET', '/projects/disc-pub/repositories/alpha-app/artifacts/v1', danaAuth);
    assert.equal((plain.json as { icon: string }).icon, '');
  });

  test('404: a caller who cannot read the project, an unknown digest, a built-in Harbor icon, a layer that is no image', async () => {
    const notFound = async (digest: string, auth: string | null) => {
      const r = await call('GET', `/icons/${digest}`, auth);
      assert.equal(r.status, 404, `${digest}: ${r.text}`);
      assert.equal((r.json as { errors: Array<{ code: string }> }).errors[0]?.code, 'NOT_FOUND');
    };
    await notFound(iconDigest, null);
    await notFound(iconDigest, eveAuth);
    await notFound(`sha256:${'0'.repeat(64)}`, adminAuth);
    await notFound('sha256:0048162a053eef4d4ce3fe7518615bef084403614f8bca43b40ae2e762e11e06', adminAuth);
    await notFound('not-a-digest', adminAuth);
    await notFound(notImageDigest, adminAuth);
  });
});
