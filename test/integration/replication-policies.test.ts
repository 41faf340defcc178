/**
 * Replication policies over real HTTP (src/replication/policies.ts): CRUD with Harbor's status
 * codes and messages, policy.ts's validation surfacing as 400s, unknown registries (404), unique
 * names (409), q/sort/paging, the REPLICATION_SCHEDULE schedule of a scheduled policy (made, remade
 * by a PUT, removed), the 412 on deleting a policy with an open execution (a deleted policy's
 * finished executions, tasks and logs go with it) and on deleting a
 * registry a policy uses, admin-only access; and the two jobs: a firing schedule starts a run (a
 * disabled policy is skipped) and REGISTRY_HEALTH stores each endpoint's status. The peer endpoints
 * are small real HTTP servers answering `/v2/`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, type ApiAnswer } from '../helpers/webhook-client.ts';
import { Authorizer } from '../../src/auth/index.ts';
import { JobService } from '../../src/jobs/index.ts';
import { REGISTRY_HEALTH, RegistryEndpoints, ReplicationPolicies, REPLICATION_SCHEDULE, type RegistryView } from '../../src/replication/index.ts';

const userPassword = 'Passw0rdPolicies';
const userAuth = 'Basic ' + Buffer.from(`polly:${userPassword}`).toString('base64');

let w: TestWharf;
let peer: { server: Server; url: string };
let distId: number;

/** A parsed JSON body typed as the test reads it. */
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

/** A `/v2/` endpoint answering 200 (a docker-registry without auth). */
async function startPeer(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    res.statusCode = req.url === '/v2/' ? 200 : 404;
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return { server, url: `http://127.0.0.1:${a.port}` };
}

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, body?: unknown, auth = adminAuth): Promise<ApiAnswer> {
  const a = await api(w.url, method, `/api/v2.0${path}`, { ...(auth === '' ? {} : { auth }), ...(body === undefined ? {} : { body }) });
  assert.equal(a.status, status, explain(method, path, a));
  return a;
}

function message(a: ApiAnswer): string {
  return shape<{ errors: Array<{ message: string }> }>(a.json).errors[0]?.message ?? '';
}

async function refused(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, expected: string | RegExp, body?: unknown): Promise<void> {
  const a = await call(method, path, status, body);
  if (typeof expected === 'string') assert.equal(message(a), expected, explain(method, path, a));
  else assert.match(message(a), expected, explain(method, path, a));
}

async function create(body: Record<string, unknown>): Promise<number> {
  const a = await call('POST', '/replication/policies', 201, body);
  const loc = String(a.headers.location);
  assert.match(loc, /^\/api\/v2\.0\/replication\/policies\/\d+$/);
  return Number(loc.split('/').pop());
}

type PolicyView = Record<string, unknown> & { id: number; name: string; enabled: boolean; src_registry: Record<string, unknown>; dest_registry: Record<string, unknown>; trigger: { type: string; trigger_settings: { cron: string } } };

async function view(id: number): Promise<PolicyView> {
  return shape<PolicyView>((await call('GET', `/replication/policies/${id}`, 200)).json);
}

async function schedules(): Promise<Array<{ vendor_type: string; vendor_id: number; cron: string }>> {
  return shape<Array<{ vendor_type: string; vendor_id: number; cron: string }>>((await call('GET', '/schedules?page_size=100', 200)).json);
}

function push(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, src_registry: null, dest_registry: { id: distId }, dest_namespace: 'mirror', trigger: { type: 'manual' }, enabled: true, ...extra };
}

before(async () => {
  w = await startWharf();
  peer = await startPeer();
  const r = await call('POST', '/registries', 201, { name: 'dist', type: 'docker-registry', url: peer.url });
  distId = Number(String(r.headers.location).split('/').pop());
  await call('POST', '/users', 201, { username: 'polly', password: userPassword, email: 'polly@example.com', realname: 'Polly' });
});

after(async () => {
  await w.close();
  await new Promise<void>((resolve) => peer.server.close(() => resolve()));
});

describe('replication policies', () => {
  it('is for the system admin only', async () => {
    await call('GET', '/replication/policies', 401, undefined, '');
    await call('POST', '/replication/policies', 401, push('anon'), '');
    await call('GET', '/replication/policies', 403, undefined, userAuth);
    await call('POST', '/replication/policies', 403, push('by-user'), userAuth);
    await call('GET', '/replication/policies/1', 403, undefined, userAuth);
    await call('DELETE', '/replication/policies/1', 403, undefined, userAuth);
  });

  it('creates, reads, replaces and deletes a policy with both registries in full', async () => {
    const body = push('push-to-dist', {
      description: 'nightly mirror',
      dest_namespace_replace_count: 1,
      filters: [{ type: 'name', value: 'library/**' }, { type: 'tag', value: 'v*' }, { type: 'resource', value: 'image' }],
      override: true,
      speed: -1,
      event_mode: 'summary',
      event_status_filter: 'failures',
    });
    const id = await create(body);
    const v = await view(id);
    const dist = shape<RegistryView>((await call('GET', `/registries/${distId}`, 200)).json);
    assert.deepEqual(v.dest_registry, { ...dist });
    assert.deepEqual(v.src_registry, {
      id: 0,
      name: 'Local',
      type: 'harbor',
      url: w.wharf.config.external_url,
      insecure: false,
      ca_certificate: null,
      description: '',
      credential: { type: 'secret', access_key: '', access_secret: '*****' },
      status: 'healthy',
      creation_time: '0001-01-01T00:00:00.000Z',
      update_time: '0001-01-01T00:00:00.000Z',
    });
    assert.deepEqual({ ...v, src_registry: undefined, dest_registry: undefined, creation_time: undefined, update_time: undefined }, {
      id,
      name: 'push-to-dist',
      description: 'nightly mirror',
      src_registry: undefined,
      dest_registry: undefined,
      dest_namespace: 'mirror',
      dest_namespace_replace_count: 1,
      trigger: { type: 'manual', trigger_settings: { cron: '' } },
      filters: [{ type: 'name', value: 'library/**' }, { type: 'tag', value: 'v*', decoration: 'matches' }, { type: 'resource', value: 'image' }],
      replicate_deletion: false,
      deletion: false,
      override: true,
      enabled: true,
      creation_time: undefined,
      update_time: undefined,
      speed: 0,
      copy_by_chunk: false,
      single_active_replication: false,
      event_mode: 'summary',
      event_status_filter: 'failures',
    });
    assert.ok(Date.parse(String(v.creation_time)) > Date.now() - 60_000);

    // A PUT replaces the whole policy: what it omits takes its default (enabled: false).
    await call('PUT', `/replication/policies/${id}`, 200, { name: 'push-to-dist', dest_registry: { id: distId }, replicate_deletion: true });
    const replaced = await view(id);
    assert.equal(replaced.enabled, false);
    assert.equal(replaced.deletion, true);
    assert.equal(replaced.replicate_deletion, true);
    assert.equal(replaced.dest_namespace, '');
    assert.deepEqual(replaced.filters, []);
    assert.equal(replaced.event_mode, 'per_task');
    assert.equal(replaced.creation_time, v.creation_time);

    await call('DELETE', `/replication/policies/${id}`, 200);
    await refused('GET', `/replication/policies/${id}`, 404, `replication policy ${id} not found`);
    await refused('PUT', `/replication/policies/${id}`, 404, `replication policy ${id} not found`, push('gone'));
    await refused('DELETE', `/replication/policies/${id}`, 404, `replication policy ${id} not found`);
    await refused('GET', '/replication/policies/0', 400, 'invalid replication policy id "0"');
    await refused('GET', '/replication/policies/x', 400, 'invalid replication policy id "x"');
  });

  it('refuses bad bodies with policy.ts messages, unknown registries and used names', async () => {
    await refused('POST', '/replication/policies', 400, 'empty name', push(''));
    await refused('POST', '/replication/policies', 400, "either src_registry or dest_registry should be empty and the other one shouldn't be empty", push('both-local', { dest_registry: null }));
    await refused('POST', '/replication/policies', 400, 'filters[1]: invalid filter type', push('bad-filter', { filters: [{ type: 'name', value: 'a/**' }, { type: 'size', value: '1' }] }));
    await refused('POST', '/replication/policies', 400, 'filters[0]: only tag and label filter support decoration', push('bad-deco', { filters: [{ type: 'name', value: 'a', decoration: 'excludes' }] }));
    await refused('POST', '/replication/policies', 400, 'invalid trigger type', push('bad-trigger', { trigger: { type: 'hourly' } }));
    await refused('POST', '/replication/policies', 400, 'the cron string cannot be empty when the trigger type is scheduled', push('no-cron', { trigger: { type: 'scheduled' } }));
    await refused('POST', '/replication/policies', 400, 'invalid cron string for scheduled trigger: 0 0 2 * *', push('five', { trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 2 * *' } } }));
    await refused('POST', '/replication/policies', 400, 'the 1st field (indicating Seconds of time) of the cron setting must be 0', push('secs', { trigger: { type: 'scheduled', trigger_settings: { cron: '5 0 2 * * *' } } }));
    // Six fields that policy.ts lets through but the cron parser refuses.
    await refused('POST', '/replication/policies', 400, 'invalid cron string for scheduled trigger: 0 0 25 * * *', push('hour-25', { trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 25 * * *' } } }));
    await refused('POST', '/replication/policies', 400, /^single_active_replication cannot be used with an event_based trigger/, push('single', { trigger: { type: 'event_based' }, single_active_replication: true }));
    await refused('POST', '/replication/policies', 404, 'registry 9999 not found', push('nowhere', { dest_registry: { id: 9999 } }));
    await refused('POST', '/replication/policies', 404, 'registry 9998 not found', push('pull-nowhere', { src_registry: { id: 9998 }, dest_registry: null }));
    assert.equal((await call('GET', '/replication/policies', 200)).headers['x-total-count'], '0', 'nothing was stored');

    const a = await create(push('taken'));
    const b = await create(push('other'));
    await refused('POST', '/replication/policies', 409, 'replication policy taken already exists', push('taken'));
    await refused('PUT', `/replication/policies/${b}`, 409, 'replication policy taken already exists', push('taken'));
    await call('PUT', `/replication/policies/${a}`, 200, push('taken', { description: 'same name, same policy' }));
    await refused('PUT', `/replication/policies/${a}`, 404, 'registry 9999 not found', push('taken', { dest_registry: { id: 9999 } }));
    await call('DELETE', `/replication/policies/${a}`, 200);
    await call('DELETE', `/replication/policies/${b}`, 200);
  });

  it('lists with q, sort, paging and the deprecated name', async () => {
    const ids = [await create(push('list-alpha')), await create(push('list-beta', { enabled: false })), await create(push('pull-gamma', { src_registry: { id: distId }, dest_registry: null }))];
    const names = (a: ApiAnswer) => shape<Array<{ name: string }>>(a.json).map((p) => p.name);
    const all = await call('GET', '/replication/policies', 200);
    assert.equal(all.headers['x-total-count'], '3');
    assert.deepEqual(names(all), ['list-alpha', 'list-beta', 'pull-gamma']);
    assert.deepEqual(names(await call('GET', '/replication/policies?sort=-id', 200)), ['pull-gamma', 'list-beta', 'list-alpha']);
    assert.deepEqual(names(await call('GET', `/replication/policies?q=${encodeURIComponent('name=~list')}`, 200)), ['list-alpha', 'list-beta']);
    assert.deepEqual(names(await call('GET', '/replication/policies?q=enabled=false', 200)), ['list-beta']);
    assert.deepEqual(names(await call('GET', `/replication/policies?q=dest_registry_id=0`, 200)), ['pull-gamma']);
    assert.deepEqual(names(await call('GET', '/replication/policies?name=BETA', 200)), ['list-beta']);
    const page = await call('GET', '/replication/policies?page=2&page_size=2', 200);
    assert.deepEqual(names(page), ['pull-gamma']);
    assert.equal(page.headers['x-total-count'], '3');
    const pulled = shape<PolicyView[]>((await call('GET', '/replication/policies?q=name=pull-gamma', 200)).json)[0];
    assert.equal(pulled?.src_registry.name, 'dist');
    assert.equal(pulled?.dest_registry.name, 'Local');
    for (const id of ids) await call('DELETE', `/replication/policies/${id}`, 200);
  });

  it('keeps a REPLICATION_SCHEDULE schedule for a scheduled policy: made, remade by a PUT, removed', async () => {
    const id = await create(push('nightly', { trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 2 * * *' } } }));
    const mine = async () => (await schedules()).filter((s) => s.vendor_type === REPLICATION_SCHEDULE);
    assert.deepEqual((await mine()).map((s) => ({ vendor_id: s.vendor_id, cron: s.cron })), [{ vendor_id: id, cron: '0 0 2 * * *' }]);
    await call('PUT', `/replication/policies/${id}`, 200, push('nightly', { trigger: { type: 'scheduled', trigger_settings: { cron: '0 30 3 * * 1' } } }));
    assert.deepEqual((await mine()).map((s) => ({ vendor_id: s.vendor_id, cron: s.cron })), [{ vendor_id: id, cron: '0 30 3 * * 1' }]);
    assert.equal((await view(id)).trigger.trigger_settings.cron, '0 30 3 * * 1');
    await call('PUT', `/replication/policies/${id}`, 200, push('nightly'));
    assert.deepEqual(await mine(), []);
    await call('PUT', `/replication/policies/${id}`, 200, push('nightly', { trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 4 * * *' } } }));
    assert.equal((await mine()).length, 1);
    await call('DELETE', `/replication/policies/${id}`, 200);
    assert.deepEqual(await mine(), []);
  });

  it('refuses to delete a policy with an open execution, and a registry a policy uses', async () => {
    const id = await create(push('busy'));
    const db = w.wharf.db.kysely;
    const now = Date.now();
    const row = await db
      .insertInto('job_executions')
      .values({ vendor_type: 'REPLICATION', vendor_id: id, status: 'Running', status_message: '', trigger: 'MANUAL', extra_attrs: '{}', stop_requested: 0, start_time: now, update_time: now, end_time: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    await refused('DELETE', `/replication/policies/${id}`, 412, "contains executions that aren't in final status, stop the execution first");
    await db.updateTable('job_executions').set({ status: 'Stopped', end_time: now }).where('id', '=', row.id).execute();

    await refused('DELETE', `/registries/${distId}`, 412, `the registry ${distId} is referenced by replication policies, cannot delete it`);
    // Its finished executions go with it (tasks, logs, the summary mark); another policy's stay.
    const other = await create(push('bystander'));
    const execution = async (policyId: number) =>
      (await db.insertInto('job_executions').values({ vendor_type: 'REPLICATION', vendor_id: policyId, status: 'Success', status_message: '', trigger: 'MANUAL', extra_attrs: '{}', stop_requested: 0, start_time: now, update_time: now, end_time: now }).returning('id').executeTakeFirstOrThrow()).id;
    const task = async (executionId: number) => {
      const t = await db.insertInto('job_tasks').values({ execution_id: executionId, vendor_type: 'REPLICATION', status: 'Success', run_count: 1, status_message: '', max_runs: 3, extra_attrs: '{}', stop_requested: 0, creation_time: now, update_time: now }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('job_task_logs').values({ task_id: t.id, time: now, level: 'INFO', message: 'copied' }).execute();
      return t.id;
    };
    const mine = [row.id, await execution(id)];
    const myTasks = [await task(mine[0] ?? 0), await task(mine[1] ?? 0)];
    await db.insertInto('replication_summaries').values({ execution_id: mine[1] ?? 0, sent_time: now }).execute();
    const theirs = await execution(other);
    const theirTask = await task(theirs);
    await call('DELETE', `/replication/policies/${id}`, 200);
    assert.deepEqual(await db.selectFrom('job_executions').select('id').where('id', 'in', [...mine, theirs]).orderBy('id').execute(), [{ id: theirs }]);
    assert.deepEqual(await db.selectFrom('job_tasks').select('id').where('id', 'in', [...myTasks, theirTask]).execute(), [{ id: theirTask }]);
    assert.deepEqual(await db.selectFrom('job_task_logs').select('task_id').where('task_id', 'in', [...myTasks, theirTask]).execute(), [{ task_id: theirTask }]);
    assert.deepEqual(await db.selectFrom('replication_summaries').select('execution_id').where('execution_id', 'in', mine).execute(), []);
    await call('GET', `/replication/executions/${mine[1] ?? 0}`, 404);
    await call('GET', `/replication/executions/${theirs}`, 200);
    await call('DELETE', `/replication/policies/${other}`, 200);
    assert.deepEqual(await db.selectFrom('job_tasks').select('id').where('id', '=', theirTask).execute(), []);
    // A proxy-cache project referring to an endpoint holds it too.
    const spare = Number(String((await call('POST', '/registries', 201, { name: 'spare', type: 'docker-registry', url: peer.url })).headers.location).split('/').pop());
    await call('POST', '/projects', 201, { project_name: 'held', metadata: { public: 'false' } });
    await db.updateTable('projects').set({ registry_id: spare }).where('name', '=', 'held').execute();
    await refused('DELETE', `/registries/${spare}`, 412, `the registry ${spare} is referenced by proxy cache project, cannot delete it`);
    await db.updateTable('projects').set({ registry_id: null }).where('name', '=', 'held').execute();
    await call('DELETE', `/registries/${spare}`, 200);
    await refused('DELETE', `/registries/${spare}`, 404, `registry ${spare} not found`);
  });

  it('a firing schedule starts a run of an enabled policy and skips a disabled one', async () => {
    const on = await create(push('sched-on', { trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 2 * * *' } } }));
    const off = await create(push('sched-off', { enabled: false, trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 2 * * *' } } }));
    const logger = pino({ level: 'silent' });
    const db = w.wharf.db.kysely;
    const jobs = new JobService({ db, logger, config: w.wharf.config.jobs });
    const endpoints = new RegistryEndpoints({ db, authorizer: new Authorizer(), logger });
    const started: Array<[number, string, string]> = [];
    const policies = new ReplicationPolicies({ db, authorizer: new Authorizer(), jobs, endpoints, logger, localUrl: () => w.wharf.config.external_url });
    jobs.register(policies.scheduleHandler());

    const unwired = await jobs.runHere(REPLICATION_SCHEDULE, 'SCHEDULE', { policy_id: on });
    assert.equal(unwired.status, 'Error');
    assert.match(unwired.message, /replication runs are not wired yet/);

    policies.onScheduled(async (policyId, trigger, operator) => {
      started.push([policyId, trigger, operator]);
      return 4242;
    });
    const ran = await jobs.runHere(REPLICATION_SCHEDULE, 'SCHEDULE', { policy_id: on });
    assert.equal(ran.status, 'Success', ran.message);
    assert.deepEqual(ran.value, { execution_id: 4242 });
    const skipped = await jobs.runHere(REPLICATION_SCHEDULE, 'SCHEDULE', { policy_id: off });
    assert.deepEqual(skipped.value, { skipped: true });
    assert.deepEqual(started, [[on, 'SCHEDULE', 'harbor-jobservice']]);

    // The read helpers runs.ts uses.
    const p = await policies.policy(on);
    assert.equal(p?.spec.name, 'sched-on');
    assert.equal(p?.creator, 'admin');
    assert.equal(p?.enabled, true);
    assert.equal(await policies.policy(987654), undefined);
    const ep = await policies.endpoint(distId);
    assert.equal(ep?.access.url, peer.url);
    assert.equal(ep?.type, 'docker-registry');
    assert.equal(await policies.endpoint(0), undefined);
    const ev = await create(push('on-push', { trigger: { type: 'event_based' } }));
    await create(push('on-push-off', { enabled: false, trigger: { type: 'event_based' } }));
    await create(push('pull-event', { src_registry: { id: distId }, dest_registry: null, trigger: { type: 'event_based' } }));
    assert.deepEqual((await db.transaction().execute((trx) => policies.eventPolicies(trx))).map((x) => x.id), [ev]);

    // A deleted policy's schedule that still fires removes itself.
    await call('DELETE', `/replication/policies/${off}`, 200);
    await jobs.setSchedule(REPLICATION_SCHEDULE, 'Custom', '0 0 2 * * *', { policy_id: off }, off);
    const orphan = await jobs.runHere(REPLICATION_SCHEDULE, 'SCHEDULE', { policy_id: off });
    assert.equal(orphan.status, 'Success');
    assert.equal(await jobs.schedule(REPLICATION_SCHEDULE, off), undefined);
    for (const x of shape<Array<{ id: number }>>((await call('GET', '/replication/policies', 200)).json)) await call('DELETE', `/replication/policies/${x.id}`, 200);
  });

  it('REGISTRY_HEALTH stores each endpoint status; its schedule runs every 5 minutes', async () => {
    const gone = await startPeer();
    const id = Number(String((await call('POST', '/registries', 201, { name: 'flaky', type: 'docker-registry', url: gone.url })).headers.location).split('/').pop());
    await new Promise<void>((resolve) => gone.server.close(() => resolve()));
    const logger = pino({ level: 'silent' });
    const db = w.wharf.db.kysely;
    const jobs = new JobService({ db, logger, config: w.wharf.config.jobs });
    const endpoints = new RegistryEndpoints({ db, authorizer: new Authorizer(), logger });
    jobs.register(endpoints.healthHandler());
    const out = await jobs.runHere(REGISTRY_HEALTH, 'SCHEDULE', {});
    assert.equal(out.status, 'Success', out.message);
    assert.deepEqual(out.value, { checked: 2, healthy: 1, unhealthy: 1 });
    const status = async (rid: number) => shape<RegistryView>((await call('GET', `/registries/${rid}`, 200)).json).status;
    assert.equal(await status(id), 'unhealthy');
    assert.equal(await status(distId), 'healthy');
    assert.match(await jobs.logText(out.executionId), new RegExp(`registry flaky \\(${id}\\) is now unhealthy`));

    await endpoints.installHealthSchedule(jobs);
    assert.deepEqual((await schedules()).filter((s) => s.vendor_type === REGISTRY_HEALTH).map((s) => s.cron), ['0 */5 * * * *']);
    await jobs.removeSchedule(REGISTRY_HEALTH);
    await call('DELETE', `/registries/${id}`, 200);
  });
});
