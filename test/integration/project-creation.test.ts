/**
 * Project creation as Harbor does it, over real HTTP (both databases): a non-admin user creates a
 * project and becomes its project admin (a member with role 1); `project_creation_restriction:
 * adminonly` refuses non-admins with Harbor's message; project robots never create projects, system
 * robots do (owned by the first system admin) unless adminonly; and
 * `GET /projects/{p}/_deletable` answers Harbor's {deletable, message}.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { apiCaller, show, type ApiAnswer } from '../helpers/webhook-client.ts';

type Answer = ApiAnswer;

let w: TestWharf;
const aliceAuth = 'Basic ' + Buffer.from('alice:Alice12345!').toString('base64');
const bobAuth = 'Basic ' + Buffer.from('bob:Bob12345!x').toString('base64');

/** `method path` as `auth` (the admin unless given; null: anonymous), with a JSON body or raw bytes. */
const call = apiCaller(() => w.url, adminAuth);

function assertError(a: Answer, status: number, code: string, message: string): void {
  assert.equal(a.status, status, show(a));
  const e = (a.json as { errors?: Array<{ code: string; message: string }> }).errors?.[0]; // shape asserted next
  assert.ok(e, show(a));
  assert.equal(e.code, code, show(a));
  assert.equal(e.message, message);
}

function digestOf(data: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Pushes a one-config image (no layers) to `repo:tag` over HTTP as `auth`. */
async function pushImage(repo: string, tag: string, auth: string): Promise<void> {
  const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const blob = await call('POST', `/v2/${repo}/blobs/uploads/?digest=${digestOf(config)}`, { auth, raw: config });
  assert.equal(blob.status, 201, show(blob));
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length }, layers: [] });
  const m = await call('PUT', `/v2/${repo}/manifests/${tag}`, { auth, raw: manifest, type: 'application/vnd.oci.image.manifest.v1+json' });
  assert.equal(m.status, 201, show(m));
}

type Member = { entity_name: string; role_id: number; entity_type: string };

before(async () => {
  w = await startWharf();
  for (const [username, password] of [
    ['alice', 'Alice12345!'],
    ['bob', 'Bob12345!x'],
  ]) {
    const u = await call('POST', '/api/v2.0/users', { body: { username, password, email: `${username}@example.com`, realname: username } });
    assert.equal(u.status, 201, show(u));
  }
});

after(async () => {
  await w?.close();
});

describe('project creation', () => {
  it('a user creates a project and becomes its project admin', async () => {
    const c = await call('POST', '/api/v2.0/projects', { auth: aliceAuth, body: { project_name: 'alice-team' } });
    assert.equal(c.status, 201, show(c));
    const p = await call('GET', '/api/v2.0/projects/alice-team', { auth: aliceAuth });
    assert.equal(p.status, 200, show(p));
    const view = p.json as { owner_name: string; current_user_role_id: number };
    assert.equal(view.owner_name, 'alice');
    assert.equal(view.current_user_role_id, 1);
    const members = await call('GET', '/api/v2.0/projects/alice-team/members', { auth: aliceAuth });
    assert.equal(members.status, 200, show(members));
    assert.deepEqual((members.json as Member[]).map((m) => [m.entity_name, m.role_id, m.entity_type]), [['alice', 1, 'u']]);
    // As its admin she manages it: adds a member, changes it, pushes.
    const add = await call('POST', '/api/v2.0/projects/alice-team/members', { auth: aliceAuth, body: { role_id: 2, member_user: { username: 'bob' } } });
    assert.equal(add.status, 201, show(add));
    assert.equal((await call('PUT', '/api/v2.0/projects/alice-team', { auth: aliceAuth, body: { metadata: { auto_scan: 'true' } } })).status, 200);
    await pushImage('alice-team/app', 'v1', aliceAuth);
    // Bob, a developer there, is not its admin.
    assert.equal((await call('GET', '/api/v2.0/projects/alice-team/_deletable', { auth: bobAuth })).status, 403);
  });

  it('the admin who creates a project is its project admin member too', async () => {
    assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'admin-made' } })).status, 201);
    const members = await call('GET', '/api/v2.0/projects/admin-made/members');
    assert.deepEqual((members.json as Member[]).map((m) => [m.entity_name, m.role_id]), [['admin', 1]]);
  });

  it('adminonly refuses users with Harbor’s message; everyone lets them again', async () => {
    assert.equal((await call('PUT', '/api/v2.0/configurations', { body: { project_creation_restriction: 'adminonly' } })).status, 200);
    assertError(await call('POST', '/api/v2.0/projects', { auth: bobAuth, body: { project_name: 'bob-team' } }), 403, 'FORBIDDEN', 'Only system admin can create project');
    assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'admin-only-ok' } })).status, 201);
    assert.equal((await call('PUT', '/api/v2.0/configurations', { body: { project_creation_restriction: 'everyone' } })).status, 200);
    assert.equal((await call('POST', '/api/v2.0/projects', { auth: bobAuth, body: { project_name: 'bob-team' } })).status, 201);
    // A proxy-cache project stays the system admin's.
    assertError(await call('POST', '/api/v2.0/projects', { auth: bobAuth, body: { project_name: 'bob-cache', registry_id: 1 } }), 403, 'FORBIDDEN', 'Only system admin can create proxy cache project');
  });

  it('a project robot may not create projects', async () => {
    const r = await call('POST', '/api/v2.0/robots', {
      auth: aliceAuth,
      body: { name: 'maker', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'alice-team', access: [{ resource: 'repository', action: 'pull' }] }] },
    });
    assert.equal(r.status, 201, show(r));
    const robot = r.json as { name: string; secret: string };
    const robotAuth = 'Basic ' + Buffer.from(`${robot.name}:${robot.secret}`).toString('base64');
    assertError(await call('POST', '/api/v2.0/projects', { auth: robotAuth, body: { project_name: 'project-robot-made' } }), 403, 'FORBIDDEN', 'Only system level robot can create project');
    assertError(await call('POST', '/api/v2.0/projects', { auth: null, body: { project_name: 'anon-made' } }), 401, 'UNAUTHORIZED', 'authentication required to POST /api/v2.0/projects');
  });

  it('a system robot creates a project unless adminonly; the first system admin owns it and is its member', async () => {
    const r = await call('POST', '/api/v2.0/robots', {
      body: { name: 'provisioner', level: 'system', duration: -1, permissions: [{ kind: 'project', namespace: '*', access: [{ resource: 'repository', action: 'pull' }] }] },
    });
    assert.equal(r.status, 201, show(r));
    const robot = r.json as { name: string; secret: string };
    const robotAuth = 'Basic ' + Buffer.from(`${robot.name}:${robot.secret}`).toString('base64');
    assert.equal((await call('POST', '/api/v2.0/projects', { auth: robotAuth, body: { project_name: 'robot-made' } })).status, 201);
    const p = (await call('GET', '/api/v2.0/projects/robot-made')).json as { owner_name: string };
    assert.equal(p.owner_name, 'admin');
    const members = await call('GET', '/api/v2.0/projects/robot-made/members');
    assert.deepEqual((members.json as Member[]).map((m) => [m.entity_name, m.role_id]), [['admin', 1]]);
    assert.equal((await call('PUT', '/api/v2.0/configurations', { body: { project_creation_restriction: 'adminonly' } })).status, 200);
    try {
      assertError(await call('POST', '/api/v2.0/projects', { auth: robotAuth, body: { project_name: 'robot-made-2' } }), 403, 'FORBIDDEN', 'Only system admin can create project');
    } finally {
      assert.equal((await call('PUT', '/api/v2.0/configurations', { body: { project_creation_restriction: 'everyone' } })).status, 200);
    }
  });

  it('_deletable: Harbor’s answer while repositories are left, true once empty', async () => {
    const full = await call('GET', '/api/v2.0/projects/alice-team/_deletable', { auth: aliceAuth });
    assert.equal(full.status, 200, show(full));
    assert.deepEqual(full.json, { deletable: false, message: 'the project contains repositories, can not be deleted' });
    const empty = await call('GET', '/api/v2.0/projects/bob-team/_deletable', { auth: bobAuth });
    assert.deepEqual(empty.json, { deletable: true });
    // By id too, and a project the caller cannot see is a 404 or 403 as for its other reads.
    const id = ((await call('GET', '/api/v2.0/projects/bob-team')).json as { project_id: number }).project_id;
    assert.deepEqual((await call('GET', `/api/v2.0/projects/${id}/_deletable`)).json, { deletable: true });
    assert.ok([403, 404].includes((await call('GET', '/api/v2.0/projects/bob-team/_deletable', { auth: aliceAuth })).status));
    assert.equal((await call('GET', '/api/v2.0/projects/no-such/_deletable')).status, 404);
    assert.equal((await call('DELETE', '/api/v2.0/projects/alice-team/repositories/app', { auth: aliceAuth })).status, 200);
    assert.deepEqual((await call('GET', '/api/v2.0/projects/alice-team/_deletable', { auth: aliceAuth })).json, { deletable: true });
  });
});
