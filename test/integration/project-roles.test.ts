/**
 * `current_user_role_id` and `current_user_role_ids` on project views (Harbor's Project): the
 * caller's role in the project, on the list and on a single project; 0 and null for a caller who
 * is not a member (the system admin included, as in Harbor).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { api, explain } from '../helpers/webhook-client.ts';

let w: TestWharf;
const password = 'Passw0rdRoles1';
const dev = 'Basic ' + Buffer.from(`role-dev:${password}`).toString('base64');

before(async () => {
  w = await startWharf();
  const u = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username: 'role-dev', password, email: 'role-dev@example.com', realname: 'd' } });
  assert.equal(u.status, 201, explain('POST', '/users', u));
  const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'roles', metadata: { public: 'false' } } });
  assert.equal(p.status, 201, explain('POST', '/projects', p));
  const m = await api(w.url, 'POST', '/api/v2.0/projects/roles/members', { auth: adminAuth, body: { role_id: 2, member_user: { username: 'role-dev' } } });
  assert.equal(m.status, 201, explain('POST', '/members', m));
});

after(async () => {
  await w?.close();
});

type View = { name: string; current_user_role_id: number; current_user_role_ids: number[] | null };

test('a member sees its role on the project list and on the project', async () => {
  const list = await api(w.url, 'GET', '/api/v2.0/projects?name=roles', { auth: dev });
  const mine = (list.json as View[]).find((p) => p.name === 'roles');
  assert.deepEqual(mine && { id: mine.current_user_role_id, ids: mine.current_user_role_ids }, { id: 2, ids: [2] });
  const one = (await api(w.url, 'GET', '/api/v2.0/projects/roles', { auth: dev })).json as View;
  assert.equal(one.current_user_role_id, 2);
  assert.deepEqual(one.current_user_role_ids, [2]);
});

test('a caller who is not a member sees 0 and null', async () => {
  const one = (await api(w.url, 'GET', '/api/v2.0/projects/roles', { auth: adminAuth })).json as View;
  assert.equal(one.current_user_role_id, 0);
  assert.equal(one.current_user_role_ids, null);
});
