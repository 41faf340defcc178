/**
 * LDAP authentication (docs/ldap.md) against a real OpenLDAP slapd (test/helpers/ldap-server.ts):
 * the `auth_mode` and `ldap_*` keys of /configurations and Harbor's rule on changing the mode,
 * Harbor's four /ldap operations, sign-in through Basic credentials (onboarding, the admin's local
 * password, the failed-login limiter, the admin group, LDAP groups as user groups with project
 * roles), and filter values escaped as RFC 4515 says.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminAuth, freePort, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { defaultSeed, skipWithoutSlapd, startLdap, type TestLdap } from '../helpers/ldap-server.ts';
import { api, explain, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';

const basic = (u: string, p: string) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');
const person = (uid: string) => {
  const p = defaultSeed.people.find((x) => x.uid === uid);
  assert.ok(p, uid);
  return p;
};

describe('LDAP authentication', { skip: skipWithoutSlapd() }, () => {
  let w: TestWharf;
  let ldap: TestLdap;

  async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, opts: { body?: unknown; auth?: string } = {}) {
    return api(w.url, method, `/api/v2.0${path}`, { auth: opts.auth ?? adminAuth, ...(opts.body === undefined ? {} : { body: opts.body }) });
  }

  async function ok(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, auth = adminAuth, status = 200) {
    const r = await call(method, path, { auth, ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, explain(method, path, r));
    return r;
  }

  let consoleDir: string;

  before(async () => {
    ldap = await startLdap();
    consoleDir = mkdtempSync(join(tmpdir(), 'wharf-ldap-console-'));
    writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>Wharf console</title>');
    w = await startWharf({ overrides: { console: { dir: consoleDir } } });
  });

  after(async () => {
    await w?.close();
    await ldap?.stop();
    rmSync(consoleDir, { recursive: true, force: true });
  });

  test('auth_mode: Harbor’s values, LDAP keys written, the search password never returned', async () => {
    const before = (await ok('GET', '/configurations')).json as Record<string, { value: unknown; editable: boolean }>;
    assert.deepEqual(before.auth_mode, { value: 'db_auth', editable: true });
    assert.deepEqual(before.ldap_uid, { value: 'cn', editable: true });
    assert.deepEqual(before.ldap_scope, { value: 2, editable: true });
    const bad = await call('PUT', '/configurations', { body: { auth_mode: 'oidc_auth' } });
    assert.equal(bad.status, 400, bad.text);
    const scope = await call('PUT', '/configurations', { body: { ldap_scope: 5 } });
    assert.equal(scope.status, 400);
    assert.match(scope.text, /invalid scope, should be 0, 1 or 2/);
    await ok('PUT', '/configurations', {
      auth_mode: 'ldap_auth',
      ldap_url: ldap.url,
      ldap_search_dn: ldap.bindDn,
      ldap_search_password: ldap.bindPassword,
      ldap_base_dn: ldap.peopleDn,
      ldap_filter: '(objectClass=inetOrgPerson)',
      ldap_uid: 'uid',
      ldap_scope: 2,
      ldap_timeout: 3,
      ldap_group_base_dn: ldap.groupsDn,
      ldap_group_attribute_name: 'cn',
    });
    const now = (await ok('GET', '/configurations')).json as Record<string, { value: unknown; editable: boolean }>;
    assert.equal(now.auth_mode?.value, 'ldap_auth');
    assert.equal(now.ldap_url?.value, ldap.url);
    assert.equal(now.ldap_search_password, undefined, 'the password is never returned');
    assert.ok(!JSON.stringify(now).includes(ldap.bindPassword));
  });

  test('ping: the saved settings, a wrong password, an unreachable server; system admin only', async () => {
    assert.deepEqual((await ok('POST', '/ldap/ping')).json, { success: true });
    assert.deepEqual((await ok('POST', '/ldap/ping', { ldap_url: ldap.url, ldap_search_dn: ldap.bindDn })).json, { success: true }, 'the saved password in LDAP mode');
    const wrong = (await ok('POST', '/ldap/ping', { ldap_search_password: 'wrong-password' })).json as { success: boolean; message: string };
    assert.deepEqual(wrong, { success: false, message: 'error: invalid credential' });
    const port = await freePort();
    const down = (await ok('POST', '/ldap/ping', { ldap_url: `ldap://127.0.0.1:${port}`, ldap_connection_timeout: 2 })).json as { success: boolean; message: string };
    assert.deepEqual(down, { success: false, message: 'error: ldap server network timeout' });
    const noDn = (await ok('POST', '/ldap/ping', { ldap_search_dn: '' })).json as { success: boolean; message: string };
    assert.deepEqual(noDn, { success: false, message: 'error: empty search dn' });
    assert.equal((await call('POST', '/ldap/ping', { auth: '' })).status, 401);
  });

  test('users search: exact uid, everyone without a name, no wildcard from the caller', async () => {
    const alice = (await ok('GET', '/ldap/users/search?username=alice')).json;
    assert.deepEqual(alice, [{ username: 'alice', realname: 'Alice L.', email: 'alice@example.test' }]);
    const all = (await ok('GET', '/ldap/users/search')).json as Array<{ username: string }>;
    assert.deepEqual(all.map((u) => u.username).sort(), defaultSeed.people.map((p) => p.uid).sort());
    // Filter characters are escaped (RFC 4515): `*` is a literal star, `)(` cannot widen the filter.
    assert.deepEqual((await ok('GET', '/ldap/users/search?username=' + encodeURIComponent('*'))).json, []);
    assert.deepEqual(((await ok('GET', '/ldap/users/search?username=' + encodeURIComponent('star*'))).json as Array<{ username: string }>).map((u) => u.username), ['star*']);
    assert.deepEqual((await ok('GET', '/ldap/users/search?username=' + encodeURIComponent('alice)(uid=*'))).json, []);
    assert.deepEqual((await ok('GET', '/ldap/users/search?username=' + encodeURIComponent('al\\2a'))).json, []);
  });

  test('groups search: by name, by DN; 404 when none', async () => {
    const byName = (await ok('GET', '/ldap/groups/search?groupname=developers')).json as Array<{ group_name: string; ldap_group_dn: string }>;
    assert.equal(byName.length, 1);
    assert.equal(byName[0]?.group_name, 'developers');
    assert.equal(byName[0]?.ldap_group_dn.toLowerCase(), ldap.groupDn('developers').toLowerCase());
    const byDn = (await ok('GET', '/ldap/groups/search?groupdn=' + encodeURIComponent(ldap.groupDn('harbor-admins')))).json as Array<{ group_name: string }>;
    assert.deepEqual(byDn.map((g) => g.group_name), ['harbor-admins']);
    const none = await call('GET', '/ldap/groups/search?groupname=nobody');
    assert.equal(none.status, 404, none.text);
    assert.match(none.text, /group name:nobody, group DN:/);
    assert.equal((await call('GET', '/ldap/groups/search?groupname=' + encodeURIComponent('*'))).status, 404, 'a star is not a wildcard');
    assert.equal((await call('GET', '/ldap/groups/search?groupdn=' + encodeURIComponent('cn=x,dc=elsewhere'))).status, 404, 'outside the group base DN');
  });

  test('import: onboards known users; 404 with Harbor’s failure list for the others', async () => {
    const r = await call('POST', '/ldap/users/import', { body: { ldap_uid_list: ['bob', 'nobody', ''] } });
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(r.json, [
      { uid: 'nobody', error: 'unknown_user' },
      { uid: '', error: 'empty_uid' },
    ]);
    const users = (await ok('GET', '/users?username=bob')).json as Array<{ username: string; email: string; realname: string; comment: string }>;
    const bob = users.find((u) => u.username === 'bob');
    assert.deepEqual(bob && { email: bob.email, realname: bob.realname, comment: bob.comment }, { email: 'bob@example.test', realname: 'Bob Builder', comment: 'from LDAP.' });
    await ok('POST', '/ldap/users/import', { ldap_uid_list: ['bob'] });
    assert.equal((await call('POST', '/ldap/users/import', { body: { ldap_uid_list: 'bob' } })).status, 400);
  });

  test('auth_mode cannot change once users besides the admin exist', async () => {
    const r = await call('PUT', '/configurations', { body: { auth_mode: 'db_auth' } });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /the auth mode cannot be modified as new users have been inserted into database/);
    const cfg = (await ok('GET', '/configurations')).json as Record<string, { value: unknown; editable: boolean }>;
    assert.deepEqual(cfg.auth_mode, { value: 'ldap_auth', editable: false });
    // The same mode again is no change.
    await ok('PUT', '/configurations', { auth_mode: 'ldap_auth' });
    const info = (await ok('GET', '/systeminfo')).json as { auth_mode: string };
    assert.equal(info.auth_mode, 'ldap_auth');
    const cli = await call('PUT', '/users/2/cli_secret', { body: { secret: 'Cli-Secret-Pass1' } });
    assert.equal(cli.status, 412, cli.text);
    assert.match(cli.text, /unable to update CLI secret under authmode: ldap_auth/);
  });

  test('sign-in with LDAP credentials onboards the user; the admin keeps the local password', async () => {
    const alice = person('alice');
    const listed = async () => ((await ok('GET', '/users?page_size=100')).json as Array<{ username: string }>).map((u) => u.username);
    assert.ok(!(await listed()).includes('alice'), 'not onboarded yet');
    const me = (await ok('GET', '/users/current', undefined, basic('alice', alice.password))).json as { username: string; email: string; realname: string; sysadmin_flag: boolean };
    assert.deepEqual({ username: me.username, email: me.email, realname: me.realname, sysadmin_flag: me.sysadmin_flag }, { username: 'alice', email: 'alice@example.test', realname: 'Alice L.', sysadmin_flag: false });
    assert.ok((await listed()).includes('alice'), 'onboarded');
    assert.equal((await call('GET', '/users/current', { auth: basic('alice', 'NotHerPassword1') })).status, 401);
    assert.equal((await call('GET', '/users/current', { auth: basic('alice', '') })).status, 401, 'an empty password is never an anonymous bind');
    // The admin (user id 1) signs in with the local password, not the directory's.
    assert.equal(((await ok('GET', '/users/current')).json as { user_id: number }).user_id, 1);
    // As Harbor: no local users in LDAP mode, and only the admin's local password can change.
    const create = await call('POST', '/users', { body: { username: 'local-only', password: 'LocalPass123', email: 'local@example.test' } });
    assert.equal(create.status, 403, create.text);
    assert.match(create.text, /creating local user is not allowed under auth mode: ldap_auth/);
    const aliceId = (((await ok('GET', '/users?page_size=100')).json as Array<{ user_id: number; username: string }>).find((u) => u.username === 'alice'))?.user_id;
    const pw = await call('PUT', `/users/${aliceId}/password`, { body: { new_password: 'LocalPass123' } });
    assert.equal(pw.status, 403, pw.text);
    assert.match(pw.text, /can't be updated/);
    assert.equal((await call('GET', '/users/current', { auth: basic('alice', 'LocalPass123') })).status, 401);
  });

  test('the console signs LDAP users in with their directory password', async () => {
    const login = (principal: string, password: string) =>
      fetch(`${w.url}/c/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ principal, password }) });
    const good = await login('alice', person('alice').password);
    assert.equal(good.status, 200, await good.text());
    const cookie = good.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const me = await fetch(`${w.url}/api/v2.0/users/current`, { headers: { cookie } });
    assert.equal(((await me.json()) as { username: string }).username, 'alice');
    const bad = await login('alice', 'NotHerPassword2');
    assert.notEqual(bad.status, 200);
  });

  test('filter characters in a sign-in name are escaped', async () => {
    const alice = person('alice');
    for (const name of ['*', 'al*', 'alice)(uid=*', '*)(|(uid=*']) {
      assert.equal((await call('GET', '/users/current', { auth: basic(name, alice.password) })).status, 401, name);
    }
    // A name holding a star signs in as itself.
    const star = person('star*');
    const me = (await ok('GET', '/users/current', undefined, basic('star*', star.password))).json as { username: string };
    assert.equal(me.username, 'star*');
  });

  test('wrong LDAP passwords are counted by the failed-login limiter', async () => {
    const bob = person('bob');
    let locked = false;
    for (let i = 0; i < 15 && !locked; i++) {
      const r = await call('GET', '/users/current', { auth: basic('bob', `Wrong-${i}`) });
      assert.ok(r.status === 401 || r.status === 429, explain('GET', '/users/current', r));
      locked = r.status === 429;
    }
    assert.ok(locked, 'locked after repeated failures');
    assert.equal((await call('GET', '/users/current', { auth: basic('bob', bob.password) })).status, 429, 'the right password while locked');
  });

  test('a member of ldap_group_admin_dn is a system admin', async () => {
    const carol = person('carol');
    const auth = basic('carol', carol.password);
    await ok('GET', '/users/current', undefined, auth);
    assert.equal((await call('GET', '/configurations', { auth })).status, 403, 'not an admin before the setting');
    await ok('PUT', '/configurations', { ldap_group_admin_dn: ldap.groupDn('harbor-admins').toUpperCase() });
    // The next sign-in asks the directory again (its answers are not cached).
    const me = (await ok('GET', '/users/current', undefined, auth)).json as { admin_role_in_auth: boolean; sysadmin_flag: boolean };
    assert.deepEqual({ admin: me.admin_role_in_auth, flag: me.sysadmin_flag }, { admin: true, flag: false });
    await ok('GET', '/configurations', undefined, auth);
    // Alice is not in that group.
    assert.equal((await call('GET', '/configurations', { auth: basic('alice', person('alice').password) })).status, 403);
  });

  test('a directory that does not answer refuses LDAP sign-ins, never the admin’s', async () => {
    await ok('PUT', '/configurations', { ldap_url: `ldap://127.0.0.1:${await freePort()}`, ldap_timeout: 1 });
    try {
      assert.equal((await call('GET', '/users/current', { auth: basic('star*', person('star*').password) })).status, 401);
      assert.equal(((await ok('GET', '/users/current')).json as { username: string }).username, 'admin');
      const search = await call('GET', '/ldap/users/search?username=alice');
      assert.equal(search.status, 503, search.text);
    } finally {
      await ok('PUT', '/configurations', { ldap_url: ldap.url, ldap_timeout: 3 });
    }
    assert.equal((await call('GET', '/users/current', { auth: basic('star*', person('star*').password) })).status, 200);
  });

  test('LDAP groups become user groups at sign-in and carry project roles', async () => {
    const alice = person('alice');
    const auth = basic('alice', alice.password);
    await ok('PUT', '/configurations', { ldap_group_search_filter: '(objectClass=groupOfNames)' });
    await ok('POST', '/projects', { project_name: 'ldap-team', metadata: { public: 'false' } }, adminAuth, 201);
    await ok('POST', '/projects/ldap-team/members', { role_id: 2, member_group: { ldap_group_dn: ldap.groupDn('developers'), group_type: 1 } }, adminAuth, 201);
    await ok('GET', '/users/current', undefined, auth);
    const groups = (await ok('GET', '/usergroups?group_type=1')).json as Array<{ id: number; group_name: string; group_type: number; ldap_group_dn: string }>;
    const dev = groups.find((g) => g.ldap_group_dn === ldap.groupDn('developers').toLowerCase());
    assert.ok(dev, JSON.stringify(groups));
    assert.equal(dev.group_type, 1);
    const members = (await ok('GET', `/usergroups/${dev.id}/members`)).json as Array<{ username: string; sources: string[] }>;
    assert.deepEqual(members.map((m) => [m.username, m.sources]), [['alice', ['ldap']]]);
    const img = smallImage('ldap-group-push');
    await pushSmallImage(w.url, 'ldap-team/app', img, { tag: 'v1', auth });
    const carol = basic('carol', person('carol').password);
    assert.notEqual((await call('GET', '/projects/ldap-team/repositories', { auth: basic('star*', person('star*').password) })).status, 200, 'not a member');
    assert.equal((await call('GET', '/projects/ldap-team/repositories', { auth: carol })).status, 200, 'the admin group');
  });
});
