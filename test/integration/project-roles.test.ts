/**
 * `current_user_role_id` and `current_user_role_ids` on project views (Harbor's Project): the
 * caller's role in the project, on the list and on a single project; 0 and [] for a caller who
 * is not a member (the system admin included, as in Harbor). The project's creator (here the
 * admin) is its project admin member.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { api, explain } from '../helpers/webhook-client.ts';

let w: TestWharf;
const password = 'Passw0rdRoles1';
const dev = 'Basic ' + Buffer.from(`role-dev:${password}`).toString('base64');
const outsider = 'Basic ' + Buffer.from(`role-out:${password}`).toString('base64');

before(async () => {
  w = await startWharf();
  const u = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username: 'role-dev', password, email: 'role-dev@example.com', realname: 'd' } });
  assert.equal(u.status, 201, explain('POST', '/users', u));
  const o = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username: 'role-out', password, email: 'role-out@example.com', realname: 'o' } });
  assert.equal(o.status, 201, explain('POST', '/users', o));
  const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'roles', metadata: { public: 'false' } } });
  assert.equal(p.status, 201, explain('POST', '/projects', p));
  const m = await api(w.url, 'POST', '/api/v2.0/projects/roles/members', { auth: adminAuth, body: { role_id: 2, member_user: { username: 'role-dev' } } });
  assert.equal(m.status, 201, explain('POST', '/members', m));
});

after(async () => {
  await w?.close();
});

type View = { name: string; current_user_role_id: number; current_user_role_ids: number[] };

test('a member sees its role on the project list and on the project', async () => {
  const list = await api(w.url, 'GET', '/api/v2.0/projects?name=roles', { auth: dev });
  const mine = (list.json as View[]).find((p) => p.name === 'roles');
  assert.deepEqual(mine && { id: mine.current_user_role_id, ids: mine.current_user_role_ids }, { id: 2, ids: [2] });
  const one = (await api(w.url, 'GET', '/api/v2.0/projects/roles', { auth: dev })).json as View;
  assert.equal(one.current_user_role_id, 2);
  assert.deepEqual(one.current_user_role_ids, [2]);
});

test('a caller who is not a member sees 0 and no role ids; the creator is project admin', async () => {
  const pub = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'roles-public', metadata: { public: 'true' } } });
  assert.equal(pub.status, 201, explain('POST', '/projects', pub));
  const one = (await api(w.url, 'GET', '/api/v2.0/projects/roles-public', { auth: outsider })).json as View;
  assert.equal(one.current_user_role_id, 0);
  assert.deepEqual(one.current_user_role_ids, []);
  const creator = (await api(w.url, 'GET', '/api/v2.0/projects/roles', { auth: adminAuth })).json as View;
  assert.equal(creator.current_user_role_id, 1);
  assert.deepEqual(creator.current_user_role_ids, [1]);
});

type Summary = Record<string, unknown> & { repo_count: number; quota?: { hard: { storage: number }; used: { storage: number } } };

test('GET /projects/{p}/summary: repositories, members per role, the storage quota; readers only', async () => {
  const before = (await api(w.url, 'GET', '/api/v2.0/projects/roles/summary', { auth: dev })).json as Summary;
  // The creator (admin) and role-dev (a developer) are the members; roles without members are left out.
  assert.deepEqual(before, { repo_count: 0, project_admin_count: 1, developer_count: 1, quota: { hard: { storage: -1 }, used: { storage: 0 } } });
  const limit = await api(w.url, 'PUT', '/api/v2.0/projects/roles', { auth: adminAuth, body: { storage_limit: 1048576 } });
  assert.equal(limit.status, 200, explain('PUT', '/projects/roles', limit));
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(config).digest('hex')}`;
  const up = await fetch(`${w.url}/v2/roles/app/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: { authorization: adminAuth, 'content-type': 'application/octet-stream' }, body: config });
  assert.equal(up.status, 201);
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: config.length }, layers: [] });
  const put = await fetch(`${w.url}/v2/roles/app/manifests/v1`, { method: 'PUT', headers: { authorization: adminAuth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  assert.equal(put.status, 201);
  const after = (await api(w.url, 'GET', '/api/v2.0/projects/roles/summary', { auth: dev })).json as Summary;
  assert.equal(after.repo_count, 1);
  assert.equal(after.quota?.hard.storage, 1048576);
  assert.equal(after.quota?.used.storage, config.length + Buffer.byteLength(manifest));
  const anonymous = await api(w.url, 'GET', '/api/v2.0/projects/roles/summary');
  assert.equal(anonymous.status, 401, explain('GET', '/summary', anonymous));
  const missing = await api(w.url, 'GET', '/api/v2.0/projects/nope/summary', { auth: adminAuth });
  assert.equal(missing.status, 404, explain('GET', '/summary', missing));
});
