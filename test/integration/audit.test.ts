/**
 * The audit log over real HTTP: operations done through /v2 and /api/v2.0 on a real Wharf appear
 * in /api/v2.0/audit-logs and /api/v2.0/projects/{p}/logs with operator, time, resource,
 * resource_type, operation and result; Harbor's q, sort, page, page_size, X-Total-Count and Link;
 * retention prunes old entries.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { openDataDirDatabase } from '../helpers/db.ts';
import { recordAudit, type AuditLogView } from '../../src/audit/index.ts';
import { adminAuth, startWharf, tempDataDir, type TestWharf } from '../helpers/wharf.ts';
import { api, createPolicy, explain, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';
import { sha256 } from '../helpers/oci-layout.ts';

let w: TestWharf;

/** A parsed JSON body typed as the test reads it. */
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

/** An audit entry as the API returns it. */
type Log = AuditLogView;

async function logs(path: string, auth = adminAuth): Promise<{ status: number; items: Log[]; total: string | undefined; link: string | undefined; text: string }> {
  const a = await api(w.url, 'GET', path, { auth });
  const total = a.headers['x-total-count'];
  const link = a.headers.link;
  return {
    status: a.status,
    items: Array.isArray(a.json) ? shape<Log[]>(a.json) : [],
    total: typeof total === 'string' ? total : undefined,
    link: typeof link === 'string' ? link : undefined,
    text: a.text,
  };
}

/** Polls `path` until `pred` holds for its entries (the audit writer consumes the outbox asynchronously). */
async function waitLogs(path: string, pred: (l: Log[]) => boolean, timeoutMs = 10_000): Promise<Log[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await logs(path);
    assert.equal(r.status, 200, r.text);
    if (pred(r.items)) return r.items;
    if (Date.now() > until) assert.fail(`audit entries never matched at ${path}: ${JSON.stringify(r.items, null, 1)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

function has(l: Log[], operation: string, resourceType: string, resource: string, ok = true): boolean {
  return l.some((e) => e.operation === operation && e.resource_type === resourceType && e.resource === resource && e.operation_result === ok && e.username === 'admin');
}

const img = smallImage('audit-one');

before(async () => {
  w = await startWharf({ overrides: { audit: { poll_ms: 100 } } });
  const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'aud', storage_limit: 100_000 } });
  assert.equal(p.status, 201, explain('POST', 'projects', p));
});

after(async () => {
  await w.close();
});

describe('audit entries', () => {
  it('records push, pull, tag create/delete, artifact delete, repository and project changes, policy changes and refused pushes', async () => {
    await pushSmallImage(w.url, 'aud/app', img, { tag: 'v1', auth: adminAuth });
    const pull = await request(`${w.url}/v2/aud/app/manifests/v1`, { headers: { authorization: adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    await pull.body.text();
    assert.equal(pull.statusCode, 200);
    const tag = await api(w.url, 'POST', `/api/v2.0/projects/aud/repositories/app/artifacts/${img.digest}/tags`, { auth: adminAuth, body: { name: 'v2' } });
    assert.equal(tag.status, 201, explain('POST', 'tags', tag));
    const untag = await api(w.url, 'DELETE', `/api/v2.0/projects/aud/repositories/app/artifacts/${img.digest}/tags/v2`, { auth: adminAuth });
    assert.equal(untag.status, 200, explain('DELETE', 'tag', untag));
    const policyId = await createPolicy(w.url, adminAuth, '/api/v2.0/projects/aud', { name: 'audit-hook', event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: 'http://127.0.0.1:9/x' }] });
    const delPolicy = await api(w.url, 'DELETE', `/api/v2.0/projects/aud/webhook/policies/${policyId}`, { auth: adminAuth });
    assert.equal(delPolicy.status, 200, explain('DELETE', 'policy', delPolicy));
    const upd = await api(w.url, 'PUT', '/api/v2.0/projects/aud', { auth: adminAuth, body: { metadata: { public: 'false' } } });
    assert.equal(upd.status, 200);
    const del = await api(w.url, 'DELETE', `/api/v2.0/projects/aud/repositories/app/artifacts/${img.digest}`, { auth: adminAuth });
    assert.equal(del.status, 200, explain('DELETE', 'artifact', del));

    // A push refused by the quota is audited as a failed create.
    const tmp = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'audtmp', storage_limit: 10 } });
    assert.equal(tmp.status, 201);
    const start = await request(`${w.url}/v2/audtmp/big/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth } });
    await start.body.text();
    const put = new URL(String(start.headers.location), w.url);
    const data = Buffer.alloc(11, 1);
    put.searchParams.set('digest', sha256(data));
    const refused = await request(put.toString(), { method: 'PUT', headers: { authorization: adminAuth }, body: data });
    await refused.body.text();
    assert.equal(refused.statusCode, 403);
    const delProject = await api(w.url, 'DELETE', '/api/v2.0/projects/audtmp', { auth: adminAuth });
    assert.equal(delProject.status, 200, explain('DELETE', 'project', delProject));

    // Members, robots and failed logins (recorded by their services; the failure through the login limiter's hook).
    const user = await api(w.url, 'POST', '/api/v2.0/users', {
      auth: adminAuth,
      body: { username: 'audalice', email: 'audalice@example.com', realname: 'Alice', password: 'Audit12345', comment: '' },
    });
    assert.equal(user.status, 201, explain('POST', 'users', user));
    const member = await api(w.url, 'POST', '/api/v2.0/projects/aud/members', { auth: adminAuth, body: { role_id: 2, member_user: { username: 'audalice' } } });
    assert.equal(member.status, 201, explain('POST', 'members', member));
    const robot = await api(w.url, 'POST', '/api/v2.0/robots', {
      auth: adminAuth,
      body: { name: 'puller', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'aud', access: [{ resource: 'repository', action: 'pull' }] }] },
    });
    assert.equal(robot.status, 201, explain('POST', 'robots', robot));
    const wrong = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: 'Basic ' + Buffer.from('audalice:not-her-password').toString('base64') });
    assert.equal(wrong.status, 401);

    const all = await waitLogs('/api/v2.0/audit-logs?page_size=100', (l) => has(l, 'delete', 'project', 'audtmp') && l.some((e) => e.operation === 'login'));
    const failedLogin = all.find((e) => e.operation === 'login');
    assert.deepEqual(
      failedLogin && { username: failedLogin.username, resource: failedLogin.resource, resource_type: failedLogin.resource_type, ok: failedLogin.operation_result },
      { username: 'audalice', resource: 'audalice', resource_type: 'user', ok: false },
    );
    const expected: Array<[string, string, string, boolean?]> = [
      ['create', 'project', 'aud'],
      ['create', 'repository', 'aud/app'],
      ['create', 'artifact', 'aud/app:v1'],
      ['create', 'tag', 'aud/app:v1'],
      ['pull', 'artifact', 'aud/app:v1'],
      ['create', 'tag', 'aud/app:v2'],
      ['delete', 'tag', 'aud/app:v2'],
      ['create', 'webhook_policy', 'aud/audit-hook'],
      ['delete', 'webhook_policy', 'aud/audit-hook'],
      ['update', 'project', 'aud'],
      ['delete', 'artifact', `aud/app@${img.digest}`],
      ['create', 'blob', 'audtmp/big', false],
      ['delete', 'project', 'audtmp'],
      ['create', 'member', 'aud/audalice'],
      ['create', 'robot', 'robot$aud+puller'],
    ];
    for (const [op, type, res, ok] of expected) {
      assert.ok(has(all, op, type, res, ok ?? true), `missing ${op} ${type} ${res}: ${JSON.stringify(all, null, 1)}`);
    }
    for (const e of all) assert.match(e.op_time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    // Newest first by default.
    const times = all.map((e) => Date.parse(e.op_time));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
  });
});

describe('audit queries', () => {
  it('filters with q, sorts, pages with X-Total-Count and Link, and scopes /projects/{p}/logs', async () => {
    await waitLogs('/api/v2.0/audit-logs?page_size=100', (l) => has(l, 'delete', 'project', 'audtmp'));

    const pulls = await logs('/api/v2.0/audit-logs?q=operation=pull');
    assert.ok(pulls.items.length >= 1 && pulls.items.every((e) => e.operation === 'pull'), pulls.text);
    const tags = await logs('/api/v2.0/audit-logs?q=resource_type=tag,resource=~app:v2');
    assert.deepEqual(tags.items.map((e) => e.operation).sort(), ['create', 'delete']);
    assert.equal(tags.total, '2');
    const byUser = await logs('/api/v2.0/audit-logs?q=username=admin&page_size=100');
    assert.equal(byUser.items.length, Number(byUser.total));
    assert.equal((await logs('/api/v2.0/audit-logs?q=username=nobody')).total, '0');

    const asc = await logs('/api/v2.0/audit-logs?sort=op_time&page_size=100');
    const ascTimes = asc.items.map((e) => Date.parse(e.op_time));
    assert.deepEqual(ascTimes, [...ascTimes].sort((a, b) => a - b));
    assert.equal(asc.items[0]?.resource, 'library', 'the first entry is the library project created at first start');

    const total = Number(asc.total);
    const page2 = await logs('/api/v2.0/audit-logs?page=2&page_size=3');
    assert.equal(page2.items.length, 3);
    assert.equal(page2.total, String(total));
    assert.match(page2.link ?? '', /<\/api\/v2\.0\/audit-logs\?page=1&page_size=3>; rel="prev" , <\/api\/v2\.0\/audit-logs\?page=3&page_size=3>; rel="next"/);

    // op_time ranges: everything up to now, nothing in the far past, open ends.
    const now = new Date(Date.now() + 1000).toISOString().replace('T', ' ').slice(0, 19);
    const inRange = await logs(`/api/v2.0/audit-logs?q=${encodeURIComponent(`op_time=[2000-01-01 00:00:00~${now}]`)}`);
    assert.equal(inRange.total, String(total));
    assert.equal((await logs(`/api/v2.0/audit-logs?q=${encodeURIComponent('op_time=[2000-01-01 00:00:00~2000-01-02 00:00:00]')}`)).total, '0');
    const secs = Math.floor(Date.now() / 1000) + 5;
    assert.equal((await logs(`/api/v2.0/audit-logs?q=${encodeURIComponent(`op_time=[${secs}~]`)}`)).total, '0');

    const project = await logs('/api/v2.0/projects/aud/logs?page_size=100');
    assert.equal(project.status, 200, project.text);
    assert.ok(project.items.length > 0);
    assert.ok(project.items.every((e) => e.resource.startsWith('aud') || e.resource === 'robot$aud+puller'), project.text);
    assert.ok(!project.items.some((e) => e.resource.startsWith('audtmp') || e.resource === 'library'));
    const byId = await api(w.url, 'GET', '/api/v2.0/projects/aud', { auth: adminAuth });
    const id = shape<{ project_id: number }>(byId.json).project_id;
    assert.equal((await logs(`/api/v2.0/projects/${id}/logs?page_size=100`)).total, project.total);
  });

  it('refuses bad queries and callers who may not read the log', async () => {
    for (const [q, status] of [['q=op_time=yesterday', 400], ['q=op_time=[x~y]', 400], ['q=op_time=[~]', 400], ['q=nope', 400], ['page=x', 422], ['page_size=101', 422]] as const) {
      const r = await logs(`/api/v2.0/audit-logs?${q}`);
      assert.equal(r.status, status, `${q}: ${r.text}`);
    }
    // Unknown q keys and sort fields are ignored, as Harbor ignores them.
    const all = await logs('/api/v2.0/audit-logs?q=resource_type=project');
    assert.ok(Number(all.total) > 0);
    for (const q of ['q=resource_type=project,nope=1', 'q=resource_type=project&sort=nope', 'q=resource_type=project&page=0']) {
      const r = await logs(`/api/v2.0/audit-logs?${q}`);
      assert.equal(r.status, 200, `${q}: ${r.text}`);
      assert.equal(r.total, all.total, q);
    }
    assert.equal((await logs('/api/v2.0/audit-logs', '')).status, 401);
    assert.equal((await logs('/api/v2.0/projects/aud/logs', '')).status, 401);
    assert.equal((await logs('/api/v2.0/projects/nosuchproject/logs')).status, 404);
  });
});

describe('audit retention', () => {
  it('prunes entries older than audit.retention_days at start (the hourly retention purge job)', async () => {
    const dataDir = tempDataDir();
    const first = await startWharf({ dataDir });
    await first.close({ keepData: true });
    const db = await openDataDirDatabase(dataDir);
    const old = Date.now() - 3 * 86_400_000;
    await recordAudit(db.kysely, { projectId: null, username: 'ghost', operation: 'login', resourceType: 'user', resource: 'ghost', result: 'failure', opTime: old });
    await recordAudit(db.kysely, { projectId: null, username: 'recent', operation: 'login', resourceType: 'user', resource: 'recent', result: 'failure' });
    await db.close();
    const second = await startWharf({ dataDir, overrides: { audit: { retention_days: 2 } } });
    try {
      const until = Date.now() + 5000;
      let names: string[] = [];
      for (;;) {
        const a = await api(second.url, 'GET', '/api/v2.0/audit-logs?q=operation=login', { auth: adminAuth });
        names = shape<Log[]>(a.json).map((e) => e.username);
        if (!names.includes('ghost') || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(names, ['recent']);
    } finally {
      await second.close();
    }
  });
});
