/**
 * Harbor's permission endpoints over real HTTP: GET /api/v2.0/permissions (who may read it, and
 * that its project list round-trips into robot creation), GET /users/current/permissions with
 * `scope` and `relative` (answered by the authorizer for users, robots and anonymous callers),
 * and PUT /users/{id}/cli_secret, which answers Harbor's db_auth 412.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, type ApiAnswer } from '../helpers/webhook-client.ts';

let w: TestWharf;
const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
const padmin = basic('padmin', 'Padmin123');
const dev = basic('dev', 'Develop123');
const nobody = basic('nobody', 'Nobody123');
let robotAuth = '';
let privateId = 0;
let publicId = 0;

type Permission = { resource: string; action: string };

/** A parsed JSON body typed as the test reads it (the assertions check every field they use). */
function shape<T>(v: unknown): T {
  return v as T; // test-only
}

function firstError(a: ApiAnswer): { code?: string; message?: string } {
  return shape<{ errors?: Array<{ code: string; message: string }> } | undefined>(a.json)?.errors?.[0] ?? {};
}

const has = (list: Permission[], resource: string, action: string) => list.some((p) => p.resource === resource && p.action === action);

async function current(query: string, auth?: string): Promise<{ status: number; list: Permission[]; a: ApiAnswer }> {
  const a = await api(w.url, 'GET', `/api/v2.0/users/current/permissions${query}`, { auth });
  return { status: a.status, list: Array.isArray(a.json) ? shape<Permission[]>(a.json) : [], a };
}

before(async () => {
  w = await startWharf();
  for (const [name, pub] of [['perm1', false], ['permpub', true]] as const) {
    const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: name, metadata: { public: String(pub) } } });
    assert.equal(p.status, 201, explain('POST', 'projects', p));
  }
  const id = async (name: string) => shape<{ project_id: number }>((await api(w.url, 'GET', `/api/v2.0/projects/${name}`, { auth: adminAuth })).json).project_id;
  privateId = await id('perm1');
  publicId = await id('permpub');
  for (const [username, password] of [['padmin', 'Padmin123'], ['dev', 'Develop123'], ['nobody', 'Nobody123']]) {
    const u = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username, password, email: `${username}@example.com`, realname: username } });
    assert.equal(u.status, 201, explain('POST', 'users', u));
  }
  for (const [username, role] of [['padmin', 1], ['dev', 2]] as const) {
    const m = await api(w.url, 'POST', '/api/v2.0/projects/perm1/members', { auth: adminAuth, body: { role_id: role, member_user: { username } } });
    assert.equal(m.status, 201, explain('POST', 'members', m));
  }
  const r = await api(w.url, 'POST', '/api/v2.0/robots', {
    auth: adminAuth,
    body: { name: 'puller', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'perm1', access: [{ resource: 'repository', action: 'pull' }] }] },
  });
  assert.equal(r.status, 201, explain('POST', 'robots', r));
  const created = shape<{ name: string; secret: string }>(r.json);
  robotAuth = basic(created.name, created.secret);
});

after(async () => {
  await w.close();
});

describe('GET /permissions', () => {
  it('gives the system admin both lists, and the project list is what robot creation accepts', async () => {
    const a = await api(w.url, 'GET', '/api/v2.0/permissions', { auth: adminAuth });
    assert.equal(a.status, 200, a.text);
    const p = shape<{ system: Permission[]; project: Permission[] }>(a.json);
    assert.deepEqual(Object.keys(p).sort(), ['project', 'system']);
    assert.ok(has(p.system, 'audit-log', 'list') && has(p.system, 'project', 'create') && has(p.system, 'user-group', 'delete'));
    assert.ok(has(p.project, 'repository', 'pull') && has(p.project, 'repository', 'push') && has(p.project, 'member', 'create'));
    for (const list of [p.system, p.project]) {
      for (const e of list) assert.deepEqual(Object.keys(e).sort(), ['action', 'resource']);
      assert.equal(new Set(list.map((e) => `${e.resource}:${e.action}`)).size, list.length, 'no duplicates');
    }
    // harbor-cli's `robot create --all-permission`: every listed permission, for all projects.
    const robot = await api(w.url, 'POST', '/api/v2.0/robots', {
      auth: adminAuth,
      body: {
        name: 'everything',
        level: 'system',
        duration: 1,
        permissions: [
          { kind: 'system', namespace: '/', access: p.system },
          { kind: 'project', namespace: '*', access: p.project },
        ],
      },
    });
    assert.equal(robot.status, 201, explain('POST', 'robots', robot));
  });

  it('gives a project admin the project list only, and refuses everyone else', async () => {
    const a = await api(w.url, 'GET', '/api/v2.0/permissions', { auth: padmin });
    assert.equal(a.status, 200, a.text);
    const p = shape<{ system?: Permission[]; project: Permission[] }>(a.json);
    assert.equal(p.system, undefined);
    assert.ok(p.project.length > 10);
    for (const who of [dev, nobody, robotAuth]) {
      const d = await api(w.url, 'GET', '/api/v2.0/permissions', { auth: who });
      assert.equal(d.status, 403, d.text);
      assert.deepEqual(firstError(d), { code: 'FORBIDDEN', message: 'only admins(system and project) can access permissions' });
    }
    assert.equal((await api(w.url, 'GET', '/api/v2.0/permissions')).status, 401);
  });
});

describe('GET /users/current/permissions', () => {
  it("lists a developer's permissions in the project, relative or absolute", async () => {
    const rel = await current(`?scope=/project/${privateId}&relative=true`, dev);
    assert.equal(rel.status, 200, rel.a.text);
    for (const [r, a] of [['repository', 'pull'], ['repository', 'push'], ['artifact', 'list'], ['tag', 'create'], ['.', 'read'], ['member', 'list'], ['log', 'list'], ['scan', 'create']] as const) {
      assert.ok(has(rel.list, r, a), `developer may ${r}:${a}: ${rel.a.text}`);
    }
    for (const [r, a] of [['.', 'delete'], ['.', 'update'], ['member', 'create'], ['tag', 'delete'], ['artifact', 'delete'], ['preheat-policy', 'list']] as const) {
      assert.ok(!has(rel.list, r, a), `developer may not ${r}:${a}`);
    }
    const abs = await current(`?scope=/project/${privateId}`, dev);
    assert.equal(abs.list.length, rel.list.length);
    assert.ok(has(abs.list, `/project/${privateId}/repository`, 'push') && has(abs.list, `/project/${privateId}`, 'read'), abs.a.text);
  });

  it('follows the role: the project admin and the system admin may more', async () => {
    const scope = `?scope=/project/${privateId}&relative=true`;
    const devList = (await current(scope, dev)).list;
    const adminOfProject = (await current(scope, padmin)).list;
    const sysadmin = (await current(scope, adminAuth)).list;
    assert.ok(has(adminOfProject, '.', 'delete') && has(adminOfProject, 'member', 'create') && has(adminOfProject, 'robot', 'create'));
    assert.ok(has(adminOfProject, 'preheat-policy', 'create') && has(adminOfProject, 'preheat-policy', 'list'), 'the project admin manages preheat policies');
    assert.ok(devList.length < adminOfProject.length && adminOfProject.length <= sysadmin.length);
    assert.ok(has(devList, 'export-cve', 'create') && has(devList, 'export-cve', 'list'), 'developers export CVEs, as in Harbor');
    assert.ok(!has(sysadmin, 'ldap-user', 'create'), 'no system permission in a project scope');
  });

  it('answers robots by their grants, outsiders by the project visibility', async () => {
    const scope = (id: number) => `?scope=/project/${id}&relative=true`;
    const robot = (await current(scope(privateId), robotAuth)).list;
    assert.ok(has(robot, 'repository', 'pull') && !has(robot, 'repository', 'push'), JSON.stringify(robot));
    const outsider = await current(scope(privateId), nobody);
    assert.equal(outsider.status, 200);
    assert.deepEqual(outsider.list, []);
    const pub = (await current(scope(publicId), nobody)).list;
    assert.ok(has(pub, 'repository', 'pull') && !has(pub, 'repository', 'push'), JSON.stringify(pub));
    assert.deepEqual((await current('?scope=/project/999999&relative=true', adminAuth)).list, []);
  });

  it('lists system permissions to the system admin only, and nothing for other scopes', async () => {
    const sys = await current('?scope=/system', adminAuth);
    assert.ok(has(sys.list, 'audit-log', 'list') && has(sys.list, 'project', 'create'), sys.a.text);
    assert.deepEqual((await current('?scope=/system', dev)).list, []);
    assert.deepEqual((await current('?scope=/system&relative=true', adminAuth)).list, []);
    for (const q of ['', '?scope=/nothing', '?scope=/project/abc']) {
      const r = await current(q, adminAuth);
      assert.equal(r.status, 200, r.a.text);
      assert.deepEqual(r.list, []);
    }
  });

  it('refuses anonymous callers and a relative that is not a boolean', async () => {
    assert.equal((await current(`?scope=/project/${publicId}`)).status, 401);
    assert.equal((await current(`?scope=/project/${privateId}&relative=maybe`, adminAuth)).status, 400);
  });
});

describe('PUT /users/{user_id}/cli_secret', () => {
  it("answers Harbor's db_auth 412 whoever asks", async () => {
    for (const who of [adminAuth, dev]) {
      const a = await api(w.url, 'PUT', '/api/v2.0/users/1/cli_secret', { auth: who, body: { secret: 'NewSecret123' } });
      assert.equal(a.status, 412, a.text);
      assert.deepEqual(firstError(a), { code: 'PRECONDITION', message: 'unable to update CLI secret under authmode: db_auth' });
    }
    assert.equal((await api(w.url, 'PUT', '/api/v2.0/users/abc/cli_secret', { auth: adminAuth, body: { secret: 'NewSecret123' } })).status, 400);
    assert.equal((await api(w.url, 'PUT', '/api/v2.0/users/1/cli_secret', { body: { secret: 'NewSecret123' } })).status, 401);
  });
});
