/**
 * User groups (issue 15): Harbor's /usergroups, Wharf's local group members
 * (/usergroups/{id}/members), groups as project members (`member_group`, entity_type `g`), and the
 * roles users get through their groups — on /api/v2.0, /v2 and /service/token — which follow a
 * change from the next request on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';

let w: TestWharf;
const password = 'Passw0rdGroups1';
const basic = (u: string) => 'Basic ' + Buffer.from(`${u}:${password}`).toString('base64');
const alice = basic('grp-alice');
const bob = basic('grp-bob');

type Group = { id: number; group_name: string; group_type: number; ldap_group_dn?: string };
type Member = { id: number; project_id: number; entity_name: string; entity_id: number; entity_type: string; role_id: number; role_name: string };

async function ok(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, auth = adminAuth, status = method === 'POST' ? 201 : 200) {
  const r = await api(w.url, method, `/api/v2.0${path}`, { auth, ...(body === undefined ? {} : { body }) });
  assert.equal(r.status, status, explain(method, path, r));
  return r;
}

async function createGroup(name: string, type = 2, dn?: string): Promise<number> {
  const r = await ok('POST', '/usergroups', { group_name: name, group_type: type, ...(dn ? { ldap_group_dn: dn } : {}) });
  const loc = String(r.headers.location);
  assert.match(loc, /^\/api\/v2\.0\/usergroups\/[0-9]+$/);
  return Number(loc.split('/').pop());
}

async function userId(name: string): Promise<number> {
  const r = await ok('GET', `/users?username=${name}`);
  const u = (r.json as Array<{ user_id: number; username: string }>).find((x) => x.username === name);
  assert.ok(u, name);
  return u.user_id;
}

async function tokenActions(auth: string, repo: string): Promise<string[]> {
  const r = await fetch(`${w.url}/service/token?service=wharf&scope=repository:${repo}:pull,push,delete`, { headers: { authorization: auth } });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { token: string };
  const claims = JSON.parse(Buffer.from(body.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { access?: Array<{ actions: string[] }> };
  return [...(claims.access?.[0]?.actions ?? [])].sort();
}

before(async () => {
  w = await startWharf();
  for (const u of ['grp-alice', 'grp-bob', 'grp-carol']) await ok('POST', '/users', { username: u, password, email: `${u}@example.com`, realname: u });
  await ok('POST', '/projects', { project_name: 'grp-private', metadata: { public: 'false' } });
  await pushSmallImage(w.url, 'grp-private/base', smallImage('grp-base'), { tag: 'v1', auth: adminAuth });
});

after(async () => {
  await w?.close();
});

describe('/usergroups (Harbor)', () => {
  test('create, get, list with group_name, rename; the Location points at the group', async () => {
    const id = await createGroup('grp-crud-team');
    assert.deepEqual((await ok('GET', `/usergroups/${id}`)).json, { id, group_name: 'grp-crud-team', group_type: 2, ldap_group_dn: '' });
    const ldap = await createGroup('grp-crud-ldap', 1, '  CN=Devs,OU=Groups,DC=Example,DC=com ');
    assert.equal(((await ok('GET', `/usergroups/${ldap}`)).json as Group).ldap_group_dn, 'cn=devs,ou=groups,dc=example,dc=com');
    const list = await ok('GET', '/usergroups?group_name=crud&page_size=1');
    assert.equal(list.headers['x-total-count'], '2');
    assert.match(String(list.headers.link), /rel="next"/);
    assert.deepEqual((list.json as Group[]).map((g) => g.id), [id]);
    const byDn = await ok('GET', `/usergroups?ldap_group_dn=${encodeURIComponent('cn=devs,ou=groups,dc=example,dc=com')}`);
    assert.deepEqual((byDn.json as Group[]).map((g) => g.id), [ldap]);
    // Only the name changes (Harbor's UpdateName): the type given is ignored.
    await ok('PUT', `/usergroups/${id}`, { group_name: 'grp-crud-renamed', group_type: 3 });
    assert.deepEqual((await ok('GET', `/usergroups/${id}`)).json, { id, group_name: 'grp-crud-renamed', group_type: 2, ldap_group_dn: '' });
  });

  test("Harbor's refusals: 400 without a name or type, 409 for a duplicate, 404 for an unknown id", async () => {
    await ok('POST', '/usergroups', { group_type: 2 }, adminAuth, 400);
    await ok('POST', '/usergroups', { group_name: 'grp-x', group_type: 7 }, adminAuth, 400);
    await ok('POST', '/usergroups', { group_name: 'grp-x', group_type: 1 }, adminAuth, 400);
    await createGroup('grp-dup');
    const dup = await ok('POST', '/usergroups', { group_name: 'grp-dup', group_type: 2 }, adminAuth, 409);
    assert.match(dup.text, /duplicate user group, group name:grp-dup, group type: 2/);
    // Another type may hold the same name.
    await createGroup('grp-dup', 3);
    const missing = await ok('GET', '/usergroups/999999', undefined, adminAuth, 404);
    assert.match(missing.text, /the user group with id 999999 is not found/);
    await ok('PUT', '/usergroups/999999', { group_name: 'x' }, adminAuth, 404);
    await ok('PUT', '/usergroups/0', { group_name: 'x' }, adminAuth, 400);
    await ok('GET', '/usergroups/0', undefined, adminAuth, 400);
    // As Harbor: deleting an unknown group is no error.
    await ok('DELETE', '/usergroups/999999');
  });

  test('reads and writes are the system admin’s; search is any signed-in user’s', async () => {
    const id = await createGroup('grp-search-alpha');
    await createGroup('grp-search-al');
    await ok('GET', '/usergroups', undefined, alice, 403);
    await ok('GET', `/usergroups/${id}`, undefined, alice, 403);
    await ok('POST', '/usergroups', { group_name: 'grp-nope', group_type: 2 }, alice, 403);
    await ok('DELETE', `/usergroups/${id}`, undefined, alice, 403);
    const anon = await api(w.url, 'GET', '/api/v2.0/usergroups');
    assert.equal(anon.status, 401);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/usergroups/search?groupname=x')).status, 401);
    await ok('GET', '/usergroups/search', undefined, alice, 400);
    const found = await ok('GET', '/usergroups/search?groupname=search-al', undefined, alice);
    // The closest (shortest) name first; search items have no DN.
    assert.deepEqual(found.json, [
      { id: id + 1, group_name: 'grp-search-al', group_type: 2 },
      { id, group_name: 'grp-search-alpha', group_type: 2 },
    ]);
    assert.equal(found.headers['x-total-count'], '2');
  });
});

describe('local group members (Wharf extension)', () => {
  test('add by username or user_id, list with sources, remove; admin only', async () => {
    const id = await createGroup('grp-members');
    const carol = await userId('grp-carol');
    await ok('POST', `/usergroups/${id}/members`, { username: 'grp-carol' });
    await ok('POST', `/usergroups/${id}/members`, { user_id: await userId('grp-bob') });
    await ok('POST', `/usergroups/${id}/members`, { user_id: carol }, adminAuth, 409);
    await ok('POST', `/usergroups/${id}/members`, { username: 'nobody-here' }, adminAuth, 404);
    await ok('POST', `/usergroups/${id}/members`, {}, adminAuth, 400);
    await ok('GET', `/usergroups/${id}/members`, undefined, alice, 403);
    await ok('POST', `/usergroups/${id}/members`, { username: 'grp-alice' }, alice, 403);
    const list = await ok('GET', `/usergroups/${id}/members`);
    assert.equal(list.headers['x-total-count'], '2');
    assert.deepEqual(
      (list.json as Array<{ username: string; sources: string[] }>).map((m) => [m.username, m.sources]),
      // In user id order: grp-bob was created before grp-carol.
      [
        ['grp-bob', ['local']],
        ['grp-carol', ['local']],
      ],
    );
    await ok('DELETE', `/usergroups/${id}/members/${carol}`);
    await ok('DELETE', `/usergroups/${id}/members/${carol}`, undefined, adminAuth, 404);
    assert.deepEqual(((await ok('GET', `/usergroups/${id}/members`)).json as Array<{ username: string }>).map((m) => m.username), ['grp-bob']);
    await ok('GET', '/usergroups/999999/members', undefined, adminAuth, 404);
  });
});

describe('groups as project members', () => {
  test('member_group by id, by name (created on the fly for HTTP/OIDC) and by LDAP DN; listed as entity_type g', async () => {
    await ok('POST', '/projects', { project_name: 'grp-members-of', metadata: { public: 'false' } });
    const id = await createGroup('grp-by-id');
    const byId = await ok('POST', '/projects/grp-members-of/members', { role_id: 2, member_group: { id } });
    const mid = Number(String(byId.headers.location).split('/').pop());
    await ok('POST', '/projects/grp-members-of/members', { role_id: 3, member_group: { id } }, adminAuth, 409);
    await ok('POST', '/projects/grp-members-of/members', { role_id: 3, member_group: { id: 999999 } }, adminAuth, 400);
    // An OIDC group name Wharf does not know yet is created, as Harbor's OIDC mode onboards it.
    await ok('POST', '/projects/grp-members-of/members', { role_id: 3, member_group: { group_name: 'grp-oidc-new', group_type: 3 } });
    const created = (await ok('GET', '/usergroups?group_name=grp-oidc-new')).json as Group[];
    assert.deepEqual(created.map((g) => [g.group_name, g.group_type]), [['grp-oidc-new', 3]]);
    // An unknown name without a type that onboards is not found.
    await ok('POST', '/projects/grp-members-of/members', { role_id: 3, member_group: { group_name: 'grp-unknown' } }, adminAuth, 404);
    await ok('POST', '/projects/grp-members-of/members', { role_id: 4, member_group: { ldap_group_dn: 'cn=ops,dc=example,dc=com', group_name: 'grp-ops' } });
    await ok('POST', '/projects/grp-members-of/members', { role_id: 2, member_user: { username: 'grp-carol' } });
    await ok('POST', '/projects/grp-members-of/members', { role_id: 2 }, adminAuth, 400);

    const list = (await ok('GET', '/projects/grp-members-of/members?page_size=50')).json as Member[];
    // The project's creator may be a member too (its project admin); only the members added here are compared.
    const summary = list.filter((m) => m.entity_name !== 'admin').map((m) => [m.entity_name, m.entity_type, m.role_id]).sort();
    assert.deepEqual(summary, [
      ['grp-by-id', 'g', 2],
      ['grp-carol', 'u', 2],
      ['grp-oidc-new', 'g', 3],
      ['grp-ops', 'g', 4],
    ].sort());
    const one = (await ok('GET', `/projects/grp-members-of/members/${mid}`)).json as Member;
    assert.deepEqual({ ...one, project_id: 0 }, { id: mid, project_id: 0, entity_name: 'grp-by-id', entity_id: id, entity_type: 'g', role_id: 2, role_name: 'developer' });
    assert.deepEqual(((await ok('GET', '/projects/grp-members-of/members?entityname=by-id')).json as Member[]).map((m) => m.id), [mid]);
    await ok('PUT', `/projects/grp-members-of/members/${mid}`, { role_id: 4 });
    assert.equal(((await ok('GET', `/projects/grp-members-of/members/${mid}`)).json as Member).role_id, 4);
    await ok('DELETE', `/projects/grp-members-of/members/${mid}`);
    await ok('GET', `/projects/grp-members-of/members/${mid}`, undefined, adminAuth, 404);
  });
});

describe('roles through groups', () => {
  let group = 0;
  before(async () => {
    group = await createGroup('grp-developers');
    await ok('POST', '/projects/grp-private/members', { role_id: 2, member_group: { id: group } });
    await ok('POST', `/usergroups/${group}/members`, { username: 'grp-alice' });
  });

  test('a user only in a developer group pushes and pulls, cannot delete; token and project views agree', async () => {
    await pushSmallImage(w.url, 'grp-private/app', smallImage('grp-app'), { tag: 'v1', auth: alice });
    const pull = await fetch(`${w.url}/v2/grp-private/app/manifests/v1`, { headers: { authorization: alice, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(pull.status, 200);
    const del = await api(w.url, 'DELETE', '/api/v2.0/projects/grp-private/repositories/app', { auth: alice });
    assert.equal(del.status, 403, explain('DELETE', 'repository', del));
    assert.deepEqual(await tokenActions(alice, 'grp-private/app'), ['pull', 'push']);
    assert.deepEqual(await tokenActions(bob, 'grp-private/app'), []);
    const view = (await ok('GET', '/projects/grp-private', undefined, alice)).json as { current_user_role_id: number; current_user_role_ids: number[] };
    assert.equal(view.current_user_role_id, 2);
    assert.deepEqual(view.current_user_role_ids, [2]);
  });

  test('the strongest role counts, and current_user_role_ids lists them all', async () => {
    await ok('POST', '/projects/grp-private/members', { role_id: 3, member_user: { username: 'grp-alice' } });
    const maint = await createGroup('grp-maintainers');
    await ok('POST', '/projects/grp-private/members', { role_id: 4, member_group: { id: maint } });
    await ok('POST', `/usergroups/${maint}/members`, { username: 'grp-alice' });
    const view = (await ok('GET', '/projects/grp-private', undefined, alice)).json as { current_user_role_id: number; current_user_role_ids: number[] };
    // Maintainer (4) beats developer (2) and guest (3): Harbor's highest role.
    assert.equal(view.current_user_role_id, 4);
    assert.deepEqual(view.current_user_role_ids, [4, 2, 3]);
    assert.deepEqual(await tokenActions(alice, 'grp-private/app'), ['delete', 'pull', 'push']);
    // Deleting the group removes its project membership: back to developer at the next request.
    await ok('DELETE', `/usergroups/${maint}`);
    assert.ok(!((await ok('GET', '/projects/grp-private/members?page_size=50')).json as Member[]).some((m) => m.entity_name === 'grp-maintainers'));
    assert.deepEqual(await tokenActions(alice, 'grp-private/app'), ['pull', 'push']);
    const own = ((await ok('GET', '/projects/grp-private/members?entityname=grp-alice')).json as Member[])[0];
    assert.ok(own);
    await ok('DELETE', `/projects/grp-private/members/${own.id}`);
  });

  test('leaving the group takes effect on the next request', async () => {
    const alicesId = await userId('grp-alice');
    await ok('GET', '/projects/grp-private', undefined, alice);
    await ok('DELETE', `/usergroups/${group}/members/${alicesId}`);
    const r = await api(w.url, 'GET', '/api/v2.0/projects/grp-private', { auth: alice });
    assert.equal(r.status, 403, explain('GET', '/projects/grp-private', r));
    assert.deepEqual(await tokenActions(alice, 'grp-private/app'), []);
    await ok('POST', `/usergroups/${group}/members`, { user_id: alicesId });
    await ok('GET', '/projects/grp-private', undefined, alice);
  });

  test('deleting a user removes their group memberships', async () => {
    await ok('POST', '/users', { username: 'grp-dave', password, email: 'grp-dave@example.com', realname: 'd' });
    const dave = await userId('grp-dave');
    await ok('POST', `/usergroups/${group}/members`, { user_id: dave });
    await ok('DELETE', `/users/${dave}`);
    const names = ((await ok('GET', `/usergroups/${group}/members`)).json as Array<{ username: string }>).map((m) => m.username);
    assert.ok(!names.includes('grp-dave'), names.join(','));
    const left = await w.wharf.db.kysely.selectFrom('user_group_members').select('user_id').where('user_id', '=', dave).execute();
    assert.equal(left.length, 0);
  });
});
