/**
 * Harbor's webhook API (/api/v2.0) and Wharf's extensions over real HTTP against a real Wharf
 * (real SQLite file), with deliveries to a real node:http receiver on 127.0.0.1: policy CRUD,
 * every validation message, conflicts, ownership 404s, paging headers, write-only secrets,
 * executions/tasks/log, redelivery, the test endpoint and its SSRF refusal, the global switch and
 * system-wide policies.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { Authenticator } from '../../src/auth/index.ts';
import { Outbox } from '../../src/events/index.ts';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

let w: TestWharf;
let rx: Receiver;
const userAuth = 'Basic ' + Buffer.from('dev:Dev12345!').toString('base64');

async function call(method: string, path: string, opts: { body?: unknown; auth?: string | null; headers?: Record<string, string>; raw?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  const auth = opts.auth === undefined ? adminAuth : opts.auth;
  if (auth !== null) headers.authorization = auth;
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const r = await fetch(w.url + path, { method, headers, body });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

function show(a: Answer): string {
  return `${a.status} ${a.text.slice(0, 800)}`;
}

/** Asserts a Harbor error body with the exact message. */
function assertError(a: Answer, status: number, code: string, message?: string | RegExp): void {
  assert.equal(a.status, status, show(a));
  const body = a.json as { errors?: Array<{ code: string; message: string }> }; // shape asserted next
  assert.ok(Array.isArray(body.errors) && body.errors.length === 1, show(a));
  const e = body.errors[0];
  assert.ok(e);
  assert.equal(e.code, code, show(a));
  if (typeof message === 'string') assert.equal(e.message, message);
  else if (message) assert.match(e.message, message);
}

function obj(v: unknown): Record<string, unknown> {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `expected an object: ${JSON.stringify(v)}`);
  return v as Record<string, unknown>; // checked just above
}

function arr(v: unknown): unknown[] {
  assert.ok(Array.isArray(v), `expected an array: ${JSON.stringify(v)}`);
  return v;
}

/** The receiver's URL once it runs (validation cases are built before it starts; they never deliver). */
function receiverUrl(): string {
  return typeof rx === 'object' ? rx.url : 'http://127.0.0.1:9';
}

function httpTarget(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'http', address: `${receiverUrl()}/hook`, skip_cert_verify: false, ...extra };
}

function policy(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, description: 'd', enabled: true, event_types: ['PUSH_ARTIFACT'], targets: [httpTarget()], ...extra };
}

/** Creates a policy and returns its id (from the Location header). */
async function create(base: string, body: Record<string, unknown>): Promise<number> {
  const a = await call('POST', `${base}/policies`, { body });
  assert.equal(a.status, 201, show(a));
  const loc = a.headers.get('location') ?? '';
  const m = /\/(\d+)$/.exec(loc);
  assert.ok(m?.[1], `Location: ${loc}`);
  return Number(m[1]);
}

async function createProject(name: string): Promise<number> {
  const now = Date.now();
  const row = await w.wharf.db.kysely
    .insertInto('projects')
    .values({ name, public: 0, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: now, update_time: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

const lib = '/api/v2.0/projects/library/webhook';
const sys = '/api/v2.0/system/webhook';

before(async () => {
  rx = await startReceiver();
  w = await startWharf({ overrides: { webhooks: { retry_schedule: [0, 0.2, 0.2] } } });
  const now = Date.now();
  await w.wharf.db.kysely
    .insertInto('users')
    .values({ username: 'dev', password_hash: await Authenticator.hashPassword('Dev12345!'), email: '', realname: '', comment: '', sysadmin: 0, disabled: 0, creation_time: now, update_time: now })
    .execute();
});

after(async () => {
  await w?.close();
  await rx?.close();
});

describe('policy CRUD (Harbor)', () => {
  it('creates with 201, an empty body and a Location, then reads the policy back in Harbor shape', async () => {
    const a = await call('POST', `${lib}/policies`, { body: policy('crud-1', { event_types: ['PUSH_ARTIFACT', 'DELETE_ARTIFACT'] }) });
    assert.equal(a.status, 201, show(a));
    assert.equal(a.text, '');
    const loc = a.headers.get('location') ?? '';
    assert.match(loc, /^\/api\/v2\.0\/projects\/library\/webhook\/policies\/\d+$/);
    const g = await call('GET', loc);
    assert.equal(g.status, 200, show(g));
    const p = obj(g.json);
    assert.equal(p.name, 'crud-1');
    assert.equal(p.description, 'd');
    assert.equal(p.enabled, true);
    assert.equal(p.project_id, 1);
    assert.deepEqual(p.event_types, ['PUSH_ARTIFACT', 'DELETE_ARTIFACT']);
    assert.equal(p.creator, 'admin');
    assert.match(String(p.creation_time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(p.repo_filters, []);
    const t = obj(arr(p.targets)[0]);
    assert.equal(t.type, 'http');
    assert.equal(t.address, `${rx.url}/hook`);
    assert.equal(t.payload_format, 'Default', 'an empty http format is stored as Default');
    assert.equal(t.auth_header, '');
    assert.equal(t.auth_header_set, false);
    assert.equal(t.skip_cert_verify, false);
    assert.equal(t.enabled, true);
    assert.equal(t.failing_since, null);
  });

  it('defaults enabled to false when omitted, as Harbor does', async () => {
    const body = policy('crud-disabled');
    delete body.enabled;
    const id = await create(lib, body);
    const g = await call('GET', `${lib}/policies/${id}`);
    assert.equal(obj(g.json).enabled, false);
  });

  it('updates with PUT (200, empty) and deletes (200); then 404', async () => {
    const id = await create(lib, policy('crud-2'));
    const u = await call('PUT', `${lib}/policies/${id}`, {
      body: policy('crud-2-renamed', { enabled: false, event_types: ['PULL_ARTIFACT'], targets: [httpTarget({ payload_format: 'CloudEvents', cloudevents_mode: 'binary' })] }),
    });
    assert.equal(u.status, 200, show(u));
    assert.equal(u.text, '');
    const p = obj((await call('GET', `${lib}/policies/${id}`)).json);
    assert.equal(p.name, 'crud-2-renamed');
    assert.equal(p.enabled, false);
    assert.deepEqual(p.event_types, ['PULL_ARTIFACT']);
    const t = obj(arr(p.targets)[0]);
    assert.equal(t.payload_format, 'CloudEvents');
    assert.equal(t.cloudevents_mode, 'binary');
    const d = await call('DELETE', `${lib}/policies/${id}`);
    assert.equal(d.status, 200, show(d));
    assertError(await call('GET', `${lib}/policies/${id}`), 404, 'NOT_FOUND');
    assertError(await call('DELETE', `${lib}/policies/${id}`), 404, 'NOT_FOUND');
  });

  it('answers 409 with Harbor\'s message for a duplicate name in the project, on create and on rename', async () => {
    await create(lib, policy('dup'));
    assertError(await call('POST', `${lib}/policies`, { body: policy('dup') }), 409, 'CONFLICT', 'notification policy named dup already exists');
    const other = await create(lib, policy('dup-other'));
    assertError(await call('PUT', `${lib}/policies/${other}`, { body: policy('dup') }), 409, 'CONFLICT', 'notification policy named dup already exists');
  });

  it('lists with X-Total-Count and Link, filters with q and sorts', async () => {
    await createProject('pager');
    const base = '/api/v2.0/projects/pager/webhook';
    for (const n of ['p-a', 'p-b', 'p-c']) await create(base, policy(n));
    const first = await call('GET', `${base}/policies?page=1&page_size=2&sort=name`);
    assert.equal(first.status, 200, show(first));
    assert.equal(first.headers.get('x-total-count'), '3');
    assert.deepEqual(arr(first.json).map((p) => obj(p).name), ['p-a', 'p-b']);
    assert.equal(first.headers.get('link'), '</api/v2.0/projects/pager/webhook/policies?page=2&page_size=2&sort=name>; rel="next"');
    const second = await call('GET', `${base}/policies?page=2&page_size=2&sort=name`);
    assert.deepEqual(arr(second.json).map((p) => obj(p).name), ['p-c']);
    assert.match(second.headers.get('link') ?? '', /rel="prev"/);
    const desc = await call('GET', `${base}/policies?sort=-name`);
    assert.deepEqual(arr(desc.json).map((p) => obj(p).name), ['p-c', 'p-b', 'p-a']);
    const q = await call('GET', `${base}/policies?q=${encodeURIComponent('name=~b')}`);
    assert.equal(q.headers.get('x-total-count'), '1');
    assert.equal(obj(arr(q.json)[0]).name, 'p-b');
    // As on every Harbor list: unknown sort fields and q keys are ignored; range and list forms work.
    const bogus = await call('GET', `${base}/policies?sort=bogus,name&q=${encodeURIComponent('colour=blue')}`);
    assert.deepEqual(arr(bogus.json).map((p) => obj(p).name), ['p-a', 'p-b', 'p-c']);
    const or = await call('GET', `${base}/policies?sort=name&q=${encodeURIComponent('name={p-a p-c},enabled=true')}`);
    assert.deepEqual(arr(or.json).map((p) => obj(p).name), ['p-a', 'p-c']);
    const since = await call('GET', `${base}/policies?q=${encodeURIComponent('creation_time=[2000-01-01 00:00:00~]')}`);
    assert.equal(since.headers.get('x-total-count'), '3');
    assertError(await call('GET', `${base}/policies?page_size=101`), 422, 'UNPROCESSABLE_ENTITY');
  });

  it('resolves project_name_or_id as Harbor: an id, or a name with X-Is-Resource-Name: true', async () => {
    const id = await createProject('4242');
    await create(`/api/v2.0/projects/${id}/webhook`, policy('by-id'));
    const byName = await call('GET', '/api/v2.0/projects/4242/webhook/policies', { headers: { 'x-is-resource-name': 'true' } });
    assert.equal(byName.status, 200, show(byName));
    assert.deepEqual(arr(byName.json).map((p) => obj(p).name), ['by-id']);
    // Without the header, 4242 is an id, and no project has it.
    assertError(await call('GET', '/api/v2.0/projects/4242/webhook/policies'), 404, 'NOT_FOUND');
  });

  it('gives 404 when the policy belongs to another project (ownership)', async () => {
    await createProject('other');
    const id = await create('/api/v2.0/projects/other/webhook', policy('theirs'));
    assertError(await call('GET', `${lib}/policies/${id}`), 404, 'NOT_FOUND');
    assertError(await call('PUT', `${lib}/policies/${id}`, { body: policy('x') }), 404, 'NOT_FOUND');
    assertError(await call('DELETE', `${lib}/policies/${id}`), 404, 'NOT_FOUND');
    assertError(await call('GET', `${lib}/policies/${id}/executions`), 404, 'NOT_FOUND');
    assertError(await call('GET', `${sys}/policies/${id}`), 404, 'NOT_FOUND');
    assert.equal((await call('GET', `/api/v2.0/projects/other/webhook/policies/${id}`)).status, 200);
    assertError(await call('GET', '/api/v2.0/projects/nope/webhook/policies'), 404, 'NOT_FOUND');
    assertError(await call('GET', `${lib}/policies/abc`), 400, 'BAD_REQUEST');
  });

  it('asks for credentials (401) and refuses non-admins (403)', async () => {
    assertError(await call('GET', `${lib}/policies`, { auth: null }), 401, 'UNAUTHORIZED');
    assertError(await call('POST', `${lib}/policies`, { auth: null, body: policy('anon') }), 401, 'UNAUTHORIZED');
    assertError(await call('GET', `${lib}/policies`, { auth: userAuth }), 403, 'FORBIDDEN');
    assertError(await call('POST', `${lib}/policies`, { auth: userAuth, body: policy('dev') }), 403, 'FORBIDDEN');
    assertError(await call('GET', '/api/v2.0/projects/nope/webhook/policies', { auth: null }), 401, 'UNAUTHORIZED');
  });
});

describe('validation (Harbor\'s messages)', () => {
  const cases: Array<[string, Record<string, unknown>, string | RegExp]> = [
    ['no event types', policy('v', { event_types: [] }), 'empty event type'],
    ['unknown event type', policy('v', { event_types: ['PUSH_ARTIFACT', 'UPLOAD_CHART'] }), 'unsupported event type UPLOAD_CHART'],
    ['no targets', policy('v-name', { targets: [] }), 'empty notification target with policy v-name'],
    ['ftp scheme', policy('v', { targets: [httpTarget({ address: 'ftp://example.com/x' })] }), 'invalid scheme: ftp'],
    ['empty URL', policy('v', { targets: [httpTarget({ address: '  / ' })] }), 'empty URL'],
    ['unknown type', policy('v-t', { targets: [httpTarget({ type: 'email' })] }), 'unsupported target type email with policy v-t'],
    ['format on slack', policy('v', { targets: [{ type: 'slack', address: 'https://hooks.slack.com/services/x', payload_format: 'Default' }] }), 'set payload format is not allowed for slack'],
    ['unknown format', policy('v', { targets: [httpTarget({ payload_format: 'Custom' })] }), 'unsupported payload format type: Custom'],
    ['format on discord (Wharf)', policy('v', { targets: [{ type: 'discord', address: 'https://discord.com/api/webhooks/1/x', payload_format: 'MSR' }] }), 'set payload format is not allowed for discord'],
    ['format on mattermost (Wharf)', policy('v', { targets: [{ type: 'mattermost', address: 'https://chat.example.com/hooks/x', payload_format: 'MessageCard' }] }), 'set payload format is not allowed for mattermost'],
    ['http format on teams (Wharf)', policy('v', { targets: [{ type: 'teams', address: 'https://example.logic.azure.com/workflows/x', payload_format: 'Default' }] }), 'unsupported payload format type: Default'],
    ['bad signature style (Wharf)', policy('v', { targets: [httpTarget({ signature_style: 'rot13' })] }), /unsupported signature style: rot13/],
    ['cloudevents_mode without CloudEvents (Wharf)', policy('v', { targets: [httpTarget({ cloudevents_mode: 'binary' })] }), /cloudevents_mode applies only to the CloudEvents/],
    ['distribution_content_type on another format (Wharf)', policy('v', { targets: [httpTarget({ distribution_content_type: 'application/json' })] }), /distribution_content_type applies only to the Distribution/],
    ['unknown distribution_content_type (Wharf)', policy('v', { targets: [httpTarget({ payload_format: 'Distribution', distribution_content_type: 'text/html' })] }), /unsupported distribution_content_type: text\/html/],
    ['reserved header (Wharf)', policy('v', { targets: [httpTarget({ headers: { 'Content-Length': '1' } })] }), /Content-Length is set by Wharf/],
    ['header with a line break (Wharf)', policy('v', { targets: [httpTarget({ headers: { 'X-A': 'a\r\nX-B: b' } })] }), /must be one line/],
    ['timeout out of range (Wharf)', policy('v', { targets: [httpTarget({ timeout_ms: 0 })] }), /timeout_ms must be an integer/],
    ['filters not an array (Wharf)', policy('v', { repo_filters: 'library/*' }), /repo_filters must be an array/],
    ['empty filter pattern (Wharf)', policy('v', { tag_filters: [''] }), /tag_filters\[0\] must be a non-empty glob/],
    ['malformed whsec_ secret (Wharf)', policy('v', { targets: [httpTarget({ secret: 'whsec_not base64!' })] }), /whsec_ must continue with base64/],
    ['reserved Wharf header (Wharf)', policy('v', { targets: [httpTarget({ headers: { 'X-Wharf-Event-Id': 'x' } })] }), /X-Wharf-Event-Id is set by Wharf/],
    ['no name', policy(''), 'name is required'],
    ['targets before event types (Harbor\'s order)', policy('v', { event_types: [], targets: [] }), 'empty notification target with policy v'],
  ];
  for (const [what, body, message] of cases) {
    it(`400 for ${what}`, async () => {
      assertError(await call('POST', `${lib}/policies`, { body }), 400, 'BAD_REQUEST', message);
    });
  }

  it('400 for bodies that are not a policy, and for bad JSON', async () => {
    assertError(await call('POST', `${lib}/policies`, { body: [1, 2] }), 400, 'BAD_REQUEST', /JSON object/);
    assertError(await call('POST', `${lib}/policies`, { raw: '{"name":', headers: { 'content-type': 'application/json' } }), 400, 'BAD_REQUEST');
    assertError(await call('POST', `${lib}/policies`, { body: policy('v', { targets: 'http://x' }) }), 400, 'BAD_REQUEST', /targets must be an array/);
    assertError(await call('POST', `${lib}/policies`, { body: policy('v', { enabled: 'yes' }) }), 400, 'BAD_REQUEST', /enabled must be true or false/);
  });

  it('the same rules apply to PUT', async () => {
    const id = await create(lib, policy('v-put'));
    assertError(await call('PUT', `${lib}/policies/${id}`, { body: policy('v-put', { event_types: ['NOPE'] }) }), 400, 'BAD_REQUEST', 'unsupported event type NOPE');
  });

  it('accepts a scheme-less address as http://, Wharf event types and every format', async () => {
    const id = await create(lib, {
      ...policy('v-ok', { event_types: ['CREATE_TAG', 'DELETE_REPOSITORY', 'PUSH_ARTIFACT'] }),
      targets: [
        { type: 'http', address: '127.0.0.1:9/x' },
        httpTarget({ payload_format: 'Distribution', distribution_content_type: 'application/json' }),
        httpTarget({ payload_format: 'MSR' }),
        { type: 'slack', address: 'https://hooks.slack.com/services/a' },
        { type: 'discord', address: 'https://discord.com/api/webhooks/1/a' },
      ],
    });
    const p = obj((await call('GET', `${lib}/policies/${id}`)).json);
    const targets = arr(p.targets).map(obj);
    assert.equal(targets[0]?.address, 'http://127.0.0.1:9/x');
    assert.deepEqual(
      targets.map((t) => t.payload_format),
      ['Default', 'Distribution', 'MSR', '', ''],
    );
    assert.equal(targets[1]?.distribution_content_type, 'application/json');
    const row = await w.wharf.db.kysely.selectFrom('webhook_targets').select('options').where('policy_id', '=', id).where('position', '=', 1).executeTakeFirstOrThrow();
    // A system admin saved a loopback address: the target is marked as approved for private networks.
    assert.deepEqual(JSON.parse(row.options), { signature_style: 'standard', distribution_content_type: 'application/json', admin_trusted: true });
  });
});

describe('write-only secrets (Wharf)', () => {
  it('never returns auth_header, secret or header values in GET and list, and says they are set', async () => {
    const id = await create(lib, policy('secret-1', { targets: [httpTarget({ auth_header: 'Bearer TOPSECRET-AUTH', secret: 'TOPSECRET-SIGN', headers: { 'X-Api-Key': 'TOPSECRET-HDR' }, signature_style: 'github', timeout_ms: 1500 })] }));
    const g = await call('GET', `${lib}/policies/${id}`);
    const l = await call('GET', `${lib}/policies?page_size=100`);
    for (const a of [g, l]) {
      assert.equal(a.status, 200);
      assert.doesNotMatch(a.text, /TOPSECRET/);
    }
    const t = obj(arr(obj(g.json).targets)[0]);
    assert.equal(t.auth_header, '');
    assert.equal(t.auth_header_set, true);
    assert.equal(t.secret_set, true);
    assert.equal(Object.hasOwn(t, 'secret'), false);
    assert.deepEqual(t.headers, { 'X-Api-Key': '<redacted>' });
    assert.equal(t.signature_style, 'github');
    assert.equal(t.timeout_ms, 1500);
  });

  it('keeps stored secrets when an update omits them or echoes what GET showed; clears on null', async () => {
    const id = await create(lib, policy('secret-2', { targets: [httpTarget({ auth_header: 'Bearer A1', secret: 'S1', headers: { 'X-Api-Key': 'H1', 'X-Other': 'O1' } })] }));
    const got = obj((await call('GET', `${lib}/policies/${id}`)).json);
    // A Harbor client's read-modify-write: the GET body with one change.
    const u = await call('PUT', `${lib}/policies/${id}`, { body: { ...got, description: 'changed' } });
    assert.equal(u.status, 200, show(u));
    const row = await w.wharf.db.kysely.selectFrom('webhook_targets').selectAll().where('policy_id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.auth_header, 'Bearer A1');
    assert.equal(row.secret, 'S1');
    assert.deepEqual(JSON.parse(row.headers), { 'X-Api-Key': 'H1', 'X-Other': 'O1' });
    // Omitting the fields altogether also keeps them; a header left out of the object is dropped.
    const u2 = await call('PUT', `${lib}/policies/${id}`, { body: policy('secret-2', { targets: [{ type: 'http', address: `${rx.url}/hook`, headers: { 'X-Api-Key': '<redacted>' } }] }) });
    assert.equal(u2.status, 200, show(u2));
    const row2 = await w.wharf.db.kysely.selectFrom('webhook_targets').selectAll().where('policy_id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row2.id, row.id, 'the target row (and its history) is kept');
    assert.equal(row2.auth_header, 'Bearer A1');
    assert.equal(row2.secret, 'S1');
    assert.deepEqual(JSON.parse(row2.headers), { 'X-Api-Key': 'H1' });
    // New values replace; null clears.
    await call('PUT', `${lib}/policies/${id}`, { body: policy('secret-2', { targets: [httpTarget({ auth_header: 'Bearer A2', secret: null })] }) });
    const row3 = await w.wharf.db.kysely.selectFrom('webhook_targets').selectAll().where('policy_id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row3.auth_header, 'Bearer A2');
    assert.equal(row3.secret, '');
  });

  it('does not carry a stored secret over to a new address', async () => {
    const id = await create(lib, policy('secret-3', { targets: [httpTarget({ auth_header: 'Bearer KEEP', secret: 'S' })] }));
    const got = obj((await call('GET', `${lib}/policies/${id}`)).json);
    const moved = arr(got.targets).map((t) => ({ ...obj(t), address: `${rx.url}/elsewhere` }));
    assert.equal((await call('PUT', `${lib}/policies/${id}`, { body: { ...got, targets: moved } })).status, 200);
    const row = await w.wharf.db.kysely.selectFrom('webhook_targets').selectAll().where('policy_id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.address, `${rx.url}/elsewhere`);
    assert.equal(row.auth_header, '');
    assert.equal(row.secret, '');
    assertError(
      await call('PUT', `${lib}/policies/${id}`, { body: policy('secret-3', { targets: [httpTarget({ address: `${rx.url}/third`, headers: { 'X-K': '<redacted>' } })] }) }),
      400,
      'BAD_REQUEST',
      /none is stored/,
    );
  });
});

describe('target health (Wharf, read-only)', () => {
  it('shows a disabled target, keeps it disabled on a read-modify-write, re-enables on "enabled": true', async () => {
    const id = await create(lib, policy('health-1'));
    const since = Date.UTC(2026, 0, 2, 3, 4, 5);
    // What the delivery worker records when it disables a target that kept failing.
    await w.wharf.db.kysely.updateTable('webhook_targets').set({ enabled: 0, failing_since: since, disabled_reason: 'failing for 24h' }).where('policy_id', '=', id).execute();
    const got = obj((await call('GET', `${lib}/policies/${id}`)).json);
    const t = obj(arr(got.targets)[0]);
    assert.equal(t.enabled, false);
    assert.equal(t.failing_since, '2026-01-02T03:04:05Z');
    assert.equal(t.disabled_reason, 'failing for 24h');
    assert.equal((await call('PUT', `${lib}/policies/${id}`, { body: { ...got, description: 'x' } })).status, 200);
    let row = await w.wharf.db.kysely.selectFrom('webhook_targets').selectAll().where('policy_id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.enabled, 0, 'echoing the read-only fields changes nothing');
    const targets = arr(got.targets).map((x) => ({ ...obj(x), enabled: true }));
    assert.equal((await call('PUT', `${lib}/policies/${id}`, { body: { ...got, targets } })).status, 200);
    row = await w.wharf.db.kysely.selectFrom('webhook_targets').selectAll().where('policy_id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.enabled, 1);
    assert.equal(row.failing_since, null);
    assert.equal(row.disabled_reason, null);
  });
});

describe('events, lasttrigger, configurations', () => {
  it('lists Harbor\'s event types, notify types and formats, with Wharf\'s appended', async () => {
    const a = await call('GET', `${lib}/events`);
    assert.equal(a.status, 200, show(a));
    const e = obj(a.json);
    const types = arr(e.event_type);
    assert.deepEqual(types.slice(0, 10), ['PUSH_ARTIFACT', 'PULL_ARTIFACT', 'DELETE_ARTIFACT', 'QUOTA_EXCEED', 'QUOTA_WARNING', 'SCANNING_FAILED', 'SCANNING_STOPPED', 'SCANNING_COMPLETED', 'REPLICATION', 'TAG_RETENTION']);
    assert.ok(types.includes('CREATE_TAG') && types.includes('DELETE_PROJECT'));
    assert.deepEqual(e.notify_type, ['http', 'slack', 'discord', 'teams', 'mattermost', 'googlechat']);
    assert.deepEqual(e.payload_formats, [{ notify_type: 'http', formats: ['Default', 'CloudEvents', 'Distribution', 'MSR', 'Template'] }, { notify_type: 'teams', formats: ['AdaptiveCard', 'MessageCard'] }]);
    assertError(await call('GET', `${lib}/events`, { auth: null }), 401, 'UNAUTHORIZED');
  });

  it('lasttrigger has one row per policy and event type', async () => {
    await createProject('lt');
    await create('/api/v2.0/projects/lt/webhook', policy('lt-1', { event_types: ['PUSH_ARTIFACT', 'PULL_ARTIFACT'] }));
    const a = await call('GET', '/api/v2.0/projects/lt/webhook/lasttrigger');
    assert.equal(a.status, 200, show(a));
    const rows = arr(a.json).map(obj);
    assert.deepEqual(
      rows.map((r) => [r.policy_name, r.event_type, r.enabled]),
      [
        ['lt-1', 'PUSH_ARTIFACT', true],
        ['lt-1', 'PULL_ARTIFACT', true],
      ],
    );
    assert.equal(rows[0]?.last_trigger_time, '0001-01-01T00:00:00Z');
  });

  it('reads and switches notification_enable (admin only)', async () => {
    const g = await call('GET', '/api/v2.0/configurations');
    assert.equal(g.status, 200, show(g));
    assert.deepEqual((g.json as Record<string, unknown>).notification_enable, { value: true, editable: true });
    assertError(await call('GET', '/api/v2.0/configurations', { auth: null }), 401, 'UNAUTHORIZED');
    assertError(await call('GET', '/api/v2.0/configurations', { auth: userAuth }), 403, 'FORBIDDEN');
    assertError(await call('PUT', '/api/v2.0/configurations', { auth: userAuth, body: { notification_enable: false } }), 403, 'FORBIDDEN');
    assertError(await call('PUT', '/api/v2.0/configurations', { body: { notification_enable: 'no' } }), 400, 'BAD_REQUEST');
    assertError(await call('PUT', '/api/v2.0/configurations', { body: { auth_mode: 'ldap_auth' } }), 400, 'BAD_REQUEST', /the auth mode cannot be modified as new users have been inserted into database/);
    assert.equal((await call('PUT', '/api/v2.0/configurations', { body: { notification_enable: false } })).status, 200);
    assert.deepEqual(((await call('GET', '/api/v2.0/configurations')).json as Record<string, unknown>).notification_enable, { value: false, editable: true });
    const row = await w.wharf.db.kysely.selectFrom('configurations').selectAll().where('key', '=', 'notification_enable').executeTakeFirstOrThrow();
    assert.equal(row.value, 'false');
    assert.equal((await call('PUT', '/api/v2.0/configurations', { body: { notification_enable: true } })).status, 200);
    assert.deepEqual(((await call('GET', '/api/v2.0/configurations')).json as Record<string, unknown>).notification_enable, { value: true, editable: true });
  });
});

describe('system-wide policies (Wharf)', () => {
  it('need the system admin: anonymous 401, others 403', async () => {
    assertError(await call('GET', `${sys}/policies`, { auth: null }), 401, 'UNAUTHORIZED');
    assertError(await call('POST', `${sys}/policies`, { auth: null, body: policy('s') }), 401, 'UNAUTHORIZED');
    assertError(await call('GET', `${sys}/policies`, { auth: userAuth }), 403, 'FORBIDDEN');
  });

  it('have the same CRUD, with project_id null and their own name space', async () => {
    await create(lib, policy('shared-name'));
    const id = await create(sys, policy('shared-name', { repo_filters: ['library/**'], tag_filters: ['v*', 'release-{a,b}'] }));
    const g = await call('GET', `${sys}/policies/${id}`);
    assert.equal(g.status, 200, show(g));
    const p = obj(g.json);
    assert.equal(p.project_id, null);
    assert.deepEqual(p.repo_filters, ['library/**']);
    assert.deepEqual(p.tag_filters, ['v*', 'release-{a,b}']);
    assertError(await call('POST', `${sys}/policies`, { body: policy('shared-name') }), 409, 'CONFLICT', 'notification policy named shared-name already exists');
    const l = await call('GET', `${sys}/policies`);
    assert.equal(l.headers.get('x-total-count'), '1');
    assertError(await call('GET', `${lib}/policies/${id}`), 404, 'NOT_FOUND');
    assert.equal((await call('DELETE', `${sys}/policies/${id}`)).status, 200);
  });
});

/** Records a PUSH_ARTIFACT event in the outbox, as the registry does; the dispatcher picks it up by polling. */
async function appendPush(projectName: string, repo: string, tag: string): Promise<void> {
  const p = await w.wharf.db.kysely.selectFrom('projects').selectAll().where('name', '=', projectName).executeTakeFirstOrThrow();
  await new Outbox().append(w.wharf.db.kysely, {
    type: 'PUSH_ARTIFACT',
    operator: 'admin',
    project: { id: p.id, name: p.name, public: p.public === 1 },
    repository: { id: 1, name: `${projectName}/${repo}`, creationTime: Date.now() },
    artifact: { digest: `sha256:${'a'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1234, tag, tags: [tag], artifactType: null },
  });
}

/** Polls the executions of a policy until `done` holds for the list (or fails after 15 s). */
async function waitExecutions(base: string, policyId: number, done: (list: Array<Record<string, unknown>>) => boolean): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const a = await call('GET', `${base}/policies/${policyId}/executions?page_size=100`);
    assert.equal(a.status, 200, show(a));
    const list = arr(a.json).map(obj);
    if (done(list)) return list;
    if (Date.now() > deadline) assert.fail(`executions never reached the expected state: ${a.text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('deliveries: executions, tasks, log, redelivery, test endpoint', () => {
  const base = '/api/v2.0/projects/deliv/webhook';
  before(async () => {
    await createProject('deliv');
  });

  it('records a successful delivery as Harbor\'s execution and task, with a log of the attempt', async () => {
    rx.respond('/ok', { statuses: [200], body: 'thanks' });
    const id = await create(base, policy('deliver-ok', { targets: [httpTarget({ address: `${rx.url}/ok`, auth_header: 'Bearer LOGSECRET', headers: { 'X-Custom': 'HDRSECRET' } })] }));
    await appendPush('deliv', 'app', 'v1');
    const [got] = await rx.waitFor(1, 15_000, '/ok');
    assert.ok(got);
    assert.equal(got.headers.authorization, 'Bearer LOGSECRET');
    assert.equal(got.headers['x-custom'], 'HDRSECRET');
    const list = await waitExecutions(base, id, (l) => l.length === 1 && l[0]?.status === 'Success');
    const e = list[0];
    assert.ok(e);
    assert.equal(e.vendor_type, 'WEBHOOK');
    assert.equal(e.vendor_id, id);
    assert.equal(e.trigger, 'EVENT');
    assert.equal(e.status_message, '');
    assert.deepEqual(e.metrics, { task_count: 1, success_task_count: 1 });
    const extra = obj(e.extra_attrs);
    assert.equal(extra.event_type, 'PUSH_ARTIFACT');
    assert.equal(extra.payload, got.body.toString('utf8'), 'extra_attrs.payload is the exact body sent');
    assert.match(String(e.start_time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.notEqual(e.end_time, '0001-01-01T00:00:00Z');

    const ta = await call('GET', `${base}/policies/${id}/executions/${String(e.id)}/tasks`);
    assert.equal(ta.status, 200, show(ta));
    assert.equal(ta.headers.get('x-total-count'), '1');
    const t = obj(arr(ta.json)[0]);
    assert.deepEqual(Object.keys(t).sort(), ['creation_time', 'end_time', 'execution_id', 'extra_attrs', 'id', 'run_count', 'start_time', 'status', 'status_message', 'update_time']);
    assert.equal(t.execution_id, e.id);
    assert.equal(t.status, 'Success');
    assert.equal(t.run_count, 1);

    const log = await call('GET', `${base}/policies/${id}/executions/${String(e.id)}/tasks/${String(t.id)}/log`);
    assert.equal(log.status, 200, show(log));
    assert.match(log.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(log.text, /\[INFO\] attempt 1: POST http:\/\/127\.0\.0\.1:\d+\/ok/);
    assert.match(log.text, /response 200 after \d+ ms/);
    assert.match(log.text, /thanks/);
    assert.match(log.text, /"type":"PUSH_ARTIFACT"/);
    assert.doesNotMatch(log.text, /LOGSECRET|HDRSECRET/);

    const lt = arr((await call('GET', `${base}/lasttrigger`)).json).map(obj);
    const row = lt.find((r) => r.policy_name === 'deliver-ok');
    assert.ok(row);
    assert.notEqual(row.last_trigger_time, '0001-01-01T00:00:00Z');

    // Ownership: the execution is not found under another policy, nor the task under another execution.
    const other = await create(base, policy('deliver-other', { enabled: false }));
    assertError(await call('GET', `${base}/policies/${other}/executions/${String(e.id)}/tasks`), 404, 'NOT_FOUND');
    assertError(await call('GET', `${base}/policies/${id}/executions/${String(e.id)}/tasks/999999/log`), 404, 'NOT_FOUND');
    assertError(await call('GET', `${lib}/policies/${id}/executions`), 404, 'NOT_FOUND');
  });

  it('logs every failed attempt with status, body excerpt and error; the execution ends in Error', async () => {
    rx.respond('/fail', { statuses: [500], body: 'boom-from-receiver' });
    const id = await create(base, policy('deliver-fail', { targets: [httpTarget({ address: `${rx.url}/fail` })] }));
    await appendPush('deliv', 'app', 'v2');
    const list = await waitExecutions(base, id, (l) => l.length === 1 && l[0]?.status === 'Error');
    const e = list[0];
    assert.ok(e);
    assert.equal(obj(e.metrics).error_task_count, 1);
    const t = obj(arr((await call('GET', `${base}/policies/${id}/executions/${String(e.id)}/tasks`)).json)[0]);
    assert.equal(t.status, 'Error');
    assert.equal(t.run_count, 3);
    const log = await call('GET', `${base}/policies/${id}/executions/${String(e.id)}/tasks/${String(t.id)}/log`);
    for (const n of [1, 2, 3]) assert.match(log.text, new RegExp(`\\[ERROR\\] attempt ${n}: response 500`));
    assert.match(log.text, /boom-from-receiver/);
    assert.match(log.text, /finished: Error/);
    assert.equal((await call('GET', `${base}/policies/${id}/executions?sort=payload`)).status, 200, 'an unknown sort field is ignored');
    // Harbor's deprecated job list shows the same delivery.
    const jobs = await call('GET', `${base}/jobs?policy_id=${id}&status=Error`);
    assert.equal(jobs.status, 200, show(jobs));
    const job = obj(arr(jobs.json)[0]);
    assert.equal(job.policy_id, id);
    assert.equal(job.notify_type, 'http');
    assert.equal(job.status, 'Error');
    assert.equal(job.event_type, 'PUSH_ARTIFACT');
    assertError(await call('GET', `${base}/jobs`), 400, 'BAD_REQUEST', 'policy_id is required');
    const errors = await call('GET', `${base}/policies/${id}/executions?q=${encodeURIComponent('status=Error')}`);
    assert.equal(errors.headers.get('x-total-count'), '1');
    const ok = await call('GET', `${base}/policies/${id}/executions?q=${encodeURIComponent('status=Success')}`);
    assert.equal(ok.headers.get('x-total-count'), '0');
    const either = await call('GET', `${base}/policies/${id}/executions?q=${encodeURIComponent('status={Success Error}')}`);
    assert.equal(either.headers.get('x-total-count'), '1');
  });

  it('redelivers an execution (Wharf): 201 with the execution, the same payload sent again', async () => {
    rx.respond('/redo', { statuses: [200] });
    const id = await create(base, policy('deliver-redo', { targets: [httpTarget({ address: `${rx.url}/redo` })] }));
    await appendPush('deliv', 'app', 'v3');
    const [first] = await rx.waitFor(1, 15_000, '/redo');
    assert.ok(first);
    const [e] = await waitExecutions(base, id, (l) => l.length === 1 && l[0]?.status === 'Success');
    assert.ok(e);
    assertError(await call('POST', `${base}/policies/${id}/executions/${String(e.id)}/redeliver`, { auth: null }), 401, 'UNAUTHORIZED');
    assertError(await call('POST', `${base}/policies/${id}/executions/${String(e.id)}/redeliver`, { auth: userAuth }), 403, 'FORBIDDEN');
    assertError(await call('POST', `${base}/policies/${id}/executions/999999/redeliver`), 404, 'NOT_FOUND');
    const r = await call('POST', `${base}/policies/${id}/executions/${String(e.id)}/redeliver`);
    assert.equal(r.status, 201, show(r));
    const re = obj(r.json);
    assert.equal(re.vendor_id, id);
    assert.equal(obj(re.extra_attrs).payload, obj(e.extra_attrs).payload);
    const got = await rx.waitFor(2, 15_000, '/redo');
    assert.equal(got[1]?.body.toString('utf8'), first.body.toString('utf8'));
    assert.equal(re.trigger, 'MANUAL');
    assert.notEqual(re.id, e.id, 'a redelivery is a new execution; the original stays');
    // A disabled policy cannot be redelivered.
    const current = obj((await call('GET', `${base}/policies/${id}`)).json);
    assert.equal((await call('PUT', `${base}/policies/${id}`, { body: { ...current, enabled: false } })).status, 200);
    assertError(await call('POST', `${base}/policies/${id}/executions/${String(e.id)}/redeliver`), 409, 'CONFLICT', /policy is disabled/);
  });

  it('sends nothing while notification_enable is off', async () => {
    rx.respond('/off', { statuses: [200] });
    const id = await create(base, policy('deliver-off', { targets: [httpTarget({ address: `${rx.url}/off` })] }));
    assert.equal((await call('PUT', '/api/v2.0/configurations', { body: { notification_enable: false } })).status, 200);
    try {
      await appendPush('deliv', 'app', 'off');
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(rx.on('/off').length, 0);
      assert.equal((await call('GET', `${base}/policies/${id}/executions`)).headers.get('x-total-count'), '0');
    } finally {
      await call('PUT', '/api/v2.0/configurations', { body: { notification_enable: true } });
    }
  });

  it('tests a target (Wharf): one real request, its status and duration', async () => {
    rx.respond('/probe', { statuses: [204] });
    const a = await call('POST', `${base}/policies/test`, { body: { type: 'http', address: `${rx.url}/probe`, auth_header: 'Bearer T' } });
    assert.equal(a.status, 200, show(a));
    const r = obj(a.json);
    assert.equal(r.success, true);
    assert.equal(r.status_code, 204);
    assert.equal(typeof r.duration_ms, 'number');
    assert.equal(r.error, null);
    const [got] = await rx.waitFor(1, 5_000, '/probe');
    assert.equal(got?.headers.authorization, 'Bearer T');
    // Harbor's legacy body: a policy with targets; one result per target.
    const legacy = await call('POST', `${sys}/policies/test`, { body: { name: 'legacy', targets: [{ type: 'http', address: `${rx.url}/probe` }, { type: 'http', address: `${rx.url}/fail` }] } });
    assert.equal(legacy.status, 200, show(legacy));
    assert.deepEqual(
      arr(legacy.json).map((x) => [obj(x).success, obj(x).status_code]),
      [
        [true, 204],
        [false, 500],
      ],
    );
    assertError(await call('POST', `${base}/policies/test`, { body: { type: 'http', address: 'ftp://x' } }), 400, 'BAD_REQUEST', 'invalid scheme: ftp');
    assertError(await call('POST', `${base}/policies/test`, { auth: null, body: { type: 'http', address: `${rx.url}/probe` } }), 401, 'UNAUTHORIZED');
    assertError(await call('POST', `${sys}/policies/test`, { auth: userAuth, body: { type: 'http', address: `${rx.url}/probe` } }), 403, 'FORBIDDEN');
  });

  it('delivers with the stored format options and filters (Distribution as application/json, tag filter)', async () => {
    rx.respond('/dist', { statuses: [200] });
    await create(base, policy('deliver-dist', { tag_filters: ['dist-*'], targets: [httpTarget({ address: `${rx.url}/dist`, payload_format: 'Distribution', distribution_content_type: 'application/json' })] }));
    await appendPush('deliv', 'app', 'other-tag');
    await appendPush('deliv', 'app', 'dist-1');
    const [got] = await rx.waitFor(1, 15_000, '/dist');
    assert.ok(got);
    assert.equal(got.headers['content-type'], 'application/json');
    const envelope = obj(JSON.parse(got.body.toString('utf8')));
    const ev = obj(arr(envelope.events)[0]);
    assert.equal(obj(ev.target).tag, 'dist-1', 'the event filtered out by tag_filters was not sent');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.on('/dist').length, 1);
  });

  it('refuses to test a link-local / cloud metadata address', async () => {
    const a = await call('POST', `${base}/policies/test`, { body: { type: 'http', address: 'http://169.254.169.254/latest/meta-data/' } });
    assert.equal(a.status, 200, show(a));
    const r = obj(a.json);
    assert.equal(r.success, false);
    assert.equal(r.status_code, null);
    assert.match(String(r.error), /blocked by the SSRF policy: .*cloud metadata address/);
    const b = await call('POST', `${base}/policies/test`, { body: { type: 'http', address: 'http://169.254.10.10/' } });
    assert.match(String(obj(b.json).error), /blocked by the SSRF policy: .*link-local/);
  });
});
