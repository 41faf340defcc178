/**
 * Tag retention over real HTTP (src/lifecycle/retention/): Harbor's /retentions API — metadatas,
 * create with Harbor's validation messages, one policy per project and `retention_id`, the
 * schedule (cron checks, next_scheduled_time), dry and real runs with one task per selected
 * repository, task totals and logs, stop, the TAG_RETENTION event per repository and the
 * per-run summary (Wharf's `summary_event`), permissions, and delete.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, eventually, explain, pushSmallImage, smallImage, type ApiAnswer } from '../helpers/webhook-client.ts';

let w: TestWharf;
const password = 'Passw0rdRetain';
const basic = (u: string) => 'Basic ' + Buffer.from(`${u}:${password}`).toString('base64');

type Json = Record<string, unknown>;
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH', path: string, status: number, body?: unknown, auth = adminAuth): Promise<ApiAnswer> {
  const a = await api(w.url, method, `/api/v2.0${path}`, { auth, ...(body === undefined ? {} : { body }) });
  assert.equal(a.status, status, explain(method, path, a));
  return a;
}

function message(a: ApiAnswer): string {
  return shape<{ errors: Array<{ message: string }> }>(a.json).errors[0]?.message ?? '';
}

const idFrom = (a: ApiAnswer): number => Number(String(a.headers.location).split('/').pop());

function rule(template: string, params: Json, repo = '**', tag = '**', untagged = true): Json {
  return {
    disabled: false,
    action: 'retain',
    template,
    params,
    tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: tag, extras: JSON.stringify({ untagged }) }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: repo }] },
  };
}

function policy(projectId: number, rules: Json[], extra: Json = {}): Json {
  return { algorithm: 'or', scope: { level: 'project', ref: projectId }, trigger: { kind: 'Schedule', settings: { cron: '' }, references: {} }, rules, ...extra };
}

async function project(name: string): Promise<number> {
  return idFrom(await call('POST', '/projects', 201, { project_name: name, metadata: { public: 'false' } }));
}

/** Pushes `n` images tagged t0..t(n-1), in that order, and returns their digests. */
async function fill(repo: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await pushSmallImage(w.url, repo, smallImage(`${repo}-${i}`), { tag: `t${i}`, auth: adminAuth }));
    await new Promise((r) => setTimeout(r, 3)); // distinct push times
  }
  return out;
}

async function finished(policyId: number, eid: number): Promise<Json> {
  return eventually(async () => {
    const list = shape<Json[]>((await call('GET', `/retentions/${policyId}/executions`, 200)).json);
    const e = list.find((x) => x.id === eid);
    return e && e.status !== 'Running' ? e : undefined;
  });
}

async function present(repo: string, digest: string): Promise<boolean> {
  const a = await api(w.url, 'HEAD', `/v2/${repo}/manifests/${digest}`, { auth: adminAuth });
  return a.status === 200;
}

async function events(type: string, projectId: number): Promise<Json[]> {
  const rows = await w.wharf.db.kysely.selectFrom('events').select(['data', 'operator']).where('type', '=', type).where('project_id', '=', projectId).orderBy('seq').execute();
  return rows.map((r) => shape<Json>(JSON.parse(r.data)));
}

before(async () => {
  w = await startWharf({ overrides: { jobs: { poll_ms: 50 } } });
  for (const u of ['r-dev', 'r-guest', 'r-maint']) await call('POST', '/users', 201, { username: u, email: `${u}@example.com`, realname: u, password });
});

after(async () => {
  await w?.close();
});

describe('tag retention API', () => {
  it('serves Harbor’s metadatas', async () => {
    const m = shape<{ templates: Array<{ rule_template: string }>; scope_selectors: unknown; tag_selectors: unknown }>((await call('GET', '/retentions/metadatas', 200)).json);
    assert.deepEqual(
      m.templates.map((t) => t.rule_template),
      ['latestPushedK', 'latestPulledN', 'nDaysSinceLastPush', 'nDaysSinceLastPull', 'always'],
    );
    assert.deepEqual(m.scope_selectors, [{ display_text: 'Repositories', kind: 'doublestar', decorations: ['repoMatches', 'repoExcludes'] }]);
    assert.deepEqual(m.tag_selectors, [{ display_text: 'Tags', kind: 'doublestar', decorations: ['matches', 'excludes'] }]);
  });

  it('validates like Harbor, keeps one policy per project, schedules, runs dry and for real, and deletes', async () => {
    const pid = await project('ret-a');
    const kept = await fill('ret-a/app', 5);
    const other = await fill('ret-a/other', 2);
    // Harbor's validation messages.
    assert.equal(message(await call('POST', '/retentions', 400, policy(999999, [rule('always', {})]))), 'invalid Project id 999999');
    assert.equal(message(await call('POST', '/retentions', 400, { ...policy(pid, [rule('always', {})]), scope: { level: 'system', ref: pid } })), 'scope system is not support');
    assert.equal(message(await call('POST', '/retentions', 400, policy(pid, Array.from({ length: 16 }, (_, i) => rule('latestPushedK', { latestPushedK: i + 1 }))))), 'only 15 rules are allowed at most');
    assert.equal(message(await call('POST', '/retentions', 409, policy(pid, [rule('always', {}), rule('always', {})]))), 'rule 1 is conflict with rule 0');
    assert.match(message(await call('POST', '/retentions', 400, policy(pid, [rule('always', {})], { trigger: { kind: 'Schedule', settings: { cron: '* * * * *' }, references: {} } }))), /^invalid cron string for scheduled tag retention: \* \* \* \* \*, error: /);
    // A policy over repository "app" only: keep the 2 most recently pushed.
    const created = await call('POST', '/retentions', 201, policy(pid, [rule('latestPushedK', { latestPushedK: 2 }, 'app')]));
    assert.match(String(created.headers.location), /^\/api\/v2\.0\/retentions\/\d+$/);
    const id = idFrom(created);
    assert.equal(message(await call('POST', '/retentions', 400, policy(pid, [rule('always', {})]))), `project ${pid} already has retention policy ${id}`);
    // The project shows it as `retention_id`; an update may repeat it, not change it.
    assert.equal(shape<{ metadata: Json }>((await call('GET', `/projects/${pid}`, 200)).json).metadata.retention_id, String(id));
    assert.equal(shape<Json>((await call('GET', `/projects/${pid}/metadatas/`, 200)).json).retention_id, String(id));
    await call('PUT', `/projects/${pid}`, 200, { metadata: { retention_id: String(id) } });
    assert.match(message(await call('PUT', `/projects/${pid}`, 400, { metadata: { retention_id: String(id + 1) } })), /when updating a project should be omitted/);
    const got = shape<Json>((await call('GET', `/retentions/${id}`, 200)).json);
    assert.equal(got.id, id);
    assert.deepEqual(got.scope, { level: 'project', ref: pid });
    assert.equal(got.algorithm, 'or');
    // A schedule: 6 fields, seconds 0; GET shows the next firing.
    await call('PUT', `/retentions/${id}`, 200, policy(pid, [rule('latestPushedK', { latestPushedK: 2 }, 'app')], { trigger: { kind: 'Schedule', settings: { cron: '0 0 3 * * *' }, references: {} } }));
    const scheduled = shape<{ trigger: { settings: { cron: string; next_scheduled_time?: string } } }>((await call('GET', `/retentions/${id}`, 200)).json);
    assert.equal(scheduled.trigger.settings.cron, '0 0 3 * * *');
    assert.match(scheduled.trigger.settings.next_scheduled_time ?? '', /T03:00:00Z$/);
    assert.equal(message(await call('PUT', `/retentions/${id}`, 400, policy(pid, [rule('always', {})], { trigger: { kind: 'Schedule', settings: { cron: '30 0 3 * * *' }, references: {} } }))), 'invalid cron string for scheduled tag retention: 30 0 3 * * *, error: the 1st field (indicating Seconds of time) of the cron setting must be 0');
    await call('PUT', `/retentions/${id}`, 200, policy(pid, [rule('latestPushedK', { latestPushedK: 2 }, 'app')]));
    assert.equal(shape<{ trigger: { settings: Json } }>((await call('GET', `/retentions/${id}`, 200)).json).trigger.settings.next_scheduled_time, undefined);

    // Dry run: one task (repository "app"), 5 candidates, 2 retained, nothing deleted, no event.
    const dry = await call('POST', `/retentions/${id}/executions`, 201, { dry_run: true });
    const dryId = idFrom(dry);
    assert.equal(String(dry.headers.location), `/api/v2.0/retentions/${id}/executions/${dryId}`);
    const de = await finished(id, dryId);
    assert.equal(de.status, 'Success');
    assert.equal(de.dry_run, true);
    assert.equal(de.trigger, 'MANUAL');
    const dryTasks = shape<Json[]>((await call('GET', `/retentions/${id}/executions/${dryId}/tasks`, 200)).json);
    assert.equal(dryTasks.length, 1);
    assert.equal(dryTasks[0]?.repository, 'app');
    assert.equal(dryTasks[0]?.total, 5);
    assert.equal(dryTasks[0]?.retained, 2);
    assert.equal(dryTasks[0]?.status_code, 3);
    const log = (await call('GET', `/retentions/${id}/executions/${dryId}/tasks/${String(dryTasks[0]?.id)}`, 200)).text;
    assert.match(log, /Digest \| Tag \| Kind \| Labels \| PushedTime \| PulledTime \| CreatedTime \| Retention/);
    for (const [i, d] of kept.entries()) assert.match(log, new RegExp(`${d} \\| t${i} \\| image \\|.*\\| ${i >= 3 ? 'RETAIN' : 'DEL'}$`, 'm'));
    for (const d of kept) assert.ok(await present('ret-a/app', d));
    assert.deepEqual(await events('TAG_RETENTION', pid), []);

    // Real run: t0..t2 go (DELETE_ARTIFACT each), t3 and t4 and the other repository stay; one TAG_RETENTION.
    const real = idFrom(await call('POST', `/retentions/${id}/executions`, 201, { dry_run: false }));
    assert.equal((await finished(id, real)).status, 'Success');
    for (const [i, d] of kept.entries()) assert.equal(await present('ret-a/app', d), i >= 3, `t${i}`);
    for (const d of other) assert.ok(await present('ret-a/other', d));
    const deletes = await events('DELETE_ARTIFACT', pid);
    assert.deepEqual(deletes.map((e) => shape<{ artifact: { digest: string } }>(e).artifact.digest).sort(), kept.slice(0, 3).sort());
    const [ev, ...more] = await events('TAG_RETENTION', pid);
    assert.equal(more.length, 0);
    const r = shape<{ retention: Json }>(ev).retention;
    assert.equal(r.total, 5);
    assert.equal(r.retained, 2);
    assert.equal(r.project_name, 'ret-a');
    assert.equal(r.retention_policy_id, id);
    assert.equal(r.result, 'SUCCESS');
    assert.deepEqual(r.deleted_artifact, ['t0', 't1', 't2'].map((t) => ({ type: 'image', status: 'SUCCESS', name_tag: `app:${t}`, references: null })));

    // Delete: 200, then 404.
    await call('DELETE', `/retentions/${id}`, 200);
    assert.equal(message(await call('GET', `/retentions/${id}`, 404)), `retention policy ${id} not found`);
    assert.equal(shape<{ metadata: Json }>((await call('GET', `/projects/${pid}`, 200)).json).metadata.retention_id, undefined);
  });

  it('sends one summary event per run with summary_event, and none when nothing was deleted', async () => {
    const pid = await project('ret-sum');
    await fill('ret-sum/a', 3);
    await fill('ret-sum/b', 3);
    await fill('ret-sum/c', 1);
    const id = idFrom(await call('POST', '/retentions', 201, policy(pid, [rule('latestPushedK', { latestPushedK: 1 })], { summary_event: true })));
    assert.equal(shape<Json>((await call('GET', `/retentions/${id}`, 200)).json).summary_event, true);
    const eid = idFrom(await call('POST', `/retentions/${id}/executions`, 201, {}));
    assert.equal((await finished(id, eid)).status, 'Success');
    const tasks = shape<Json[]>((await call('GET', `/retentions/${id}/executions/${eid}/tasks`, 200)).json);
    assert.deepEqual(tasks.map((t) => [t.repository, t.total, t.retained]).sort(), [['a', 3, 1], ['b', 3, 1], ['c', 1, 1]]);
    const evs = await events('TAG_RETENTION', pid);
    assert.equal(evs.length, 1);
    const r = shape<{ retention: Json }>(evs[0]).retention;
    assert.equal(r.total, 7);
    assert.equal(r.retained, 3);
    assert.equal(r.execution_id, eid);
    assert.deepEqual(shape<Array<{ name_tag: string }>>(r.deleted_artifact).map((d) => d.name_tag).sort(), ['a:t0', 'a:t1', 'b:t0', 'b:t1']);
    // A second run deletes nothing: no event.
    const again = idFrom(await call('POST', `/retentions/${id}/executions`, 201, {}));
    await finished(id, again);
    assert.equal((await events('TAG_RETENTION', pid)).length, 1);
  });

  it('a run with no selected repository ends Success with Harbor’s message; stop needs action stop', async () => {
    const pid = await project('ret-none');
    await fill('ret-none/app', 1);
    const id = idFrom(await call('POST', '/retentions', 201, policy(pid, [rule('always', {}, 'nothing-here')])));
    const eid = idFrom(await call('POST', `/retentions/${id}/executions`, 201, { dry_run: false }));
    const e = await finished(id, eid);
    assert.equal(e.status, 'Success');
    assert.equal(e.status_message, 'no resources for retention');
    assert.deepEqual((await call('GET', `/retentions/${id}/executions/${eid}/tasks`, 200)).json, []);
    assert.equal(message(await call('PATCH', `/retentions/${id}/executions/${eid}`, 400, { action: 'pause' })), "action should be 'stop'");
    await call('PATCH', `/retentions/${id}/executions/${eid}`, 200, { action: 'stop' });
    assert.equal(message(await call('PATCH', `/retentions/${id}/executions/999999`, 404, { action: 'stop' })), `execution 999999 of retention policy ${id} not found`);
  });

  it('lets project admins and maintainers manage and run, developers read, guests nothing', async () => {
    const pid = await project('ret-perm');
    for (const [u, role] of [['r-dev', 2], ['r-guest', 3], ['r-maint', 4]] as const) {
      await call('POST', `/projects/${pid}/members`, 201, { role_id: role, member_user: { username: u } });
    }
    await call('POST', '/retentions', 403, policy(pid, [rule('always', {})]), basic('r-dev'));
    const id = idFrom(await call('POST', '/retentions', 201, policy(pid, [rule('always', {})]), basic('r-maint')));
    await call('GET', `/retentions/${id}`, 200, undefined, basic('r-dev'));
    await call('GET', `/retentions/${id}/executions`, 200, undefined, basic('r-dev'));
    await call('POST', `/retentions/${id}/executions`, 403, { dry_run: true }, basic('r-dev'));
    await call('GET', `/retentions/${id}`, 403, undefined, basic('r-guest'));
    await call('PUT', `/retentions/${id}`, 403, policy(pid, [rule('always', {})]), basic('r-dev'));
    await call('DELETE', `/retentions/${id}`, 403, undefined, basic('r-guest'));
    const anon = await api(w.url, 'GET', `/api/v2.0/retentions/${id}`);
    assert.equal(anon.status, 401);
    await call('DELETE', `/retentions/${id}`, 200, undefined, basic('r-maint'));
  });
});
