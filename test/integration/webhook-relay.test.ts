/**
 * Webhook relays over real HTTP against a real Wharf (SQLite, and PostgreSQL in its pass) with a
 * real receiver: a project admin creates a relay and gets its URL once; Harbor's Default and
 * CloudEvents payloads, the CNCF registry's envelope and Docker Hub's webhook posted there become
 * events the project's policies deliver (Default and Discord targets); a redelivery is recorded
 * once; bad payloads, an unknown token and the permission rules are checked.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { jsonBody, startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.ts';
import { apiCaller, createPolicy, show, type ApiAnswer } from '../helpers/webhook-client.ts';
import { distributionEnvelope, dockerHubPush, harborCloudEvent, harborDefault } from '../fixtures/relay/samples.ts';

let w: TestWharf;
let rx: Receiver;
const call = apiCaller(() => w.url, adminAuth);
const password = 'Relay12345!';
const basic = (u: string) => 'Basic ' + Buffer.from(`${u}:${password}`).toString('base64');
const relays = '/api/v2.0/projects/relayed/webhook/relays';
let relayUrl = '';
let relayPath = '';

/** Posts `body` (JSON text) to a relay path with optional headers; the answer. */
async function post(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<ApiAnswer> {
  const r = await fetch(w.url + path, { method: 'POST', headers, body });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: Object.fromEntries(r.headers), text, json };
}

function errorOf(a: ApiAnswer): { code: string; message: string } {
  const e = (a.json as { errors?: Array<{ code: string; message: string }> } | undefined)?.errors?.[0]; // Harbor's error body, checked below
  assert.ok(e, show(a));
  return e;
}

/** The Default bodies delivered to `/default` whose repository is `repo`. */
function defaultsFor(repo: string): Array<Record<string, unknown>> {
  return rx
    .on('/default')
    .map((r: ReceivedRequest) => jsonBody(r) as Record<string, unknown>) // Default JSON, read below
    .filter((b) => (b['event_data'] as { repository?: { repo_full_name?: string } } | undefined)?.repository?.repo_full_name === repo);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  rx = await startReceiver();
  w = await startWharf({ overrides: { webhooks: { retry_schedule: [0, 0.2, 0.2] } } });
  // auto_scan: a relayed push must not start a scan of an artifact Wharf does not hold.
  assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'relayed', metadata: { public: 'false', auto_scan: 'true' } } })).status, 201);
  for (const u of ['owner', 'dev']) assert.equal((await call('POST', '/api/v2.0/users', { body: { username: u, password, email: `${u}@example.com`, realname: u } })).status, 201);
  assert.equal((await call('POST', '/api/v2.0/projects/relayed/members', { body: { role_id: 1, member_user: { username: 'owner' } } })).status, 201);
  assert.equal((await call('POST', '/api/v2.0/projects/relayed/members', { body: { role_id: 2, member_user: { username: 'dev' } } })).status, 201);
  const all = ['PUSH_ARTIFACT', 'PULL_ARTIFACT', 'DELETE_ARTIFACT', 'DELETE_TAG', 'DELETE_REPOSITORY', 'QUOTA_EXCEED', 'QUOTA_WARNING', 'SCANNING_COMPLETED', 'SCANNING_FAILED', 'REPLICATION', 'TAG_RETENTION'];
  await createPolicy(w.url, adminAuth, '/api/v2.0/projects/relayed', {
    name: 'relay-out',
    event_types: all,
    targets: [
      { type: 'http', address: `${rx.url}/default`, payload_format: 'Default' },
      { type: 'discord', address: `${rx.url}/discord` },
    ],
  });
});

after(async () => {
  await w?.close();
  await rx?.close();
});

describe('relay management', () => {
  it('a project admin creates a relay: 201 with its URL and token, shown once', async () => {
    const a = await call('POST', relays, { auth: basic('owner'), body: { name: 'harbor-prod', description: 'our old Harbor' } });
    assert.equal(a.status, 201, show(a));
    const r = a.json as { id: number; name: string; description: string; url: string; token: string; creator: string };
    assert.equal(r.name, 'harbor-prod');
    assert.equal(r.creator, 'owner');
    assert.match(r.token, /^whr_[A-Za-z0-9_-]{43}$/);
    assert.equal(r.url, `${w.url}/api/v2.0/relay/${r.token}`);
    assert.equal(a.headers['location'], `${relays}/${r.id}`);
    relayUrl = r.url;
    relayPath = new URL(r.url).pathname;
    const list = await call('GET', relays, { auth: basic('owner') });
    assert.equal(list.status, 200, show(list));
    assert.deepEqual((list.json as Array<{ name: string }>).map((x) => x.name), ['harbor-prod']);
    assert.ok(!list.text.includes(r.token), 'the list never shows the token');
    const row = await w.wharf.db.kysely.selectFrom('webhook_relays').selectAll().executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(row).includes(r.token), 'only the hash is stored');
  });

  it('refuses a duplicate name (409), a bad name (400), a developer (403) and anonymous callers (401)', async () => {
    assert.equal((await call('POST', relays, { body: { name: 'harbor-prod' } })).status, 409);
    assert.equal(errorOf(await call('POST', relays, { body: { name: '' } })).code, 'BAD_REQUEST');
    assert.equal((await call('POST', relays, { auth: basic('dev'), body: { name: 'mine' } })).status, 403);
    assert.equal((await call('DELETE', `${relays}/1`, { auth: basic('dev') })).status, 403);
    assert.equal((await call('POST', relays, { auth: null, body: { name: 'anon' } })).status, 401);
    assert.equal((await call('POST', '/api/v2.0/projects/nope/webhook/relays', { body: { name: 'x' } })).status, 404);
  });

  it('deleting a project deletes its relays and their receipts; its URL answers 404', async () => {
    assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'short-lived' } })).status, 201);
    const created = await call('POST', '/api/v2.0/projects/short-lived/webhook/relays', { body: { name: 'gone-soon' } });
    assert.equal(created.status, 201, show(created));
    const { id, url } = created.json as { id: number; url: string };
    const path = new URL(url).pathname;
    // Harbor's push sample under another repository name: the other tests count library/alpine's events.
    const body = JSON.stringify(harborDefault.push).replaceAll('library/alpine', 'library/short-lived');
    assert.equal((await post(path, body)).status, 202);
    const rows = (table: 'webhook_relays' | 'webhook_relay_receipts') =>
      table === 'webhook_relays'
        ? w.wharf.db.kysely.selectFrom('webhook_relays').select('id').where('id', '=', id).execute()
        : w.wharf.db.kysely.selectFrom('webhook_relay_receipts').select('relay_id').where('relay_id', '=', id).execute();
    assert.equal((await rows('webhook_relay_receipts')).length, 1);
    assert.equal((await call('DELETE', '/api/v2.0/projects/short-lived')).status, 200);
    assert.equal((await post(path, body)).status, 404, 'the URL stops working with the project');
    for (let i = 0; i < 100 && (await rows('webhook_relays')).length > 0; i++) await sleep(50);
    assert.deepEqual([(await rows('webhook_relays')).length, (await rows('webhook_relay_receipts')).length], [0, 0]);
    assert.deepEqual(((await call('GET', relays)).json as Array<{ name: string }>).map((x) => x.name), ['harbor-prod'], 'other projects keep theirs');
  });
});

describe('relayed payloads', () => {
  it('a Harbor Default push reaches the Default and Discord targets, with the source named', async () => {
    // Harbor sends its policy's auth_header verbatim: the relay ignores it.
    const a = await post(relayPath, JSON.stringify(harborDefault.push), { 'content-type': 'application/json', authorization: 'Bearer harbor-secret' });
    assert.equal(a.status, 202, show(a));
    assert.deepEqual(a.json, { source: 'harbor', accepted: 1, duplicates: 0, ignored: 0 });
    await rx.waitFor(1, 10_000, '/discord');
    const [d] = defaultsFor('library/alpine');
    assert.ok(d, 'a Default delivery');
    assert.equal(d['type'], 'PUSH_ARTIFACT');
    assert.equal(d['operator'], 'admin');
    assert.equal(d['occur_at'], 1680501893);
    const discord = rx.on('/discord').map((r) => jsonBody(r) as { embeds: Array<{ title: string; fields: Array<{ name: string; value: string }> }> }); // Discord body
    const embed = discord[0]?.embeds[0];
    assert.ok(embed && embed.title.includes('library/alpine:3.18'), JSON.stringify(discord));
  });

  it('relayed events reach the webhook dispatcher only: no audit entry, no scan on push', async () => {
    await sleep(500);
    const audit = await w.wharf.db.kysely.selectFrom('audit_log').select(['operation', 'resource']).where('resource', 'like', '%alpine%').execute();
    assert.deepEqual(audit, []);
    const scans = await w.wharf.db.kysely.selectFrom('job_executions').select('vendor_type').where('vendor_type', '=', 'SCAN_ON_PUSH').execute();
    assert.deepEqual(scans, []);
  });

  it('a redelivery of the same payload is recorded once (202, duplicates 1)', async () => {
    const a = await post(relayPath, JSON.stringify(harborDefault.push));
    assert.equal(a.status, 202, show(a));
    assert.deepEqual(a.json, { source: 'harbor', accepted: 0, duplicates: 1, ignored: 0 });
    await sleep(1000);
    assert.equal(defaultsFor('library/alpine').length, 1, 'still one delivery');
    const events = await w.wharf.db.kysely.selectFrom('events').select('data').where('type', '=', 'PUSH_ARTIFACT').execute();
    assert.equal(events.filter((e) => e.data.includes('"library/alpine"')).length, 1);
  });

  it('Harbor scans, quotas, replication and retention are delivered too', async () => {
    for (const body of [harborDefault.scanCompleted, harborDefault.quotaExceed, harborDefault.replication, harborDefault.retention]) {
      const a = await post(relayPath, JSON.stringify(body));
      assert.equal(a.status, 202, show(a));
      assert.equal((a.json as { accepted: number }).accepted, 1);
    }
    const types = async () => rx.on('/default').map((r) => (jsonBody(r) as { type: string }).type); // Default bodies
    await rx.waitFor(5, 10_000, '/default');
    assert.deepEqual(new Set(await types()), new Set(['PUSH_ARTIFACT', 'SCANNING_COMPLETED', 'QUOTA_EXCEED', 'REPLICATION', 'TAG_RETENTION']));
    await rx.waitFor(5, 10_000, '/discord');
    const failed = await w.wharf.db.kysely.selectFrom('webhook_executions').select(['status', 'status_message']).where('status', '=', 'Error').execute();
    assert.deepEqual(failed, [], 'every relayed event rendered in every format');
  });

  it('a Harbor CloudEvent (structured and binary) is read and de-duplicated on its id', async () => {
    const ce = { ...harborCloudEvent, data: { ...harborCloudEvent.data, repository: { ...harborCloudEvent.data.repository, repo_full_name: 'harbor/ce' } } };
    const a = await post(relayPath, JSON.stringify(ce), { 'content-type': 'application/cloudevents+json' });
    assert.deepEqual(a.json, { source: 'harbor-cloudevents', accepted: 1, duplicates: 0, ignored: 0 });
    const again = await post(relayPath, JSON.stringify({ ...ce, time: '2023-04-03T06:05:00Z' }), { 'content-type': 'application/cloudevents+json' });
    assert.deepEqual(again.json, { source: 'harbor-cloudevents', accepted: 0, duplicates: 1, ignored: 0 }, 'same source and id: the same event');
    const bin = await post(relayPath, JSON.stringify({ ...harborDefault.delete.event_data, repository: { ...harborDefault.delete.event_data.repository, repo_full_name: 'harbor/bin' } }), {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'bin-1',
      'ce-source': 'https://harbor.example.com',
      'ce-type': 'harbor.artifact.deleted',
      'ce-time': '2024-01-01T00:00:00Z',
    });
    assert.deepEqual(bin.json, { source: 'harbor-cloudevents', accepted: 1, duplicates: 0, ignored: 0 });
    await rx.waitFor(1, 10_000, (r) => r.path === '/default' && r.body.includes('harbor/ce'));
    await rx.waitFor(1, 10_000, (r) => r.path === '/default' && r.body.includes('harbor/bin'));
    assert.equal(defaultsFor('harbor/bin')[0]?.['type'], 'DELETE_ARTIFACT');
  });

  it('the CNCF registry envelope: the manifest push is an event, the layer push is ignored', async () => {
    const a = await post(relayPath, JSON.stringify(distributionEnvelope), { 'content-type': 'application/vnd.docker.distribution.events.v1+json' });
    assert.equal(a.status, 202, show(a));
    assert.deepEqual(a.json, { source: 'distribution', accepted: 1, duplicates: 0, ignored: 1 });
    await rx.waitFor(1, 10_000, (r) => r.path === '/default' && r.body.includes('library/test'));
    const [d] = defaultsFor('library/test');
    assert.equal((d?.['event_data'] as { resources: Array<{ tag: string }> }).resources[0]?.tag, 'latest'); // Default body
  });

  it('Docker Hub: a push without digest is delivered with its tag', async () => {
    const a = await post(relayPath, JSON.stringify(dockerHubPush));
    assert.deepEqual(a.json, { source: 'dockerhub', accepted: 1, duplicates: 0, ignored: 0 });
    await rx.waitFor(1, 10_000, (r) => r.path === '/default' && r.body.includes('ns/repo'));
    const [d] = defaultsFor('ns/repo');
    assert.equal(d?.['operator'], 'trustedbuilder');
  });
});

describe('what the relay refuses', () => {
  it('an unknown token is a 404 in Harbor’s format', async () => {
    const a = await post('/api/v2.0/relay/whr_not-a-token', JSON.stringify(harborDefault.push));
    assert.equal(a.status, 404, show(a));
    assert.deepEqual(errorOf(a), { code: 'NOT_FOUND', message: 'relay not found' });
  });

  it('bad payloads are 400s that say what is wrong', async () => {
    const notJson = await post(relayPath, '{"type":');
    assert.equal(notJson.status, 400);
    assert.match(errorOf(notJson).message, /invalid JSON body/);
    const unknown = await post(relayPath, JSON.stringify({ hello: 'world' }));
    assert.equal(unknown.status, 400);
    assert.match(errorOf(unknown).message, /unrecognised payload/);
    const empty = await post(relayPath, '');
    assert.equal(empty.status, 400);
    assert.match(errorOf(empty).message, /body is empty/);
    const noRepo = await post(relayPath, JSON.stringify({ type: 'PUSH_ARTIFACT', occur_at: 1, event_data: { resources: [{ digest: 'sha256:aa' }] } }));
    assert.equal(noRepo.status, 400);
    assert.match(errorOf(noRepo).message, /repo_full_name/);
    const big = await post(relayPath, JSON.stringify({ ...harborDefault.push, padding: 'x'.repeat(1024 * 1024) }));
    assert.equal(big.status, 413, show(big));
  });

  it('an unknown Harbor type is accepted and ignored (Harbor would only retry a 400)', async () => {
    const a = await post(relayPath, JSON.stringify({ type: 'pushImage', occur_at: 1, operator: 'x' }));
    assert.deepEqual(a.json, { source: 'harbor', accepted: 0, duplicates: 0, ignored: 1 });
  });

  it('the relay of a deleted project stops answering', async () => {
    assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'short-lived', metadata: { public: 'false' } } })).status, 201);
    const r = await call('POST', '/api/v2.0/projects/short-lived/webhook/relays', { body: { name: 'gone' } });
    assert.equal(r.status, 201, show(r));
    const path = new URL((r.json as { url: string }).url).pathname; // the created relay's view
    assert.equal((await post(path, JSON.stringify(harborDefault.quotaWarning))).status, 202);
    assert.equal((await call('DELETE', '/api/v2.0/projects/short-lived')).status, 200);
    const a = await post(path, JSON.stringify(harborDefault.quotaExceed));
    assert.equal(a.status, 404, show(a));
  });

  it('a deleted relay stops answering at once', async () => {
    const list = (await call('GET', relays)).json as Array<{ id: number }>;
    const id = list[0]?.id;
    assert.ok(id);
    const d = await call('DELETE', `${relays}/${id}`, { auth: basic('owner') });
    assert.equal(d.status, 200, show(d));
    assert.equal((await post(relayPath, JSON.stringify(harborDefault.delete))).status, 404);
    assert.equal((await call('DELETE', `${relays}/${id}`)).status, 404);
    assert.ok(relayUrl.endsWith(relayPath));
  });
});
