/**
 * Issue 8, item 1: a webhook filter glob must never freeze the server. Wharf runs as a child
 * process (real SQLite file in a temporary data folder, real HTTP) delivering to a real receiver
 * on 127.0.0.1. A policy whose repo_filters hold the issue's pattern `p1/*a*a*a*a*a*a*a*a*a*a!`
 * (and a 16-star variant) sees a push to `p1/` + 40 a's; `/v2/` must keep answering and a normal
 * policy's delivery must arrive, also after kill -9 and a restart on the same data folder.
 *
 * With the old backtracking RegExp the 10-star pattern alone froze the event loop for ~20 s and
 * the 16-star one for tens of minutes, so the first `GET /v2/` below never answered: the test
 * failed by its `timeout` option (it measures no speed; the server answers in milliseconds now).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { adminAuth, spawnWharf, tempDataDir, type SpawnedWharf } from '../helpers/wharf.ts';
import { jsonBody, startReceiver, type Receiver } from '../helpers/receiver.ts';
import { api, createPolicy, explain, pushSmallImage, smallImage, type PolicyInput } from '../helpers/webhook-client.ts';

const issuePattern = `p1/${'*a'.repeat(10)}!`;
const worsePattern = `p1/${'*a'.repeat(16)}!`;
const repo = `p1/${'a'.repeat(40)}`;
const scope = '/api/v2.0/projects/p1';

/** The repository name and tag of a Default-format push delivery. */
function pushed(body: unknown): { repo: string; tag: string } {
  const data = (body as { event_data?: { repository?: { repo_full_name?: string }; resources?: Array<{ tag?: string }> } }).event_data;
  return { repo: String(data?.repository?.repo_full_name), tag: String(data?.resources?.[0]?.tag) };
}

describe('webhook filter globs cannot freeze the server (issue 8, item 1)', { timeout: 180_000 }, () => {
  const dataDir = tempDataDir('wharf-redos-');
  let receiver: Receiver;
  let w: SpawnedWharf | undefined;
  let redosPolicy = 0;

  const policy = (name: string, path: string, extra: Partial<PolicyInput> = {}): PolicyInput => ({
    name,
    event_types: ['PUSH_ARTIFACT'],
    targets: [{ type: 'http', address: `${receiver.url}${path}` }],
    ...extra,
  });

  before(async () => {
    receiver = await startReceiver();
    w = await spawnWharf({ dataDir });
    const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'p1', metadata: { public: 'false' } } });
    assert.equal(p.status, 201, explain('POST', '/api/v2.0/projects', p));
  });

  after(async () => {
    // Kill before anything else: a frozen server would not stop on SIGTERM.
    await w?.kill9();
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a policy with the ReDoS patterns is accepted; a push to p1/aaa... leaves /v2 answering and the normal policy delivering', { timeout: 60_000 }, async () => {
    assert.ok(w);
    redosPolicy = await createPolicy(w.url, adminAuth, scope, policy('redos', '/redos', { repo_filters: [issuePattern, worsePattern] }));
    await createPolicy(w.url, adminAuth, scope, policy('normal', '/normal', { repo_filters: ['p1/**'] }));

    await pushSmallImage(w.url, repo, smallImage('redos-1'), { tag: 'v1', auth: adminAuth });
    const [delivery] = await receiver.waitFor(1, 30_000, '/normal');
    assert.deepEqual(pushed(jsonBody(delivery!)), { repo, tag: 'v1' });

    const v2 = await api(w.url, 'GET', '/v2/', { auth: adminAuth });
    assert.equal(v2.status, 200, explain('GET', '/v2/', v2));

    // The event went through the dispatcher (the normal delivery proves it) and matched no ReDoS pattern.
    const ex = await api(w.url, 'GET', `${scope}/webhook/policies/${redosPolicy}/executions`, { auth: adminAuth });
    assert.equal(ex.status, 200, explain('GET', 'executions', ex));
    assert.deepEqual(ex.json, []);
    assert.equal(receiver.on('/redos').length, 0);
  });

  it('after kill -9, the restarted server answers and matches the same filters again', { timeout: 60_000 }, async () => {
    assert.ok(w);
    // Push and kill at once: the event may still be waiting for the dispatcher when the process dies.
    await pushSmallImage(w.url, repo, smallImage('redos-2'), { tag: 'v2', auth: adminAuth });
    await w.kill9();
    w = await spawnWharf({ dataDir });

    const v2 = await api(w.url, 'GET', '/v2/', { auth: adminAuth });
    assert.equal(v2.status, 200, explain('GET', '/v2/', v2));

    await pushSmallImage(w.url, repo, smallImage('redos-3'), { tag: 'v3', auth: adminAuth });
    await receiver.waitFor(1, 30_000, (r) => r.path === '/normal' && pushed(jsonBody(r)).tag === 'v3');
    const ex = await api(w.url, 'GET', `${scope}/webhook/policies/${redosPolicy}/executions`, { auth: adminAuth });
    assert.deepEqual(ex.json, []);
  });

  it('filter bounds are a 400 in Harbor\'s error format, on create and on update', { timeout: 30_000 }, async () => {
    assert.ok(w);
    const alternatives = (n: number): string => `{${Array.from({ length: n }, (_, i) => `t${i}`).join(',')}}`;
    const cases: Array<[string, Partial<PolicyInput>, RegExp]> = [
      ['a pattern of 257 characters', { repo_filters: [`p1/${'x'.repeat(254)}`] }, /^repo_filters\[0\] is longer than 256 characters$/],
      ['33 patterns', { tag_filters: Array.from({ length: 33 }, (_, i) => `v${i}`) }, /^tag_filters: at most 32 patterns$/],
      ['33 alternatives', { tag_filters: ['v*', alternatives(33)] }, /^tag_filters\[1\] has more than 32 \{a,b\} alternatives$/],
      ['a range out of order', { tag_filters: ['v[9-0]'] }, /^tag_filters\[0\] is not a valid glob: range 9-0 is out of order$/],
    ];
    for (const [what, extra, message] of cases) {
      const path = `${scope}/webhook/policies`;
      const a = await api(w.url, 'POST', path, { auth: adminAuth, body: { enabled: true, ...policy(`bounds-${what.length}`, '/bounds', extra) } });
      assert.equal(a.status, 400, `${what}: ${explain('POST', path, a)}`);
      const errors = (a.json as { errors: Array<{ code: string; message: string }> }).errors;
      assert.equal(errors.length, 1, what);
      assert.equal(errors[0]!.code, 'BAD_REQUEST', what);
      assert.match(errors[0]!.message, message, what);
    }
    // At the bounds exactly: accepted, and the same list is refused on update once one more is added.
    const atBounds: Partial<PolicyInput> = { repo_filters: [`p1/${'x'.repeat(253)}`], tag_filters: [...Array.from({ length: 31 }, (_, i) => `v${i}`), alternatives(32)] };
    const id = await createPolicy(w.url, adminAuth, scope, policy('at-bounds', '/bounds', atBounds));
    const path = `${scope}/webhook/policies/${id}`;
    const put = await api(w.url, 'PUT', path, { auth: adminAuth, body: { enabled: true, ...policy('at-bounds', '/bounds', { ...atBounds, tag_filters: [...atBounds.tag_filters!, 'one-more'] }) } });
    assert.equal(put.status, 400, explain('PUT', path, put));
    assert.match(put.text, /tag_filters: at most 32 patterns/);
  });
});
