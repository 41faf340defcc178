/**
 * Issue 8, items 7-9, over real HTTP: secrets in target addresses and in echoed request headers
 * never reach maintainers; private and loopback targets need a system admin or an allow-listed
 * network, and a project admin learns nothing about ports there; IPv6 forms that embed an IPv4
 * address are judged by it. Events are appended to the outbox as the registry does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Outbox } from '../../src/events/index.ts';
import { adminAuth, freePort, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, type ApiAnswer } from '../helpers/webhook-client.ts';

const password = 'Secur1ty-Passw0rd';
const basic = (user: string, secret: string): string => 'Basic ' + Buffer.from(`${user}:${secret}`).toString('base64');
const padminAuth = basic('sec-padmin', password);
const maintAuth = basic('sec-maint', password);
const outbox = new Outbox();

/** A receiver that answers every request with a JSON echo of its URL and headers (as some debugging endpoints do). */
interface Echo {
  url: string;
  port: number;
  requests: Array<{ url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

async function startEcho(): Promise<Echo> {
  const requests: Echo['requests'] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json', 'x-seen-authorization': req.headers.authorization ?? '' });
      res.end(JSON.stringify({ echo: true, url: req.url, headers: req.headers }));
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function ok(a: ApiAnswer, status: number, what: string): ApiAnswer {
  assert.equal(a.status, status, explain(what, '', a));
  return a;
}

function obj(v: unknown): Record<string, unknown> {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), JSON.stringify(v));
  return v as Record<string, unknown>; // checked above
}

/** A project `name` with `sec-padmin` as project admin and `sec-maint` as maintainer. */
async function setUp(w: TestWharf, name: string): Promise<void> {
  ok(await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: name, metadata: { public: 'false' } } }), 201, 'create project');
  for (const [username, role] of [
    ['sec-padmin', 1],
    ['sec-maint', 4],
  ] as const) {
    const u = await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username, email: `${username}@example.com`, realname: username, password, comment: '' } });
    assert.ok(u.status === 201 || u.status === 409, explain('POST', '/users', u));
    ok(await api(w.url, 'POST', `/api/v2.0/projects/${name}/members`, { auth: adminAuth, body: { role_id: role, member_user: { username } } }), 201, 'add member');
  }
}

const policyBody = (name: string, address: string, extra: Record<string, unknown> = {}) => ({
  name,
  enabled: true,
  event_types: ['PUSH_ARTIFACT'],
  targets: [{ type: 'http', address, payload_format: 'Default', ...extra }],
});

async function create(w: TestWharf, project: string, auth: string, body: unknown): Promise<ApiAnswer> {
  return api(w.url, 'POST', `/api/v2.0/projects/${project}/webhook/policies`, { auth, body });
}

function idOf(a: ApiAnswer): number {
  const loc = a.headers.location;
  return Number(String(Array.isArray(loc) ? loc[0] : loc).split('/').pop());
}

/** Appends a push event of `project/app:tag` to the outbox (what a manifest PUT does). */
async function push(w: TestWharf, project: string, tag: string): Promise<void> {
  const db = w.wharf.db.kysely;
  const p = await db.selectFrom('projects').select(['id', 'name', 'public']).where('name', '=', project).executeTakeFirstOrThrow();
  await outbox.append(db, {
    type: 'PUSH_ARTIFACT',
    operator: 'admin',
    project: { id: p.id, name: p.name, public: p.public === 1 },
    repository: { id: 1, name: `${project}/app`, creationTime: Date.now() },
    artifact: { digest: `sha256:${'c'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 42, tag, tags: [tag], artifactType: null },
  });
}

/** Waits for the policy's newest execution to end; returns its id, its task id and the task log as `auth` reads it. */
async function finished(w: TestWharf, project: string, policyId: number, auth = adminAuth): Promise<{ executionId: number; taskId: number; status: string; log: (as?: string) => Promise<string> }> {
  const base = `/api/v2.0/projects/${project}/webhook/policies/${policyId}/executions`;
  let e: Record<string, unknown> | null = null;
  for (const deadline = Date.now() + 15_000; e === null; await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline) throw new Error(`policy ${policyId}: no finished execution after 15 s`);
    const list = await api(w.url, 'GET', base, { auth });
    const first = Array.isArray(list.json) && list.json.length > 0 ? obj(list.json[0]) : null;
    if (first && first.end_time !== '0001-01-01T00:00:00Z') e = first;
  }
  const executionId = Number(e.id);
  const tasks = await api(w.url, 'GET', `${base}/${executionId}/tasks`, { auth });
  const taskId = Number(obj(Array.isArray(tasks.json) ? tasks.json[0] : null).id);
  return {
    executionId,
    taskId,
    status: String(e.status),
    log: async (as = auth) => ok(await api(w.url, 'GET', `${base}/${executionId}/tasks/${taskId}/log`, { auth: as }), 200, 'task log').text,
  };
}

describe('secrets in target addresses and echoed headers (issue 8, item 7)', () => {
  let w: TestWharf;
  let echo: Echo;

  before(async () => {
    w = await startWharf({ overrides: { webhooks: { retry_schedule: [0] } } });
    echo = await startEcho();
    await setUp(w, 'sec');
  });
  after(async () => {
    await echo.close();
    await w.close();
  });

  it('GET and list hide the userinfo password and ?token=; a PUT of what GET gave keeps them', async () => {
    const address = `http://hookuser:Pa55-w0rd-X@127.0.0.1:${echo.port}/hook?token=Qu3ry-T0k3n-X&team=ops`;
    const id = idOf(ok(await create(w, 'sec', adminAuth, policyBody('addr', address)), 201, 'create'));
    const shown = `http://hookuser:<redacted>@127.0.0.1:${echo.port}/hook?token=<redacted>&team=ops`;
    const path = `/api/v2.0/projects/sec/webhook/policies`;
    for (const auth of [adminAuth, maintAuth]) {
      const g = ok(await api(w.url, 'GET', `${path}/${id}`, { auth }), 200, 'GET');
      const l = ok(await api(w.url, 'GET', path, { auth }), 200, 'list');
      for (const text of [g.text, l.text]) {
        assert.ok(!text.includes('Pa55-w0rd-X') && !text.includes('Qu3ry-T0k3n-X'), text);
      }
      assert.equal(obj(obj(g.json).targets && (obj(g.json).targets as unknown[])[0]).address, shown);
    }

    // Harbor's read-modify-write: the redacted address comes back and the stored one stays.
    const view = obj(ok(await api(w.url, 'GET', `${path}/${id}`, { auth: adminAuth }), 200, 'GET').json);
    ok(await api(w.url, 'PUT', `${path}/${id}`, { auth: adminAuth, body: { ...view, description: 'edited' } }), 200, 'PUT of the view');
    // A URL library percent-encodes the marker; that is the same address.
    const encoded = shown.replaceAll('<redacted>', '%3Credacted%3E');
    ok(await api(w.url, 'PUT', `${path}/${id}`, { auth: adminAuth, body: policyBody('addr', encoded) }), 200, 'PUT of the encoded view');
    const row = await w.wharf.db.kysely.selectFrom('webhook_targets').select('address').where('policy_id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.address, address);
    // The marker on another address is not a secret to keep: refused.
    const moved = await api(w.url, 'PUT', `${path}/${id}`, { auth: adminAuth, body: policyBody('addr', shown.replace('/hook', '/other')) });
    assert.equal(moved.status, 400, moved.text);
    assert.match(moved.text, /send the full address/);

    // Delivered with the stored credentials; neither the log nor the executions show them.
    await push(w, 'sec', 'v1');
    const done = await finished(w, 'sec', id);
    assert.equal(done.status, 'Success');
    const got = echo.requests.at(-1);
    assert.equal(got?.headers.authorization, basic('hookuser', 'Pa55-w0rd-X'));
    assert.equal(got?.url, '/hook?token=Qu3ry-T0k3n-X&team=ops');
    const log = await done.log();
    for (const secret of ['Pa55-w0rd-X', 'Qu3ry-T0k3n-X', Buffer.from('hookuser:Pa55-w0rd-X').toString('base64')]) {
      assert.ok(!log.includes(secret), `the log shows ${secret}:\n${log}`);
    }
    assert.match(log, /POST http:\/\/hookuser:<redacted>@127\.0\.0\.1:\d+\/hook\?token=<redacted>&team=ops/);
    const executions = await api(w.url, 'GET', `${path}/${id}/executions`, { auth: maintAuth });
    assert.ok(!executions.text.includes('Pa55-w0rd-X') && !executions.text.includes('Qu3ry-T0k3n-X'));
  });

  it('a receiver that echoes request headers cannot put auth_header or custom header values into the task log', async () => {
    const id = idOf(
      ok(await create(w, 'sec', adminAuth, policyBody('echoed', `${echo.url}/echo`, { auth_header: 'Bearer Auth-S3cret-Value', headers: { 'X-Api-Key': 'Hdr-S3cret-Value' } })), 201, 'create'),
    );
    await push(w, 'sec', 'v2');
    const done = await finished(w, 'sec', id);
    assert.equal(done.status, 'Success');
    assert.equal(echo.requests.at(-1)?.headers['x-api-key'], 'Hdr-S3cret-Value', 'the receiver got the real values');
    const rows = await w.wharf.db.kysely.selectFrom('webhook_attempts').selectAll().where('task_id', '=', done.taskId).execute();
    const stored = JSON.stringify(rows);
    for (const secret of ['Auth-S3cret-Value', 'Hdr-S3cret-Value']) assert.ok(!stored.includes(secret), `the database holds ${secret}: ${stored}`);
    assert.match(rows[0]?.response_body ?? '', /"authorization":"<redacted>"/);
    const log = await done.log(adminAuth);
    for (const secret of ['Auth-S3cret-Value', 'Hdr-S3cret-Value']) assert.ok(!log.includes(secret), `the log shows ${secret}:\n${log}`);
    assert.match(log, /x-seen-authorization: <redacted>/);
  });
});

describe('private and loopback targets (issue 8, item 8)', () => {
  let w: TestWharf;
  let echo: Echo;
  const path = '/api/v2.0/projects/priv/webhook/policies';

  before(async () => {
    w = await startWharf({ overrides: { webhooks: { retry_schedule: [0] } } });
    echo = await startEcho();
    await setUp(w, 'priv');
  });
  after(async () => {
    await echo.close();
    await w.close();
  });

  it('a project admin cannot save a policy to loopback or private addresses by default; a system admin can', async () => {
    for (const address of [`${echo.url}/hook`, 'http://10.1.2.3/hook', 'http://192.168.0.10:8080/', `http://localhost:${echo.port}/`, `http://[::1]:${echo.port}/`]) {
      const a = await create(w, 'priv', padminAuth, policyBody(`p-${address.length}`, address));
      assert.equal(a.status, 403, `${address}: ${a.text}`);
      assert.match(a.text, /allowed only for targets saved by a system admin/);
    }
    const id = idOf(ok(await create(w, 'priv', adminAuth, policyBody('by-admin', `${echo.url}/admin`)), 201, 'admin creates'));
    // The project admin may edit it without moving it (the admin's approval stays) ...
    const view = obj(ok(await api(w.url, 'GET', `${path}/${id}`, { auth: padminAuth }), 200, 'GET').json);
    ok(await api(w.url, 'PUT', `${path}/${id}`, { auth: padminAuth, body: { ...view, description: 'renamed by the project admin' } }), 200, 'PUT unchanged');
    // ... but not point it elsewhere on the private network.
    const moved = await api(w.url, 'PUT', `${path}/${id}`, { auth: padminAuth, body: policyBody('by-admin', 'http://127.0.0.1:22/') });
    assert.equal(moved.status, 403, moved.text);

    await push(w, 'priv', 'v1');
    const done = await finished(w, 'priv', id);
    assert.equal(done.status, 'Success');
    assert.equal(echo.requests.at(-1)?.url, '/admin');
    // The system admin reads what the private receiver answered; project members do not.
    assert.match(await done.log(adminAuth), /"echo":true/);
    for (const who of [padminAuth, maintAuth]) {
      const log = await done.log(who);
      assert.doesNotMatch(log, /"echo":true|x-seen-authorization/);
      assert.match(log, /response headers and body: hidden/);
    }
  });

  it("project members do not read how a system admin's private target failed", async () => {
    const closed = await freePort();
    const id = idOf(ok(await create(w, 'priv', adminAuth, policyBody('down', `http://127.0.0.1:${closed}/down`)), 201, 'admin creates'));
    await push(w, 'priv', 'v2');
    const done = await finished(w, 'priv', id);
    assert.equal(done.status, 'Error');
    const base = `${path}/${id}/executions`;
    const asAdmin = await api(w.url, 'GET', base, { auth: adminAuth });
    assert.match(asAdmin.text, /ECONNREFUSED/);
    assert.match(await done.log(adminAuth), /ECONNREFUSED/);
    for (const who of [padminAuth, maintAuth]) {
      for (const answer of [await api(w.url, 'GET', base, { auth: who }), await api(w.url, 'GET', `${base}/${done.executionId}/tasks`, { auth: who })]) {
        assert.equal(answer.status, 200);
        assert.doesNotMatch(answer.text, /ECONNREFUSED|connect/, answer.text);
        assert.match(answer.text, /details hidden/);
      }
      const log = await done.log(who);
      assert.doesNotMatch(log, /ECONNREFUSED|connect /, log);
      assert.match(log, /no response from a private address/);
    }
  });

  it('the test endpoint gives a project admin one answer for an open and a closed port', async () => {
    const closed = await freePort();
    const seen = echo.requests.length;
    const answers = [];
    for (const address of [`${echo.url}/probe`, `http://127.0.0.1:${closed}/probe`]) {
      const a = ok(await api(w.url, 'POST', `${path}/test`, { auth: padminAuth, body: { type: 'http', address } }), 200, 'test');
      const r = obj(a.json);
      answers.push({ success: r.success, status_code: r.status_code, error: r.error });
    }
    assert.deepEqual(answers[0], answers[1]);
    assert.equal(answers[0]?.success, false);
    assert.match(String(answers[0]?.error), /blocked by the SSRF policy/);
    assert.equal(echo.requests.length, seen, 'nothing was sent');
    // The system admin's test goes through.
    const admin = obj(ok(await api(w.url, 'POST', `${path}/test`, { auth: adminAuth, body: { type: 'http', address: `${echo.url}/probe` } }), 200, 'test').json);
    assert.equal(admin.success, true, JSON.stringify(admin));
  });
});

describe('an allow-listed network (issue 8, item 8)', () => {
  let w: TestWharf;
  let echo: Echo;
  const path = '/api/v2.0/projects/lan/webhook/policies';

  before(async () => {
    w = await startWharf({ overrides: { webhooks: { retry_schedule: [0], allow_list: ['127.0.0.0/8'] } } });
    echo = await startEcho();
    await setUp(w, 'lan');
  });
  after(async () => {
    await echo.close();
    await w.close();
  });

  it('lets a project admin deliver there, and records no answer or error detail from it', async () => {
    assert.equal((await create(w, 'lan', padminAuth, policyBody('other-net', 'http://10.1.2.3/'))).status, 403, 'other private networks stay closed');
    const id = idOf(ok(await create(w, 'lan', padminAuth, policyBody('on-lan', `${echo.url}/lan`)), 201, 'project admin creates'));
    await push(w, 'lan', 'v1');
    const done = await finished(w, 'lan', id, padminAuth);
    assert.equal(done.status, 'Success');
    assert.equal(echo.requests.at(-1)?.url, '/lan');
    const rows = await w.wharf.db.kysely.selectFrom('webhook_attempts').select(['response_status', 'response_body', 'response_headers']).where('task_id', '=', done.taskId).execute();
    assert.equal(rows[0]?.response_status, 200);
    assert.ok(!(rows[0]?.response_body ?? '').includes('echo'), 'the answer is not stored');
    for (const who of [padminAuth, adminAuth]) assert.doesNotMatch(await done.log(who), /"echo":true/);

    // Test sends: a closed port and a silent failure read the same.
    const closed = await freePort();
    const refused = obj(ok(await api(w.url, 'POST', `${path}/test`, { auth: padminAuth, body: { type: 'http', address: `http://127.0.0.1:${closed}/` } }), 200, 'test').json);
    assert.equal(refused.success, false);
    assert.match(String(refused.error), /^no response from a private address/);
    assert.doesNotMatch(String(refused.error), /ECONNREFUSED|connect/);
    const open = obj(ok(await api(w.url, 'POST', `${path}/test`, { auth: padminAuth, body: { type: 'http', address: `${echo.url}/t` } }), 200, 'test').json);
    assert.equal(open.success, true, JSON.stringify(open));
  });
});

describe('IPv6 forms that embed an IPv4 address (issue 8, item 9)', () => {
  let w: TestWharf;
  const path = '/api/v2.0/projects/six/webhook/policies';

  before(async () => {
    w = await startWharf();
    await setUp(w, 'six');
  });
  after(async () => {
    await w.close();
  });

  it('loopback and private addresses in IPv6 dress are private; metadata ones are never allowed', async () => {
    const loopbacks = ['[::7f00:1]', '[::127.0.0.1]', '[::ffff:127.0.0.1]', '[::ffff:0:7f00:1]', '[64:ff9b::7f00:1]', '[64:ff9b:1::a00:1]', '[2002:7f00:1::1]', '[2001:0:4136:e378:8000:63bf:80ff:fffe]'];
    for (const host of loopbacks) {
      const a = await create(w, 'six', padminAuth, policyBody(`v6-${host.length}`, `http://${host}:8080/hook`));
      assert.equal(a.status, 403, `${host}: ${a.text}`);
      const t = obj(ok(await api(w.url, 'POST', `${path}/test`, { auth: padminAuth, body: { type: 'http', address: `http://${host}:8080/hook` } }), 200, 'test').json);
      assert.equal(t.success, false);
      assert.match(String(t.error), /blocked by the SSRF policy: .*private or loopback/, host);
    }
    for (const host of ['[::a9fe:a9fe]', '[::169.254.169.254]', '[64:ff9b::a9fe:a9fe]', '[2002:a9fe:a9fe::]']) {
      for (const auth of [padminAuth, adminAuth]) {
        const a = await create(w, 'six', auth, policyBody(`meta-${host.length}`, `http://${host}/latest/meta-data/`));
        assert.equal(a.status, 400, `${host}: ${a.text}`);
        assert.match(a.text, /never allowed/);
        const t = obj(ok(await api(w.url, 'POST', `${path}/test`, { auth, body: { type: 'http', address: `http://${host}/latest/meta-data/` } }), 200, 'test').json);
        assert.equal(t.success, false);
        assert.match(String(t.error), /blocked by the SSRF policy: .*(cloud metadata|link-local)/, host);
      }
    }
  });
});
