/**
 * Every GET route of /api/v2.0 answers the same with one trailing slash as without (Terraform
 * pages `/quotas/?page=`), the routes taken from the running app's route tree; /v2 stays strict.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { routesOf } from '../helpers/routes.ts';
import { api, explain, pushSmallImage, smallImage, type ApiAnswer } from '../helpers/webhook-client.ts';

let w: TestWharf;
const values: Record<string, string> = {};

before(async () => {
  w = await startWharf();
  const digest = await pushSmallImage(w.url, 'library/alpine', smallImage('slash'), { tag: 'v1', auth: adminAuth });
  const policy = await api(w.url, 'POST', '/api/v2.0/projects/library/webhook/policies', {
    auth: adminAuth,
    body: { name: 'slash', enabled: true, event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: 'https://example.com/hook' }] },
  });
  assert.equal(policy.status, 201, explain('POST', 'policies', policy));
  const me = await api(w.url, 'GET', '/api/v2.0/users/current', { auth: adminAuth });
  Object.assign(values, {
    project_name_or_id: 'library',
    project_name: 'library',
    repository_name: 'alpine',
    reference: digest,
    tag_name: 'v1',
    policy_id: String(policy.headers.location).split('/').pop(),
    user_id: String((me.json as { user_id: number }).user_id),
    id: '1',
  });
});

after(async () => {
  await w.close();
});

/**
 * A route pattern with its parameters filled in (`1` for those the fixture has no value for);
 * parameters that share a position print as `:a|:b`.
 */
function fill(pattern: string): string {
  return pattern.replace(/:([a-z_]+)(?:\|:[a-z_]+)*/g, (_m, name: string) => values[name] ?? '1');
}

/**
 * What must match between the two answers: status, content type and body, minus what moves
 * between two calls (the clock, the worker pools' heartbeats of /jobservice/pools, and the free
 * space of /systeminfo/volumes while other tests write).
 */
function comparable(a: ApiAnswer): unknown {
  let body: unknown = a.json ?? a.text;
  if (Array.isArray(body)) body = body.map((v: unknown) => (v !== null && typeof v === 'object' && 'heartbeat_at' in v ? { ...v, heartbeat_at: 'moves' } : v));
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const o = body as Record<string, unknown>;
    body = {
      ...o,
      ...('current_time' in o ? { current_time: 'now' } : {}),
      ...(Array.isArray(o.storage) ? { storage: o.storage.map((v: unknown) => (v !== null && typeof v === 'object' ? { ...v, free: 'moves' } : v)) } : {}),
    };
  }
  return { status: a.status, type: a.headers['content-type'], total: a.headers['x-total-count'], body };
}

describe('a trailing slash on /api/v2.0', () => {
  it('every GET route answers with one as without', async () => {
    const gets = routesOf(w.wharf.app.printRoutes({ commonPrefix: false })).filter((r) => r.method === 'GET' && r.path.startsWith('/api/v2.0/'));
    assert.ok(gets.length > 40, `found ${gets.length} GET routes`);
    const ok = new Set<string>();
    for (const r of gets) {
      const path = fill(r.path);
      const plain = await api(w.url, 'GET', path, { auth: adminAuth });
      const slashed = await api(w.url, 'GET', `${path}/`, { auth: adminAuth });
      assert.deepEqual(comparable(slashed), comparable(plain), `${r.path}: ${explain('GET', `${path}/`, slashed)} vs ${explain('GET', path, plain)}`);
      assert.doesNotMatch(slashed.text, /no API at/, `${r.path}/ reached a route`);
      assert.doesNotMatch(plain.text, /no API at/, `${r.path} reached a route`);
      if (plain.status === 200) ok.add(path);
    }
    // Others are 404s of the services (no gc run 1, no execution 1...), still the same route; these have data.
    for (const path of ['/api/v2.0/quotas', '/api/v2.0/projects/library', `/api/v2.0/projects/library/repositories/alpine/artifacts/${values.reference}/tags`]) {
      assert.ok(ok.has(path), `${path} answered 200`);
    }
  });

  it('paging with a slash keeps the query and builds Link from the path without it', async () => {
    await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'slash-two' } });
    const r = await api(w.url, 'GET', '/api/v2.0/quotas/?page=1&page_size=1', { auth: adminAuth });
    assert.equal(r.status, 200, explain('GET', '/quotas/', r));
    assert.equal((r.json as unknown[]).length, 1);
    assert.equal(r.headers.link, '</api/v2.0/quotas?page=2&page_size=1>; rel="next"');
  });

  it('two slashes, the prefix itself and /v2 stay strict', async () => {
    assert.equal((await api(w.url, 'GET', '/api/v2.0/projects//', { auth: adminAuth })).status, 404);
    assert.equal((await api(w.url, 'GET', '/api/v2.0/', { auth: adminAuth })).status, 404);
    assert.equal((await api(w.url, 'GET', '/v2/library/alpine/tags/list', { auth: adminAuth })).status, 200);
    assert.equal((await api(w.url, 'GET', '/v2/library/alpine/tags/list/', { auth: adminAuth })).status, 404);
  });
});
