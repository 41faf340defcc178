/**
 * MSR's webhook API (/api/v0) over real HTTP and a real receiver: subscriptions are Wharf policies
 * (and the other way round), MSR payloads per subscribed type, MSR's permission rules, the test
 * endpoint, and MSR's error format.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { jsonBody, startReceiver, type Receiver } from '../helpers/receiver.ts';
import type { MsrWebhookView } from '../../src/webhooks/msr-subscriptions.ts';
import { api, createPolicy, eventually, explain, pushSmallImage, smallImage, type ApiAnswer } from '../helpers/webhook-client.ts';

const password = 'Passw0rd!x';
const basic = (u: string) => 'Basic ' + Buffer.from(`${u}:${password}`).toString('base64');

type Sub = MsrWebhookView;

function errorCode(a: ApiAnswer): string | undefined {
  return (a.json as { errors?: Array<{ code: string; message: string }> } | undefined)?.errors?.[0]?.code;
}

describe('MSR webhook API (/api/v0)', () => {
  let w: TestWharf;
  let recv: Receiver;
  let adminId = '';
  const call = async (method: Dispatcher.HttpMethod, path: string, opts: { body?: unknown; auth?: string | null } = {}): Promise<ApiAnswer> =>
    api(w.url, method, path, { ...(opts.body === undefined ? {} : { body: opts.body }), ...(opts.auth === null ? {} : { auth: opts.auth ?? adminAuth }) });
  const ok = async (method: Dispatcher.HttpMethod, path: string, status: number, opts: { body?: unknown; auth?: string | null } = {}): Promise<ApiAnswer> => {
    const a = await call(method, path, opts);
    assert.equal(a.status, status, explain(method, path, a));
    return a;
  };

  before(async () => {
    recv = await startReceiver();
    w = await startWharf({ overrides: { webhooks: { allow_private_targets: true } } });
    await ok('POST', '/api/v2.0/projects', 201, { body: { project_name: 'team', metadata: { public: 'false' } } });
    for (const u of ['dev', 'guest']) await ok('POST', '/api/v2.0/users', 201, { body: { username: u, password, email: `${u}@example.com`, realname: u } });
    await ok('POST', '/api/v2.0/projects/team/members', 201, { body: { role_id: 1, member_user: { username: 'dev' } } });
    const users = (await ok('GET', '/api/v2.0/users', 200)).json as Array<{ user_id: number; username: string }>;
    adminId = String(users.find((u) => u.username === 'admin')?.user_id ?? '');
  });
  after(async () => {
    await w.close();
    await recv.close();
  });

  test('a subscription is a policy: TAG_PUSH and MANIFEST_PUSH payloads, history, lastSuccessfulAt', { timeout: 30_000 }, async () => {
    const tagSub = (await ok('POST', '/api/v0/webhooks', 201, { body: { type: 'TAG_PUSH', key: 'library/app', endpoint: `${recv.url}/tag` } })).json as Sub;
    assert.match(tagSub.id, /^[0-9]+$/);
    assert.equal(tagSub.type, 'TAG_PUSH');
    assert.equal(tagSub.key, 'library/app');
    assert.equal(tagSub.endpoint, `${recv.url}/tag`);
    assert.equal(tagSub.authorID, adminId);
    assert.match(tagSub.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(tagSub.lastSuccessfulAt, null);
    assert.equal(tagSub.inactive, false);
    assert.equal(tagSub.tlsCert, '');
    assert.equal(tagSub.skipTLSVerification, false);
    const manifestSub = (await ok('POST', '/api/v0/webhooks', 201, { body: { type: 'MANIFEST_PUSH', key: 'library', endpoint: `${recv.url}/manifest`, skipTLSVerification: true } })).json as Sub;
    assert.equal(manifestSub.skipTLSVerification, true);

    const img = smallImage('msr-a');
    await pushSmallImage(w.url, 'library/app', img, { tag: 'v1', auth: adminAuth });
    await pushSmallImage(w.url, 'library/app', smallImage('msr-b'), { auth: adminAuth }); // by digest: no TAG_PUSH
    await pushSmallImage(w.url, 'library/other', smallImage('msr-c'), { tag: 'v1', auth: adminAuth }); // another repository
    const [tagHit] = await recv.waitFor(1, 15_000, '/tag');
    const manifests = await recv.waitFor(3, 15_000, '/manifest');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(recv.on('/tag').length, 1, 'only the tagged push to library/app fires TAG_PUSH');
    assert.equal(recv.on('/manifest').length, 3, 'every push in library fires MANIFEST_PUSH');
    const tagBody = jsonBody(tagHit!) as { type: string; contents: Record<string, unknown>; location: string };
    assert.equal(tagBody.type, 'TAG_PUSH');
    assert.deepEqual([tagBody.contents.namespace, tagBody.contents.repository, tagBody.contents.tag, tagBody.contents.digest], ['library', 'app', 'v1', img.digest]);
    assert.equal(tagBody.location, '/repositories/library/app/tags/v1');
    for (const m of manifests) {
      const b = jsonBody(m) as { type: string; contents: Record<string, unknown> };
      assert.equal(b.type, 'MANIFEST_PUSH');
      assert.equal('tag' in b.contents, false);
      assert.match(String(b.contents.imageName), /@sha256:/);
    }

    // The Harbor view: the policy, its MSR type, its executions.
    const policies = (await ok('GET', '/api/v2.0/projects/library/webhook/policies', 200)).json as Array<{ id: number; event_types: string[]; repo_filters: string[]; tag_filters: string[]; targets: Array<{ payload_format: string; msr_type?: string }> }>;
    const p = policies.find((x) => String(x.id) === tagSub.id);
    assert.ok(p, 'the subscription is in the Harbor policy list');
    assert.deepEqual([p.event_types, p.repo_filters, p.tag_filters], [['PUSH_ARTIFACT'], ['library/app'], ['*']]);
    assert.deepEqual([p.targets[0]?.payload_format, p.targets[0]?.msr_type], ['MSR', 'TAG_PUSH']);
    const execs = await eventually(async () => {
      const e = (await ok('GET', `/api/v2.0/projects/library/webhook/policies/${tagSub.id}/executions`, 200)).json as Array<{ status: string }>;
      return e.length === 1 && e[0]?.status === 'Success' ? e : null;
    });
    assert.equal(execs.length, 1);

    const listed = await eventually(async () => {
      const all = (await ok('GET', '/api/v0/webhooks', 200)).json as Sub[];
      const s = all.find((x) => x.id === tagSub.id);
      return s?.lastSuccessfulAt ? all : null;
    });
    assert.ok(listed.some((s) => s.id === manifestSub.id && s.type === 'MANIFEST_PUSH' && s.key === 'library'));
    const byRepo = (await ok('GET', '/api/v0/repositories/library/app/webhooks', 200)).json as Sub[];
    assert.deepEqual(byRepo.map((s) => s.id), [tagSub.id]);
    const byNs = (await ok('GET', '/api/v0/repositories/library/webhooks', 200)).json as Sub[];
    assert.deepEqual(byNs.map((s) => s.id), [manifestSub.id]);

    await ok('DELETE', `/api/v0/webhooks/${tagSub.id}`, 204);
    await ok('GET', `/api/v2.0/projects/library/webhook/policies/${tagSub.id}`, 404);
    await ok('DELETE', `/api/v0/webhooks/${manifestSub.id}`, 204);
    const gone = await ok('DELETE', `/api/v0/webhooks/${manifestSub.id}`, 404);
    assert.equal(errorCode(gone), 'WEBHOOK_NOT_FOUND');
  });

  test('a Harbor policy with an MSR target shows as MSR entries; its parts cannot be deleted alone', async () => {
    const id = await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
      name: 'harbor-msr',
      event_types: ['PUSH_ARTIFACT', 'DELETE_ARTIFACT'],
      targets: [{ type: 'http', address: `${recv.url}/harbor`, payload_format: 'MSR' }],
    });
    const notShown = await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
      name: 'globbed',
      event_types: ['PUSH_ARTIFACT'],
      repo_filters: ['library/app-*'],
      targets: [{ type: 'http', address: `${recv.url}/glob`, payload_format: 'MSR' }],
    });
    const all = (await ok('GET', '/api/v0/webhooks', 200)).json as Sub[];
    const mine = all.filter((s) => s.id.startsWith(`${id}-`));
    assert.deepEqual(mine.map((s) => s.type).sort(), ['MANIFEST_DELETE', 'MANIFEST_PUSH', 'TAG_PUSH']);
    assert.ok(mine.every((s) => s.key === 'library'));
    assert.equal(all.some((s) => s.id.startsWith(String(notShown))), false, 'a glob filter is not a key');
    const refused = await ok('DELETE', `/api/v0/webhooks/${mine[0]!.id}`, 409);
    assert.match(refused.text, new RegExp(`webhook policy ${id}`));
    await ok('DELETE', `/api/v2.0/projects/library/webhook/policies/${id}`, 200);
    await ok('DELETE', `/api/v2.0/projects/library/webhook/policies/${notShown}`, 200);
  });

  test("a Harbor client's full replace keeps the subscription's MSR type", async () => {
    const sub = (await ok('POST', '/api/v0/webhooks', 201, { body: { type: 'MANIFEST_PULL', key: 'library', endpoint: `${recv.url}/pull` } })).json as Sub;
    const path = `/api/v2.0/projects/library/webhook/policies/${sub.id}`;
    const policy = (await ok('GET', path, 200)).json as { targets: Array<Record<string, unknown>> } & Record<string, unknown>;
    // What a Harbor client sends back: the target without Wharf's msr_type.
    const targets = policy.targets.map(({ msr_type: _dropped, ...t }) => t);
    await ok('PUT', path, 200, { body: { ...policy, description: 'edited in Harbor', targets } });
    const after = ((await ok('GET', '/api/v0/webhooks', 200)).json as Sub[]).filter((s) => s.id.startsWith(sub.id));
    assert.deepEqual(after.map((s) => [s.id, s.type]), [[sub.id, 'MANIFEST_PULL']]);
    await ok('PUT', path, 200, { body: { ...policy, targets: targets.map((t) => ({ ...t, msr_type: null })) } });
    const untyped = ((await ok('GET', '/api/v0/webhooks', 200)).json as Sub[]).filter((s) => s.id.startsWith(`${sub.id}-`));
    assert.deepEqual(untyped.map((s) => s.type), ['TAG_PULL', 'MANIFEST_PULL'], 'msr_type: null removes it');
    await ok('DELETE', path, 200);
  });

  test("MSR's permission rules: repository (project) admins for a key, system admins for none", async () => {
    const dev = basic('dev');
    const guest = basic('guest');
    const devSub = (await ok('POST', '/api/v0/webhooks', 201, { auth: dev, body: { type: 'REPO_CREATED', key: 'team', endpoint: `${recv.url}/team` } })).json as Sub;
    assert.equal(devSub.key, 'team');
    assert.equal(errorCode(await ok('POST', '/api/v0/webhooks', 403, { auth: dev, body: { type: 'TAG_PUSH', key: 'library/app', endpoint: `${recv.url}/x` } })), 'NO_PERMISSION');
    assert.equal(errorCode(await ok('POST', '/api/v0/webhooks', 403, { auth: dev, body: { type: 'TAG_PUSH', endpoint: `${recv.url}/x` } })), 'NO_PERMISSION');
    assert.equal(errorCode(await ok('GET', '/api/v0/webhooks', 401, { auth: null })), 'NOT_AUTHENTICATED');
    assert.equal(errorCode(await ok('GET', '/api/v0/webhooks', 401, { auth: basic('nobody') })), 'NOT_AUTHENTICATED');

    const adminAll = (await ok('POST', '/api/v0/webhooks', 201, { body: { type: 'SCAN_FAILED', endpoint: `${recv.url}/all` } })).json as Sub;
    assert.equal(adminAll.key, '');
    const sys = (await ok('GET', '/api/v2.0/system/webhook/policies', 200)).json as Array<{ id: number; project_id: number | null }>;
    assert.ok(sys.some((p) => String(p.id) === adminAll.id && p.project_id === null), 'no key is a system-wide policy');

    assert.deepEqual(((await ok('GET', '/api/v0/webhooks', 200, { auth: dev })).json as Sub[]).map((s) => s.id), [devSub.id]);
    assert.deepEqual((await ok('GET', '/api/v0/webhooks', 200, { auth: guest })).json, []);
    assert.equal(errorCode(await ok('GET', '/api/v0/repositories/team/webhooks', 403, { auth: guest })), 'NO_PERMISSION');
    assert.deepEqual(((await ok('GET', '/api/v0/repositories/team/webhooks', 200, { auth: dev })).json as Sub[]).map((s) => s.id), [devSub.id]);
    assert.equal(errorCode(await ok('GET', '/api/v0/repositories/nope/webhooks', 404)), 'NAMESPACE_NOT_FOUND');
    await ok('DELETE', `/api/v0/webhooks/${devSub.id}`, 404, { auth: guest });
    await ok('DELETE', `/api/v0/webhooks/${adminAll.id}`, 404, { auth: dev });
    await ok('DELETE', `/api/v0/webhooks/${devSub.id}`, 204, { auth: dev });
    await ok('DELETE', `/api/v0/webhooks/${adminAll.id}`, 204);
  });

  test("MSR's error format for bad input and types Wharf cannot send", async () => {
    const bad = async (body: unknown, status: number, code: string, message?: RegExp) => {
      const a = await ok('POST', '/api/v0/webhooks', status, { body });
      assert.equal(errorCode(a), code, a.text);
      if (message) assert.match(a.text, message);
    };
    await bad({ type: 'NOPE', key: 'library', endpoint: recv.url }, 400, 'INVALID_PARAMETERS', /unknown webhook type NOPE/);
    await bad({ type: 'PROMOTION', key: 'library', endpoint: recv.url }, 400, 'INVALID_PARAMETERS', /PROMOTION is not available.*never fires/);
    await bad({ type: 'TAG_PUSH', key: 'library', endpoint: 'ftp://x' }, 400, 'INVALID_PARAMETERS', /invalid scheme/);
    await bad({ type: 'TAG_PUSH', key: 'Bad Key', endpoint: recv.url }, 400, 'INVALID_PARAMETERS', /invalid key/);
    await bad({ type: 'TAG_PUSH', key: 'nope/app', endpoint: recv.url }, 404, 'NAMESPACE_NOT_FOUND');
    const r = await fetch(`${w.url}/api/v0/webhooks`, { method: 'POST', headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: '{"type":' });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'INVALID_JSON');
  });

  test("/api/v0/webhooks/test sends MSR's sample and answers with the receiver's status", async () => {
    recv.respond('/test-ok', { statuses: [200], body: 'thanks' });
    const a = await ok('POST', '/api/v0/webhooks/test', 200, { body: { type: 'SCAN_COMPLETED', endpoint: `${recv.url}/test-ok` } });
    assert.deepEqual(a.json, { statusCode: 200, body: 'thanks' });
    const [hit] = recv.on('/test-ok');
    const b = jsonBody(hit!) as { type: string; contents: { namespace: string; repository: string; scanSummary: Record<string, unknown> } };
    assert.equal(b.type, 'SCAN_COMPLETED');
    assert.deepEqual([b.contents.namespace, b.contents.repository, b.contents.scanSummary.last_scan_status], ['foo', 'bar', 6]);
    recv.respond('/test-500', { statuses: [500] });
    assert.equal(((await ok('POST', '/api/v0/webhooks/test', 200, { auth: basic('guest'), body: { type: 'TAG_PUSH', endpoint: `${recv.url}/test-500` } })).json as { statusCode: number }).statusCode, 500);
    const down = await ok('POST', '/api/v0/webhooks/test', 400, { body: { type: 'TAG_PUSH', endpoint: 'http://127.0.0.1:9/none' } });
    assert.equal(errorCode(down), 'WEBHOOK_TEST_FAILED');
  });
});
