/**
 * Registry bearer tokens (from /service/token) on /api/v2.0, over real HTTP and a real SQLite:
 * a token is worth what an anonymous caller may do (public reads) plus the repository actions in
 * its access list, intersected with its account's own rights; every other API action is refused.
 *
 * The write routes are not listed by hand: they are read from the running app's route table
 * (Fastify's printRoutes), so a new /api/v2.0 route with a write method is checked automatically;
 * a route whose parameters this file does not know fails the test until a value is added below.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { routesOf } from '../helpers/routes.ts';
import { api, explain, pushSmallImage, smallImage, type ApiAnswer } from '../helpers/webhook-client.ts';
import type { Dispatcher } from 'undici';

// Casts in this file (`x.json as T`) name the shape the API documents for a parsed JSON body; the
// assertions that follow check the fields they use.
const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
const password = 'Passw0rdOne';
const manifestAccept = 'application/vnd.oci.image.manifest.v1+json';

async function tokenFor(w: TestWharf, scopes: string[], auth?: string): Promise<string> {
  const q = new URLSearchParams({ service: 'wharf' });
  for (const s of scopes) q.append('scope', s);
  const r = await fetch(`${w.url}/service/token?${q.toString()}`, { headers: auth ? { authorization: auth } : {} });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  // The endpoint answers JSON with a `token` field.
  return (JSON.parse(text) as { token: string }).token;
}

function idFromLocation(a: ApiAnswer): number {
  const loc = a.headers.location;
  const id = Number(String(Array.isArray(loc) ? loc[0] : loc).split('/').pop());
  assert.ok(Number.isInteger(id), `no id in Location of ${a.status} ${a.text}`);
  return id;
}

function errorCodes(a: ApiAnswer): string[] {
  // Harbor's error format: {"errors":[{"code","message"}]}.
  const body = a.json as { errors?: Array<{ code: string }> } | undefined;
  return (body?.errors ?? []).map((e) => e.code);
}

const robotPerms = [{ kind: 'project', namespace: 'p1', access: [{ resource: 'repository', action: 'pull' }] }];
const policyBody = (name: string) => ({ name, enabled: true, event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: 'http://127.0.0.1:9/hook' }] });

describe('registry tokens on /api/v2.0', () => {
  let w: TestWharf;
  const ids = { owner: 0, dev: 0, robot: 0, member: 0, policy: 0, systemPolicy: 0, quota: 0, retention: 0 };
  let robotName = '';
  let robotSecret = '';

  before(async () => {
    w = await startWharf();
    const call = async (method: Dispatcher.HttpMethod, path: string, body?: unknown, status = 201): Promise<ApiAnswer> => {
      const a = await api(w.url, method, path, { auth: adminAuth, body });
      assert.equal(a.status, status, explain(method, path, a));
      return a;
    };
    ids.quota = idFromLocation(await call('POST', '/api/v2.0/projects', { project_name: 'p1', metadata: { public: 'false' } }));
    for (const u of ['owner', 'dev', 'outsider']) await call('POST', '/api/v2.0/users', { username: u, password, email: `${u}@example.com`, realname: u });
    await call('POST', '/api/v2.0/projects/p1/members', { role_id: 1, member_user: { username: 'owner' } });
    ids.member = idFromLocation(await call('POST', '/api/v2.0/projects/p1/members', { role_id: 2, member_user: { username: 'dev' } }));
    const users = (await call('GET', '/api/v2.0/users', undefined, 200)).json as Array<{ user_id: number; username: string }>;
    ids.owner = users.find((u) => u.username === 'owner')?.user_id ?? 0;
    ids.dev = users.find((u) => u.username === 'dev')?.user_id ?? 0;
    const robot = await call('POST', '/api/v2.0/robots', { name: 'puller', level: 'project', duration: -1, permissions: robotPerms });
    const created = robot.json as { id: number; name: string; secret: string };
    ids.robot = created.id;
    robotName = created.name;
    robotSecret = created.secret;
    ids.policy = idFromLocation(await call('POST', '/api/v2.0/projects/p1/webhook/policies', policyBody('p1-hook')));
    ids.systemPolicy = idFromLocation(await call('POST', '/api/v2.0/system/webhook/policies', policyBody('sys-hook')));
    for (const repo of ['p1/app', 'p1/other', 'p1/scratch']) await pushSmallImage(w.url, repo, smallImage(repo), { tag: 'v1', auth: adminAuth });
    ids.retention = idFromLocation(await call('POST', '/api/v2.0/retentions', retentionBody()));
  });
  after(async () => {
    await w.close();
  });

  /** A tag retention policy of p1 that keeps everything. */
  function retentionBody(): unknown {
    const all = { kind: 'doublestar', decoration: 'matches', pattern: '**', extras: '{"untagged":true}' };
    return { algorithm: 'or', scope: { level: 'project', ref: ids.quota }, trigger: { kind: 'Schedule', settings: { cron: '' }, references: {} }, rules: [{ action: 'retain', template: 'always', params: {}, tag_selectors: [all], scope_selectors: { repository: [{ ...all, decoration: 'repoMatches' }] } }] };
  }

  /** A value for each path parameter of the write routes; the policy id depends on the tree. */
  function paramValue(name: string, path: string): string | undefined {
    const first = name.split('|')[0]?.replace(/^:/, '') ?? '';
    const values: Record<string, string> = {
      project_name_or_id: 'p1',
      project_name: 'p1',
      repository_name: 'app',
      reference: 'v1',
      tag_name: 'v1',
      policy_id: String(path.startsWith('/api/v2.0/system/') ? ids.systemPolicy : ids.policy),
      execution_id: '1',
      task_id: '1',
      mid: String(ids.member),
      robot_id: String(ids.robot),
      user_id: String(ids.owner),
      id: String(path.startsWith('/api/v2.0/retentions/') ? ids.retention : ids.quota),
      gc_id: '1',
      job_type: 'GARBAGE_COLLECTION',
      job_id: '1',
      pool_id: '1',
      registration_id: '00000000-0000-0000-0000-000000000000',
      label_id: '1',
      group_id: '1',
      preheat_instance_name: 'x',
      preheat_policy_name: 'x',
      immutable_rule_id: '1',
      meta_name: 'auto_scan',
      eid: '1',
      tid: '1',
      relay_id: '1',
      // An event feed consumer's name (DELETE /events/consumers/:name).
      name: 'ci-bot',
    };
    return values[first];
  }

  /** A body each write would accept from the system admin with Basic credentials. */
  function bodyFor(method: string, path: string): unknown {
    const bodies: Record<string, unknown> = {
      'POST /api/v2.0/projects': { project_name: 'made-by-token', metadata: { public: 'true' } },
      'PUT /api/v2.0/projects/:p': { metadata: { public: 'true' } },
      'POST /api/v2.0/projects/:p/repositories/:r/artifacts/:ref/tags': { name: 'made-by-token' },
      'POST /api/v2.0/projects/:p/webhook/policies': policyBody('by-token'),
      'PUT /api/v2.0/projects/:p/webhook/policies/:id': policyBody('p1-hook'),
      'POST /api/v2.0/projects/:p/webhook/policies/test': { type: 'http', address: 'http://127.0.0.1:9/hook' },
      'POST /api/v2.0/system/webhook/policies': policyBody('sys-by-token'),
      'PUT /api/v2.0/system/webhook/policies/:id': policyBody('sys-hook'),
      'POST /api/v2.0/system/webhook/policies/test': { type: 'http', address: 'http://127.0.0.1:9/hook' },
      'POST /api/v2.0/projects/:p/members': { role_id: 2, member_user: { username: 'outsider' } },
      'PUT /api/v2.0/projects/:p/members/:id': { role_id: 4 },
      'POST /api/v2.0/robots': { name: 'pusher', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'p1', access: [{ resource: 'repository', action: 'push' }] }] },
      'PUT /api/v2.0/robots/:id': { description: 'changed', disable: false, duration: -1, permissions: robotPerms },
      'PATCH /api/v2.0/robots/:id': {},
      'POST /api/v2.0/system/gc/schedule': { schedule: { type: 'Manual' } },
      'PUT /api/v2.0/configurations': { notification_enable: true },
      'PUT /api/v2.0/quotas/:id': { hard: { storage: -1 } },
      'POST /api/v2.0/users': { username: 'made-by-token', password: 'Passw0rdTok', email: 'tok@example.com', realname: 't' },
      'PUT /api/v2.0/users/:id': { email: 'changed@example.com' },
      'PUT /api/v2.0/users/:id/password': { old_password: password, new_password: 'Passw0rdNew1' },
      'PUT /api/v2.0/users/:id/sysadmin': { sysadmin_flag: true },
      'PATCH /api/v2.0/scanners/:id': { is_default: true },
      'PUT /api/v2.0/projects/:p/scanner': { uuid: '00000000-0000-0000-0000-000000000000' },
      'PUT /api/v2.0/system/CVEAllowlist': { items: [{ cve_id: 'CVE-2023-4863' }] },
      'PUT /api/v2.0/projects/:p/repositories/:r': { description: 'changed' },
      'POST /api/v2.0/retentions': retentionBody(),
      'PUT /api/v2.0/retentions/:id': retentionBody(),
      'POST /api/v2.0/retentions/:id/executions': { dry_run: true },
      'PATCH /api/v2.0/retentions/:id/executions/:id': { action: 'stop' },
    };
    const short: Record<string, string> = { project_name_or_id: 'p', project_name: 'p', repository_name: 'r', reference: 'ref' };
    const key = `${method} ${path.replace(/:([a-z_]+)(?:\|:[a-z_]+)*/g, (_m, name: string) => `:${short[name] ?? 'id'}`)}`;
    return bodies[key];
  }

  function concrete(path: string): string {
    return path.replace(/:[a-z_]+(?:\|:[a-z_]+)*/g, (param) => {
      const v = paramValue(param, path);
      assert.ok(v !== undefined, `no test value for the parameter ${param} of ${path}: add one to paramValue`);
      return encodeURIComponent(v);
    });
  }

  it('every /api/v2.0 write refuses a scope-less, a pull-only and an anonymous token (admin, project admin, robot)', async () => {
    const writes = routesOf(w.wharf.app.printRoutes({ commonPrefix: false })).filter(
      // A relay's receiving route takes no user: the token in its path is its credential (test/integration/webhook-relay.test.ts).
      (r) => r.path.startsWith('/api/v2.0/') && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) && r.path !== '/api/v2.0/relay/:token',
    );
    const seen = new Set(writes.map((r) => `${r.method} ${r.path}`));
    // The route table was read: it holds the writes this issue is about.
    for (const known of [
      'DELETE /api/v2.0/projects/:project_name_or_id|:project_name/repositories/:repository_name/artifacts/:reference/tags/:tag_name',
      'POST /api/v2.0/projects/:project_name_or_id|:project_name/repositories/:repository_name/artifacts/:reference/tags',
      'PATCH /api/v2.0/robots/:robot_id',
      'POST /api/v2.0/robots',
      'PUT /api/v2.0/projects/:project_name_or_id|:project_name',
      'POST /api/v2.0/projects/:project_name_or_id|:project_name/webhook/policies',
    ]) {
      assert.ok(seen.has(known), `${known} not found in the route table: ${[...seen].join('; ')}`);
    }
    assert.ok(writes.length >= 30, `only ${writes.length} write routes read from the route table`);

    const robotAuth = basic(robotName, robotSecret);
    const tokens: Array<{ who: string; token: string; anonymous: boolean }> = [];
    for (const [who, auth] of [
      ['admin', adminAuth],
      ['owner', basic('owner', password)],
      ['robot', robotAuth],
    ] as const) {
      tokens.push({ who: `${who} scope-less`, token: await tokenFor(w, [], auth), anonymous: false });
      tokens.push({ who: `${who} pull p1/app`, token: await tokenFor(w, ['repository:p1/app:pull'], auth), anonymous: false });
      tokens.push({ who: `${who} pull p1/other`, token: await tokenFor(w, ['repository:p1/other:pull'], auth), anonymous: false });
    }
    tokens.push({ who: 'anonymous', token: await tokenFor(w, ['repository:p1/app:pull']), anonymous: true });

    const failures: string[] = [];
    for (const r of writes) {
      const path = concrete(r.path);
      const body = bodyFor(r.method, r.path);
      for (const t of tokens) {
        // The route table's methods are HTTP methods.
        const a = await api(w.url, r.method as Dispatcher.HttpMethod, path, { auth: `Bearer ${t.token}`, body });
        const want = t.anonymous ? { status: 401, code: 'UNAUTHORIZED', message: /authentication required/ } : { status: 403, code: 'FORBIDDEN', message: /bearer token/ };
        // The message tells a refusal of the token from any other 403 (a private webhook target, say).
        if (a.status !== want.status || errorCodes(a)[0] !== want.code || !want.message.test(a.text)) failures.push(`${t.who}: ${explain(r.method, path, a).slice(0, 300)}`);
      }
    }
    assert.deepEqual(failures, []);

    // Nothing was changed: the tag, the project's privacy, the robot's secret.
    const tags = await api(w.url, 'GET', '/api/v2.0/projects/p1/repositories/app/artifacts/v1/tags', { auth: adminAuth });
    assert.deepEqual((tags.json as Array<{ name: string }>).map((t) => t.name), ['v1']);
    const p1 = await api(w.url, 'GET', '/api/v2.0/projects/p1', { auth: adminAuth });
    assert.equal((p1.json as { metadata: { public: string } }).metadata.public, 'false');
    assert.equal((await fetch(`${w.url}/v2/`, { headers: { authorization: robotAuth } })).status, 200);
  });

  it('a robot’s own pull token cannot rotate its secret; its Basic credentials still can', async () => {
    const auth = basic(robotName, robotSecret);
    const token = await tokenFor(w, ['repository:p1/app:pull'], auth);
    const refused = await api(w.url, 'PATCH', `/api/v2.0/robots/${ids.robot}`, { auth: `Bearer ${token}`, body: {} });
    assert.equal(refused.status, 403, refused.text);
    assert.deepEqual(errorCodes(refused), ['FORBIDDEN']);
    assert.match(refused.text, /bearer token/);
    assert.equal((await fetch(`${w.url}/v2/`, { headers: { authorization: auth } })).status, 200);
    const ok = await api(w.url, 'PATCH', `/api/v2.0/robots/${ids.robot}`, { auth, body: { secret: 'NewSecr3tForRobot' } });
    assert.equal(ok.status, 200, ok.text);
    robotSecret = 'NewSecr3tForRobot';
    assert.equal((await fetch(`${w.url}/v2/`, { headers: { authorization: basic(robotName, robotSecret) } })).status, 200);
  });

  it('a pull-only token (even for another repository) cannot add or delete tags; push and delete tokens can', async () => {
    const tagsPath = '/api/v2.0/projects/p1/repositories/app/artifacts/v1/tags';
    for (const scope of ['repository:p1/app:pull', 'repository:p1/other:pull,push,delete']) {
      const token = await tokenFor(w, [scope], basic('owner', password));
      const add = await api(w.url, 'POST', tagsPath, { auth: `Bearer ${token}`, body: { name: 'v3' } });
      assert.equal(add.status, 403, `${scope}: ${add.text}`);
      const del = await api(w.url, 'DELETE', `${tagsPath}/v1`, { auth: `Bearer ${token}` });
      assert.equal(del.status, 403, `${scope}: ${del.text}`);
    }
    const push = await tokenFor(w, ['repository:p1/app:push'], basic('owner', password));
    const add = await api(w.url, 'POST', tagsPath, { auth: `Bearer ${push}`, body: { name: 'v3' } });
    assert.equal(add.status, 201, add.text);
    // A push token does not delete.
    assert.equal((await api(w.url, 'DELETE', `${tagsPath}/v3`, { auth: `Bearer ${push}` })).status, 403);
    const del = await tokenFor(w, ['repository:p1/app:delete'], basic('owner', password));
    const gone = await api(w.url, 'DELETE', `${tagsPath}/v3`, { auth: `Bearer ${del}` });
    assert.equal(gone.status, 200, gone.text);
    const tags = await api(w.url, 'GET', tagsPath, { auth: adminAuth });
    assert.deepEqual((tags.json as Array<{ name: string }>).map((t) => t.name), ['v1']);
  });

  it('a delete token deletes artifacts and the repository it names, nothing else', async () => {
    const token = await tokenFor(w, ['repository:p1/scratch:delete'], adminAuth);
    const auth = `Bearer ${token}`;
    assert.equal((await api(w.url, 'DELETE', '/api/v2.0/projects/p1/repositories/other', { auth })).status, 403);
    assert.equal((await api(w.url, 'DELETE', '/api/v2.0/projects/p1', { auth })).status, 403);
    const art = await api(w.url, 'DELETE', '/api/v2.0/projects/p1/repositories/scratch/artifacts/v1', { auth });
    assert.equal(art.status, 200, art.text);
    const repo = await api(w.url, 'DELETE', '/api/v2.0/projects/p1/repositories/scratch', { auth });
    assert.equal(repo.status, 200, repo.text);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/projects/p1/repositories/other', { auth: adminAuth })).status, 200);
  });

  it('a token never grants more than its account: a push token of a user demoted to guest cannot tag', async () => {
    const token = await tokenFor(w, ['repository:p1/app:pull,push'], basic('dev', password));
    const tagsPath = '/api/v2.0/projects/p1/repositories/app/artifacts/v1/tags';
    const demote = await api(w.url, 'PUT', `/api/v2.0/projects/p1/members/${ids.member}`, { auth: adminAuth, body: { role_id: 3 } });
    assert.equal(demote.status, 200, demote.text);
    try {
      const add = await api(w.url, 'POST', tagsPath, { auth: `Bearer ${token}`, body: { name: 'by-guest' } });
      assert.equal(add.status, 403, add.text);
    } finally {
      await api(w.url, 'PUT', `/api/v2.0/projects/p1/members/${ids.member}`, { auth: adminAuth, body: { role_id: 2 } });
    }
    const add = await api(w.url, 'POST', tagsPath, { auth: `Bearer ${token}`, body: { name: 'by-dev' } });
    assert.equal(add.status, 201, add.text);
    assert.equal((await api(w.url, 'DELETE', `${tagsPath}/by-dev`, { auth: adminAuth })).status, 200);
  });

  it('reads: a pull token reads its repository; otherwise a token sees what an anonymous caller sees', async () => {
    const token = await tokenFor(w, ['repository:p1/app:pull'], basic('owner', password));
    const auth = `Bearer ${token}`;
    const base = '/api/v2.0/projects/p1/repositories';
    for (const path of [`${base}/app`, `${base}/app/artifacts`, `${base}/app/artifacts/v1`, `${base}/app/artifacts/v1/tags`]) {
      const a = await api(w.url, 'GET', path, { auth });
      assert.equal(a.status, 200, explain('GET', path, a));
    }
    for (const path of [`${base}/other`, `${base}/other/artifacts`, '/api/v2.0/projects/p1', base, '/api/v2.0/projects/p1/members', '/api/v2.0/users/current', `/api/v2.0/robots/${ids.robot}`]) {
      const a = await api(w.url, 'GET', path, { auth });
      assert.equal(a.status, 403, explain('GET', path, a));
    }
    // Listings: public projects only, as for an anonymous caller, though owner is a member of p1.
    const projects = await api(w.url, 'GET', '/api/v2.0/projects', { auth });
    assert.deepEqual((projects.json as Array<{ name: string }>).map((p) => p.name), ['library']);
    const withBasic = await api(w.url, 'GET', '/api/v2.0/projects', { auth: basic('owner', password) });
    assert.deepEqual((withBasic.json as Array<{ name: string }>).map((p) => p.name).sort(), ['library', 'p1']);
    const repos = await api(w.url, 'GET', '/api/v2.0/repositories', { auth });
    assert.deepEqual(repos.json, []);
  });

  it('Basic credentials of the same accounts keep their full API rights', async () => {
    const owner = basic('owner', password);
    const tag = await api(w.url, 'POST', '/api/v2.0/projects/p1/repositories/app/artifacts/v1/tags', { auth: owner, body: { name: 'basic' } });
    assert.equal(tag.status, 201, tag.text);
    assert.equal((await api(w.url, 'DELETE', '/api/v2.0/projects/p1/repositories/app/artifacts/v1/tags/basic', { auth: owner })).status, 200);
    const robot = await api(w.url, 'POST', '/api/v2.0/robots', {
      auth: owner,
      body: { name: 'ci', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'p1', access: [{ resource: 'repository', action: 'push' }] }] },
    });
    assert.equal(robot.status, 201, robot.text);
    const me = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: owner });
    assert.equal((me.json as { username: string }).username, 'owner');
  });

  it('/v2 is unchanged: a pull token pulls, cannot push; a token for one repository does not reach another', async () => {
    const token = await tokenFor(w, ['repository:p1/app:pull'], basic('owner', password));
    const auth = `Bearer ${token}`;
    assert.equal((await fetch(`${w.url}/v2/p1/app/manifests/v1`, { headers: { authorization: auth, accept: manifestAccept } })).status, 200);
    assert.equal((await fetch(`${w.url}/v2/p1/app/blobs/uploads/`, { method: 'POST', headers: { authorization: auth } })).status, 403);
    assert.equal((await fetch(`${w.url}/v2/p1/other/manifests/v1`, { headers: { authorization: auth, accept: manifestAccept } })).status, 403);
    // The catalog still lists what the account may pull (its role in p1).
    const catalogToken = await tokenFor(w, ['registry:catalog:*'], basic('owner', password));
    const cat = await fetch(`${w.url}/v2/_catalog`, { headers: { authorization: `Bearer ${catalogToken}` } });
    assert.equal(cat.status, 200);
    const names = ((await cat.json()) as { repositories: string[] }).repositories;
    assert.ok(names.includes('p1/app'), names.join(','));
  });
});

describe('routesOf', () => {
  it('reads methods and full paths from the printed tree', () => {
    const tree = ['├── /v2 (GET, HEAD)', '│   └── / (GET)', '│       └── * (PUT, DELETE)', '└── /api/v2.0/robots (POST)', '    └── /:robot_id (PATCH)'].join('\n');
    assert.deepEqual(routesOf(tree), [
      { method: 'GET', path: '/v2' },
      { method: 'HEAD', path: '/v2' },
      { method: 'GET', path: '/v2/' },
      { method: 'PUT', path: '/v2/*' },
      { method: 'DELETE', path: '/v2/*' },
      { method: 'POST', path: '/api/v2.0/robots' },
      { method: 'PATCH', path: '/api/v2.0/robots/:robot_id' },
    ]);
  });
});
