/**
 * Harbor's list semantics on every /api/v2.0 list, over real HTTP: `q` in its five forms (exact,
 * fuzzy, range, OR list, AND list), unknown keys and sort fields ignored (GitLab's `sort=name` on
 * artifacts), fuzzy values with LIKE wildcards taken literally, X-Total-Count and Link.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { pushSmallImage, smallImage } from '../helpers/webhook-client.ts';

let tw: TestWharf;

const api = (path: string, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', adminAuth);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  return fetch(`${tw.url}/api/v2.0${path}`, { ...init, headers });
};

/** GETs a list: status, names (or another field), X-Total-Count and Link. */
async function list(path: string, field = 'name'): Promise<{ status: number; values: unknown[]; total: string | null; link: string | null; body: unknown }> {
  const r = await api(path);
  const body: unknown = await r.json();
  const values = Array.isArray(body) ? body.map((x: unknown) => (x !== null && typeof x === 'object' && field in x ? (x as Record<string, unknown>)[field] : undefined)) : [];
  return { status: r.status, values, total: r.headers.get('x-total-count'), link: r.headers.get('link'), body };
}

const q = (s: string) => encodeURIComponent(s);
/** Pushes a small image under `tags` (the first by PUT, the others through the API); `seed` makes it unique. */
async function pushImage(repo: string, tags: string[], seed: string): Promise<string> {
  const [first, ...rest] = tags;
  const digest = await pushSmallImage(tw.url, repo, smallImage(seed), { tag: first ?? 'latest', auth: adminAuth });
  const [project, ...name] = repo.split('/');
  for (const t of rest) {
    const c = await api(`/projects/${project}/repositories/${encodeURIComponent(name.join('/'))}/artifacts/${first}/tags`, { method: 'POST', body: JSON.stringify({ name: t }) });
    assert.equal(c.status, 201);
  }
  return digest;
}

const ids: Record<string, number> = {};

before(async () => {
  tw = await startWharf();
  for (const name of ['lst-a', 'lst-b', 'lst-c', 'lst_d', 'lstxd']) {
    const r = await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: name, metadata: { public: name === 'lst-a' ? 'true' : 'false' } }) });
    assert.equal(r.status, 201);
    ids[name] = Number(r.headers.get('location')?.split('/').pop());
  }
  await pushImage('lst-a/app', ['v1', 'latest'], 'app-1');
  await pushImage('lst-a/app', ['v2'], 'app-2');
  await pushImage('lst-a/app', ['v3', 'stable'], 'app-3');
  await pushImage('lst-a/web', ['v1'], 'web-1');
  for (const u of ['lu-one', 'lu-two', 'lu-three']) {
    const r = await api('/users', { method: 'POST', body: JSON.stringify({ username: u, email: `${u}@example.com`, realname: u, password: 'Passw0rdX' }) });
    assert.equal(r.status, 201, await r.text());
  }
});

after(async () => {
  await tw.close();
});

describe('artifacts', () => {
  const path = '/projects/lst-a/repositories/app/artifacts';

  test('sort=name (GitLab) answers 200 in the default order: newest push first', async () => {
    const plain = await list(path, 'digest');
    const byName = await list(`${path}?sort=name`, 'digest');
    assert.equal(byName.status, 200, JSON.stringify(byName.body));
    assert.deepEqual(byName.values, plain.values);
    assert.equal(plain.values.length, 3);
    const oldest = await list(`${path}?sort=name,push_time`, 'digest');
    assert.deepEqual(oldest.values, [...plain.values].reverse(), 'a known field after an unknown one still sorts');
  });

  test('tags: OR list, AND list, fuzzy, exact; unknown keys ignored', async () => {
    const tagsOf = (r: { body: unknown }) =>
      (r.body as Array<{ tags: Array<{ name: string }> }>).map((a) => a.tags.map((t) => t.name).sort().join('+')).sort();
    assert.deepEqual(tagsOf(await list(`${path}?q=${q('tags={v1 v3}')}`)), ['latest+v1', 'stable+v3']);
    assert.deepEqual(tagsOf(await list(`${path}?q=${q('tags=(v1 latest)')}`)), ['latest+v1']);
    assert.deepEqual(tagsOf(await list(`${path}?q=${q('tags=(v1 stable)')}`)), []);
    assert.deepEqual(tagsOf(await list(`${path}?q=${q('tags=~tab')}`)), ['stable+v3']);
    assert.deepEqual(tagsOf(await list(`${path}?q=${q('tags=v2,colour=7,nonsense=~x')}`)), ['v2']);
  });

  test('range on size and push_time, OR list on digest', async () => {
    const all = (await list(path, 'digest')).body as Array<{ digest: string; size: number; push_time: string }>;
    const sizes = all.map((a) => a.size).sort((x, y) => x - y);
    const inRange = await list(`${path}?q=${q(`size=[${sizes[0]}~${sizes[0]}]`)}`, 'size');
    assert.ok(inRange.values.length >= 1 && inRange.values.every((s) => s === sizes[0]));
    const future = await list(`${path}?q=${q('push_time=[2999-01-01 00:00:00~]')}`);
    assert.equal(future.total, '0');
    const past = await list(`${path}?q=${q('push_time=[~2999-01-01 00:00:00]')}`);
    assert.equal(past.total, '3');
    const two = await list(`${path}?q=${q(`digest={${all[0]?.digest} ${all[2]?.digest}}`)}`, 'digest');
    assert.deepEqual(two.values, [all[0]?.digest, all[2]?.digest]);
  });

  test('tags of an artifact: OR list and unknown sort', async () => {
    const t = await list(`${path}/v1/tags?q=${q('name={v1 nope}')}&sort=bogus`);
    assert.deepEqual(t.values, ['v1']);
  });
});

describe('projects and repositories', () => {
  test('range on project_id, OR list on name, fuzzy with wildcards taken literally', async () => {
    const range = await list(`/projects?q=${q(`project_id=[${ids['lst-b']}~${ids['lst-c']}]`)}`);
    assert.deepEqual(range.values, ['lst-b', 'lst-c']);
    const or = await list(`/projects?q=${q('name={lst-a lstxd nope}')}`);
    assert.deepEqual(or.values, ['lst-a', 'lstxd']);
    // `_` is a LIKE wildcard: escaped, it matches only a real underscore.
    const underscore = await list(`/projects?q=${q('name=~lst_')}`);
    assert.deepEqual(underscore.values, ['lst_d']);
    const pct = await list(`/projects?q=${q('name=~%')}`);
    assert.equal(pct.total, '0');
    const and = await list(`/projects?q=${q('name=(lst-a lst-a)')}`);
    assert.deepEqual(and.values, ['lst-a']);
    assert.equal((await list(`/projects?q=${q('public=maybe')}`)).status, 400);
  });

  test('paging headers: X-Total-Count and Link as Harbor builds them', async () => {
    const r = await list(`/projects?q=${q('name=~lst')}&page=2&page_size=2&sort=name`);
    assert.equal(r.total, '5');
    assert.deepEqual(r.values, ['lst-c', 'lst_d']);
    assert.equal(
      r.link,
      '</api/v2.0/projects?page=1&page_size=2&q=name=~lst&sort=name>; rel="prev" , </api/v2.0/projects?page=3&page_size=2&q=name=~lst&sort=name>; rel="next"',
    );
  });

  test('repositories: OR list, AND list, unknown sort; across projects too', async () => {
    const or = await list(`/projects/lst-a/repositories?q=${q('name={lst-a/app lst-a/web}')}&sort=-name,nope`);
    assert.deepEqual(or.values, ['lst-a/web', 'lst-a/app']);
    const none = await list(`/projects/lst-a/repositories?q=${q('name=(lst-a/app lst-a/web)')}`);
    assert.equal(none.total, '0');
    const everywhere = await list(`/repositories?q=${q('name=~lst-a/')}&page_size=1`);
    assert.equal(everywhere.total, '2');
    assert.match(everywhere.link ?? '', /rel="next"$/);
  });
});

describe('users, members, robots, audit, quotas', () => {
  test('users: OR list, fuzzy, sort, paging', async () => {
    const or = await list(`/users?q=${q('username={lu-one lu-three}')}`, 'username');
    assert.deepEqual(or.values, ['lu-one', 'lu-three']);
    const sorted = await list(`/users?q=${q('username=~lu-')}&sort=-username,whatever&page_size=2`, 'username');
    assert.deepEqual(sorted.values, ['lu-two', 'lu-three']);
    assert.equal(sorted.total, '3');
    assert.match(sorted.link ?? '', /rel="next"$/);
  });

  test('members: entityname and unknown q keys', async () => {
    const added = await api('/projects/lst-b/members', { method: 'POST', body: JSON.stringify({ role_id: 2, member_user: { username: 'lu-one' } }) });
    assert.equal(added.status, 201);
    const all = await list('/projects/lst-b/members', 'entity_name');
    assert.ok(all.values.includes('lu-one'));
    const one = await list('/projects/lst-b/members?entityname=u-on&q=unknown%3D1', 'entity_name');
    assert.deepEqual(one.values, ['lu-one']);
    const byRole = await list(`/projects/lst-b/members?q=${q('role_id={2 3}')}`, 'entity_name');
    assert.deepEqual(byRole.values, ['lu-one']);
  });

  test('robots: Level and ProjectID as Terraform sends them, name with or without the prefix', async () => {
    const body = { name: 'ci', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'lst-c', access: [{ resource: 'repository', action: 'pull' }] }] };
    const created = await api('/robots', { method: 'POST', body: JSON.stringify(body) });
    assert.equal(created.status, 201, await created.clone().text());
    const fullName = ((await created.json()) as { name: string }).name;
    const mine = await list(`/robots?q=${q(`Level=project,ProjectID=${ids['lst-c']}`)}`);
    assert.deepEqual(mine.values, [fullName]);
    const stripped = fullName.replace(/^robot\$/, '');
    assert.deepEqual((await list(`/robots?q=${q(`name=${stripped}`)}`)).values, [fullName]);
    assert.deepEqual((await list(`/robots?q=${q(`name=${fullName}`)}&sort=-nope`)).values, [fullName]);
    assert.equal((await list(`/robots?q=${q('name=~zzz')}`)).total, '0');
  });

  test('audit logs: OR list on operation, unknown keys ignored', async () => {
    const r = await list(`/audit-logs?q=${q('operation={create delete},resource_type=project,colour=blue')}&page_size=100`, 'resource');
    assert.ok(r.values.includes('lst-a'), JSON.stringify(r.values));
    assert.equal(r.total, String(r.values.length));
  });

  test('quotas: a trailing unknown sort field is ignored', async () => {
    const r = await list('/quotas?sort=-hard.storage,nope&page_size=100', 'id');
    assert.equal(r.status, 200);
    assert.ok(r.values.length >= 5);
  });
});
