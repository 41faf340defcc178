/**
 * End-to-end: a role held only through a user group (issue 15), with the real skopeo through the
 * Docker token flow. A user whose one link to a private project is a group that is its developer
 * pushes and pulls, cannot delete; once removed from the group, the next push is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth } from '../helpers/wharf.ts';
import { useE2eWharf } from '../helpers/e2e.ts';
import { describeRun, skopeo, skopeoOk } from '../helpers/skopeo.ts';
import { writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { api } from '../helpers/webhook-client.ts';

const timeout = 180_000;
const password = 'GroupPassw0rd';
let groupId = 0;
let userId = 0;

const { skip, wharf, layout } = useE2eWharf(async (w) => {
  const ok = async (method: 'POST' | 'GET', path: string, body?: unknown) => {
    const r = await api(w.url, method, `/api/v2.0${path}`, { auth: adminAuth, ...(body === undefined ? {} : { body }) });
    assert.ok(r.status === 200 || r.status === 201, `${method} ${path}: ${r.status} ${r.text}`);
    return r;
  };
  await ok('POST', '/projects', { project_name: 'grouped', metadata: { public: 'false' } });
  await ok('POST', '/users', { username: 'member', password, email: 'member@example.com', realname: 'm' });
  const users = (await ok('GET', '/users?username=member')).json as Array<{ user_id: number; username: string }>;
  userId = users.find((u) => u.username === 'member')?.user_id ?? 0;
  const g = await ok('POST', '/usergroups', { group_name: 'builders', group_type: 2 });
  groupId = Number(String(g.headers.location).split('/').pop());
  await ok('POST', '/projects/grouped/members', { role_id: 2, member_group: { id: groupId } });
  await ok('POST', `/usergroups/${groupId}/members`, { user_id: userId });
});

const remote = (repo: string, tag: string) => `docker://${wharf().host}/${repo}:${tag}`;
const creds = `member:${password}`;

test('e2e: a developer through a group pushes and pulls with skopeo, cannot delete, and loses it with the group', { skip, timeout }, async () => {
  const w = wharf();
  const src = layout();
  await writeSingleLayerImage(src, 'v1');
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', creds, src.ref('v1'), remote('grouped/app', 'v1')]);
  await skopeoOk(['inspect', '--tls-verify=false', '--creds', creds, remote('grouped/app', 'v1')]);
  const del = await skopeo(['delete', '--tls-verify=false', '--creds', creds, remote('grouped/app', 'v1')]);
  assert.notEqual(del.code, 0, describeRun(del));
  const tags = await api(w.url, 'GET', '/v2/grouped/app/tags/list', { auth: adminAuth });
  assert.deepEqual((tags.json as { tags: string[] }).tags, ['v1']);

  const out = await api(w.url, 'DELETE', `/api/v2.0/usergroups/${groupId}/members/${userId}`, { auth: adminAuth });
  assert.equal(out.status, 200, out.text);
  await writeSingleLayerImage(src, 'v2');
  const push = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', creds, src.ref('v2'), remote('grouped/app', 'v2')]);
  assert.notEqual(push.code, 0, describeRun(push));
  assert.match(push.stderr, /denied|unauthorized|forbidden|403|401/i, describeRun(push));
  const pull = await skopeo(['inspect', '--tls-verify=false', '--creds', creds, remote('grouped/app', 'v1')]);
  assert.notEqual(pull.code, 0, describeRun(pull));
});
