/**
 * Harbor's extended audit log over real HTTP: GET /api/v2.0/auditlog-exts,
 * /auditlog-exts/events and /projects/{project_name}/auditlog-exts show Wharf's audit entries as
 * Harbor's AuditLogExt (operation_description, operation_result), with Harbor's paging, q and
 * sort, and Harbor's permissions: the system admin sees everything, other users the entries of
 * the projects whose logs they may read, anonymous callers nothing (401).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { AuditLogExtView } from '../../src/audit/index.ts';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';

let w: TestWharf;
const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
const alice = basic('alice', 'Alice1234');
const bob = basic('bob', 'Bob12345x');
const carol = basic('carol', 'Carol1234');
const img = smallImage('ext-one');

/** A parsed JSON body typed as the test reads it (the assertions check every field they use). */
function shape<T>(v: unknown): T {
  return v as T; // test-only
}

async function ext(path: string, auth?: string): Promise<{ status: number; items: AuditLogExtView[]; total: string | undefined; link: string | undefined; text: string }> {
  const a = await api(w.url, 'GET', `/api/v2.0${path}`, { auth });
  const total = a.headers['x-total-count'];
  const link = a.headers.link;
  return { status: a.status, items: Array.isArray(a.json) ? shape<AuditLogExtView[]>(a.json) : [], total: typeof total === 'string' ? total : undefined, link: typeof link === 'string' ? link : undefined, text: a.text };
}

function errorCode(text: string): string | undefined {
  return shape<{ errors?: Array<{ code: string }> }>(JSON.parse(text)).errors?.[0]?.code;
}

before(async () => {
  w = await startWharf({ overrides: { audit: { poll_ms: 100 } } });
  for (const name of ['ext1', 'ext2']) {
    const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: name } });
    assert.equal(p.status, 201, explain('POST', 'projects', p));
  }
  for (const [username, password] of [['alice', 'Alice1234'], ['bob', 'Bob12345x'], ['carol', 'Carol1234']]) {
    const u = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username, password, email: `${username}@example.com`, realname: username } });
    assert.equal(u.status, 201, explain('POST', 'users', u));
  }
  // alice is a developer of ext1 (may read its logs), carol a limited guest (may not).
  for (const [username, role] of [['alice', 2], ['carol', 5]] as const) {
    const m = await api(w.url, 'POST', '/api/v2.0/projects/ext1/members', { auth: adminAuth, body: { role_id: role, member_user: { username } } });
    assert.equal(m.status, 201, explain('POST', 'members', m));
  }
  await pushSmallImage(w.url, 'ext1/app', img, { tag: 'v1', auth: adminAuth });
  await pushSmallImage(w.url, 'ext2/other', smallImage('ext-two'), { tag: 'v1', auth: adminAuth });
  const pull = await request(`${w.url}/v2/ext1/app/manifests/v1`, { headers: { authorization: adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
  await pull.body.text();
  assert.equal(pull.statusCode, 200);
  const tag = await api(w.url, 'POST', `/api/v2.0/projects/ext1/repositories/app/artifacts/${img.digest}/tags`, { auth: adminAuth, body: { name: 'v2' } });
  assert.equal(tag.status, 201, explain('POST', 'tags', tag));
  // A failed login: a system-wide entry (no project).
  assert.equal((await api(w.url, 'GET', '/api/v2.0/users/current', { auth: basic('alice', 'wrong-Passw0rd') })).status, 401);
  // The audit writer reads the outbox on its own: wait for the last event.
  const until = Date.now() + 10_000;
  for (;;) {
    const r = await ext('/auditlog-exts?q=resource_type=tag', adminAuth);
    if (r.items.length > 0) break;
    if (Date.now() > until) assert.fail(`the tag entry never appeared: ${r.text}`);
    await new Promise((res) => setTimeout(res, 100));
  }
});

after(async () => {
  await w.close();
});

describe('GET /auditlog-exts', () => {
  it('shows every entry to the system admin as Harbor AuditLogExt objects', async () => {
    const r = await ext('/auditlog-exts?page_size=100', adminAuth);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.total, String(r.items.length));
    for (const e of r.items) {
      assert.deepEqual(Object.keys(e).sort(), ['id', 'op_time', 'operation', 'operation_description', 'operation_result', 'resource', 'resource_type', 'username']);
      assert.equal(typeof e.id, 'number');
      assert.equal(typeof e.operation_result, 'boolean');
      assert.match(e.op_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    }
    const find = (operation: string, type: string, resource: string) => r.items.find((e) => e.operation === operation && e.resource_type === type && e.resource === resource);
    assert.equal(find('create', 'artifact', 'ext1/app:v1')?.operation_description, 'push artifact: ext1/app:v1');
    assert.equal(find('pull', 'artifact', 'ext1/app:v1')?.operation_description, 'pull artifact: ext1/app:v1');
    assert.equal(find('create', 'tag', 'ext1/app:v2')?.operation_description, 'create tag: ext1/app:v2');
    assert.equal(find('create', 'project', 'ext1')?.operation_description, 'create project: ext1');
    assert.equal(find('create', 'member', 'ext1/alice')?.operation_description, 'create member alice in project ext1');
    const login = find('login', 'user', 'alice');
    assert.equal(login?.operation_description, 'login');
    assert.equal(login?.operation_result, false);
    assert.equal(find('create', 'artifact', 'ext1/app:v1')?.username, 'admin');
  });

  it('pages, filters and sorts as Harbor lists do', async () => {
    const all = await ext('/auditlog-exts?page_size=100', adminAuth);
    const page = await ext('/auditlog-exts?page=2&page_size=2', adminAuth);
    assert.equal(page.status, 200, page.text);
    assert.equal(page.items.length, 2);
    assert.equal(page.total, String(all.items.length));
    assert.match(page.link ?? '', /rel="prev"/);
    // The default order is newest first; sort=op_time reverses it.
    assert.deepEqual(page.items.map((e) => e.id), all.items.slice(2, 4).map((e) => e.id));
    const asc = await ext('/auditlog-exts?sort=op_time,id&page_size=100', adminAuth);
    assert.equal(asc.items[0]?.id, Math.min(...all.items.map((e) => e.id)));
    const tags = await ext('/auditlog-exts?q=resource_type=tag,operation=create', adminAuth);
    assert.ok(tags.items.some((e) => e.resource === 'ext1/app:v2'), tags.text);
    assert.ok(tags.items.every((e) => e.resource_type === 'tag' && e.operation === 'create'), tags.text);
    assert.ok(tags.items.length < all.items.length);
    assert.equal(tags.total, String(tags.items.length));
    const fuzzy = await ext(`/auditlog-exts?q=${encodeURIComponent('resource=~ext2/')}&page_size=100`, adminAuth);
    assert.ok(fuzzy.items.length > 0 && fuzzy.items.every((e) => e.resource.startsWith('ext2/')), fuzzy.text);
  });

  it('shows other users only the entries of projects whose logs they may read', async () => {
    const admin = await ext('/auditlog-exts?page_size=100', adminAuth);
    const a = await ext('/auditlog-exts?page_size=100', alice);
    assert.equal(a.status, 200, a.text);
    assert.ok(a.items.length > 0);
    assert.ok(a.items.every((e) => e.resource === 'ext1' || e.resource.startsWith('ext1/')), a.text);
    assert.ok(a.items.length < admin.items.length);
    assert.ok(!a.items.some((e) => e.operation === 'login'), 'no system-wide entries');
    assert.equal(a.total, String(a.items.length));
    // No project (bob) or a role without the log permission (carol, limited guest): an empty list.
    for (const who of [bob, carol]) {
      const r = await ext('/auditlog-exts', who);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.items, []);
      assert.equal(r.total, '0');
    }
  });

  it('refuses anonymous callers with 401', async () => {
    const r = await ext('/auditlog-exts');
    assert.equal(r.status, 401, r.text);
    assert.equal(errorCode(r.text), 'UNAUTHORIZED');
  });
});

describe('GET /auditlog-exts/events', () => {
  it("lists Harbor's event types to the system admin only", async () => {
    const r = await api(w.url, 'GET', '/api/v2.0/auditlog-exts/events', { auth: adminAuth });
    assert.equal(r.status, 200, r.text);
    const types = shape<Array<{ event_type: string }>>(r.json).map((t) => t.event_type);
    assert.equal(types.length, 18);
    assert.deepEqual(types.slice(0, 4), ['create_artifact', 'delete_artifact', 'pull_artifact', 'create_project']);
    assert.ok(types.includes('login_user') && types.includes('update_configuration'));
    const denied = await api(w.url, 'GET', '/api/v2.0/auditlog-exts/events', { auth: alice });
    assert.equal(denied.status, 403, denied.text);
    assert.equal(errorCode(denied.text), 'FORBIDDEN');
    assert.equal((await api(w.url, 'GET', '/api/v2.0/auditlog-exts/events')).status, 401);
  });
});

describe('GET /projects/{project_name}/auditlog-exts', () => {
  it("shows the project's entries to readers of its logs", async () => {
    const r = await ext('/projects/ext1/auditlog-exts?page_size=100', adminAuth);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.items.length > 0);
    assert.ok(r.items.every((e) => e.resource === 'ext1' || e.resource.startsWith('ext1/')), r.text);
    assert.equal(r.total, String(r.items.length));
    assert.ok(r.items.some((e) => e.operation_description === 'push artifact: ext1/app:v1'));
    const a = await ext('/projects/ext1/auditlog-exts?page_size=100', alice);
    assert.equal(a.status, 200, a.text);
    assert.equal(a.items.length, r.items.length);
    const paged = await ext('/projects/ext1/auditlog-exts?page_size=1', alice);
    assert.equal(paged.items.length, 1);
    assert.match(paged.link ?? '', /rel="next"/);
  });

  it('refuses others: 403 for non-readers, 401 anonymous, 404 for an unknown project', async () => {
    for (const [who, status] of [[bob, 403], [carol, 403], [undefined, 401]] as const) {
      const r = await ext('/projects/ext1/auditlog-exts', who);
      assert.equal(r.status, status, r.text);
    }
    assert.equal((await ext('/projects/no-such/auditlog-exts', adminAuth)).status, 404);
    // {project_name} is always a name, as in Harbor: a project id names nothing.
    const ext1 = shape<{ project_id: number }>((await api(w.url, 'GET', '/api/v2.0/projects/ext1', { auth: adminAuth })).json);
    assert.equal((await ext(`/projects/${ext1.project_id}/auditlog-exts`, adminAuth)).status, 404);
  });
});
