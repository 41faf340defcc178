/**
 * Replication runs over real HTTP (src/replication/runs.ts): Wharf A replicates to a second Wharf
 * (a `harbor` endpoint) and to Debian's CNCF registry (`docker-registry`), and pulls from the CNCF
 * registry. Images are built as OCI layouts and pushed with skopeo; what arrives is checked with a
 * manifest HEAD (the digest). Covered: a manual push through name and tag filters with namespace
 * flattening (Harbor's execution, task and log views, 404s); a pull; a pull into a proxy-cache
 * project (skipped, as in Harbor); a label filter with an accessory (copied after its subject,
 * listed by the referrers API at the destination); two tasks of a run ending at once close it (the
 * job store's execution row lock on PostgreSQL); a scheduled policy whose schedule fires (and a disabled one that
 * starts nothing); event-based copies and a
 * deletion (trigger `event_based`); `single_active_replication` (the skipped run) and a stop; a
 * disabled policy (412); REPLICATION events at a real receiver, per task (compared with the golden
 * file test/fixtures/replication/replication-per-task-default.json) and as one summary with the
 * failures filter (a peer whose stored secret no longer works); a task run again after it recorded
 * its outcome does nothing twice.
 * Skipped when skopeo or docker-registry is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminAuth, adminPassword, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { adminCreds, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { api, createPolicy, eventually, explain, type ApiAnswer } from '../helpers/webhook-client.ts';
import { OciLayout, testArtifactType, writeArtifact, writeMultiLayerImage, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { cncfSecret, cncfUser, skipWithoutCncf, startCncf, type CncfRegistry } from '../helpers/cncf-registry.ts';
import { jsonBody, startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.ts';
import { sql } from 'kysely';
import { JobStore } from '../../src/db/index.ts';

const skip = skipWithoutSkopeo() || skipWithoutCncf;
const timeout = 120_000;
const fixture = join(import.meta.dirname, '..', 'fixtures', 'replication', 'replication-per-task-default.json');
const overrides = { jobs: { poll_ms: 100, concurrency: 4 } };
const accept = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

let a: TestWharf | undefined;
let b: TestWharf | undefined;
let cncf: CncfRegistry | undefined;
let locked: CncfRegistry | undefined;
let layout: OciLayout | undefined;
let receiver: Receiver | undefined;
const ids = { b: 0, cncf: 0, locked: 0 };
const digests = new Map<string, string>();

type ExecutionView = { id: number; policy_id: number; status: string; status_text: string; trigger: string; start_time: string; end_time: string; total: number; failed: number; succeed: number; in_progress: number; stopped: number };
type TaskView = { id: number; execution_id: number; status: string; job_id: string; operation: string; resource_type: string; src_resource: string; dst_resource: string; start_time: string; end_time: string };

function A(): TestWharf {
  assert.ok(a, 'Wharf A did not start');
  return a;
}

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, body?: unknown, base = A().url): Promise<ApiAnswer> {
  const r = await api(base, method, `/api/v2.0${path}`, { auth: adminAuth, ...(body === undefined ? {} : { body }) });
  assert.equal(r.status, status, explain(method, path, r));
  return r;
}

function idFrom(r: ApiAnswer): number {
  return Number(String(r.headers.location).split('/').pop());
}

function errorMessage(r: ApiAnswer): string {
  return (r.json as { errors: Array<{ message: string }> }).errors[0]?.message ?? '';
}

async function policy(body: Record<string, unknown>): Promise<number> {
  return idFrom(await call('POST', '/replication/policies', 201, { src_registry: null, enabled: true, override: true, trigger: { type: 'manual' }, ...body }));
}

async function run(policyId: number): Promise<number> {
  const r = await call('POST', '/replication/executions', 201, { policy_id: policyId });
  assert.match(String(r.headers.location), /^\/api\/v2\.0\/replication\/executions\/\d+$/);
  return idFrom(r);
}

async function execution(id: number): Promise<ExecutionView> {
  return (await call('GET', `/replication/executions/${id}`, 200)).json as ExecutionView;
}

/** The execution once final; after 90 s a failure that shows its tasks, their logs and the database's waits. */
async function settled(id: number): Promise<ExecutionView> {
  const deadline = Date.now() + 90_000;
  return eventually(async () => {
    const e = await execution(id);
    if (e.status !== 'InProgress') return e;
    if (Date.now() > deadline) assert.fail(`execution ${id} is still running after 90 s:\n${await diagnose(id)}`);
    return undefined;
  });
}

/** What a stuck execution is doing: its tasks with their leases and logs, and (PostgreSQL) the sessions that wait. */
async function diagnose(id: number): Promise<string> {
  const db = A().wharf.db.kysely;
  const out: string[] = [JSON.stringify(await execution(id))];
  for (const t of await db.selectFrom('job_tasks').selectAll().where('execution_id', '=', id).orderBy('id').execute()) {
    out.push(JSON.stringify({ ...t, extra_attrs: t.extra_attrs.slice(0, 300) }));
    for (const l of await db.selectFrom('job_task_logs').select(['level', 'message']).where('task_id', '=', t.id).orderBy('id').execute()) out.push(`  ${l.level} ${l.message}`);
  }
  if (A().wharf.config.database.url !== undefined) {
    const waits = await sql<Record<string, unknown>>`SELECT pid, state, wait_event_type, wait_event, left(query, 200) AS query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`.execute(db);
    for (const r of waits.rows) out.push(JSON.stringify(r));
  }
  return out.join('\n');
}

async function tasks(id: number, query = ''): Promise<TaskView[]> {
  return (await call('GET', `/replication/executions/${id}/tasks${query}`, 200)).json as TaskView[];
}

async function executionsOf(policyId: number, query = ''): Promise<ExecutionView[]> {
  return (await call('GET', `/replication/executions?policy_id=${policyId}${query}`, 200)).json as ExecutionView[];
}

/** The digest `base` serves at `repo:ref` (a manifest HEAD), or null on 404. */
async function headDigest(base: string, repo: string, ref: string, auth?: string): Promise<string | null> {
  const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept, ...(auth ? { authorization: auth } : {}) } });
  if (res.status === 404) return null;
  assert.equal(res.status, 200, `HEAD ${base}/v2/${repo}/manifests/${ref}`);
  return res.headers.get('docker-content-digest');
}

/** Builds an image in the layout (once per name) and pushes it to Wharf A at `project/repo:tag`. */
async function pushToA(name: string, target: string): Promise<string> {
  assert.ok(layout);
  if (!digests.has(name)) digests.set(name, (await writeSingleLayerImage(layout, name)).manifest.digest);
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref(name), `docker://${A().host}/${target}`]);
  const d = digests.get(name);
  assert.ok(d);
  return d;
}

function replicationOf(r: ReceivedRequest): Record<string, unknown> & { job_status: string } {
  return (jsonBody(r) as { event_data: { replication: Record<string, unknown> & { job_status: string } } }).event_data.replication;
}

before(async () => {
  if (skip) return;
  [a, b, cncf, locked, receiver] = await Promise.all([startWharf({ overrides }), startWharf({ overrides }), startCncf(), startCncf({ auth: true }), startReceiver()]);
  layout = OciLayout.create();
  ids.b = idFrom(await call('POST', '/registries', 201, { name: 'wharf-b', type: 'harbor', url: b.url, credential: { type: 'basic', access_key: 'admin', access_secret: adminPassword } }));
  ids.cncf = idFrom(await call('POST', '/registries', 201, { name: 'cncf', type: 'docker-registry', url: cncf.url, insecure: true }));
  ids.locked = idFrom(await call('POST', '/registries', 201, { name: 'locked', type: 'docker-registry', url: locked.url, credential: { type: 'basic', access_key: cncfUser, access_secret: cncfSecret } }));
  for (const p of ['src', 'evt']) await call('POST', '/projects', 201, { project_name: p, metadata: { public: 'false' } });
  await createPolicy(A().url, adminAuth, '/api/v2.0/projects/evt', { name: 'replication-events', event_types: ['REPLICATION'], targets: [{ type: 'http', address: `${receiver.url}/evt`, payload_format: 'Default' }] });
  await createPolicy(A().url, adminAuth, '/api/v2.0/projects/src', { name: 'replication-events', event_types: ['REPLICATION'], targets: [{ type: 'http', address: `${receiver.url}/src`, payload_format: 'Default' }] });
});

after(async () => {
  layout?.remove();
  await Promise.allSettled([a?.close(), b?.close(), cncf?.remove(), locked?.remove(), receiver?.close()]);
});

test('manual push to a second Wharf through name and tag filters, flattened; Harbor views', { skip, timeout }, async () => {
  const v1 = await pushToA('app-v1', 'src/team/app:v1');
  const v2 = await pushToA('app-v2', 'src/team/app:v2');
  await pushToA('app-dev', 'src/team/app:dev');
  await pushToA('other', 'src/other:v1');
  const id = await policy({ name: 'to-b', dest_registry: { id: ids.b }, dest_namespace: 'mirror', dest_namespace_replace_count: 1, filters: [{ type: 'name', value: 'src/team/**' }, { type: 'tag', value: 'v*' }] });
  const eid = await run(id);
  const e = await settled(eid);
  assert.deepEqual({ ...e, start_time: '', end_time: '' }, { id: eid, policy_id: id, status: 'Succeed', status_text: '', trigger: 'manual', start_time: '', end_time: '', total: 2, failed: 0, succeed: 2, in_progress: 0, stopped: 0 });
  assert.ok(Date.parse(e.end_time) >= Date.parse(e.start_time));
  // Flattening: src/team/app with namespace mirror and count 1 -> mirror/team/app; dev and src/other stay behind.
  assert.equal(await headDigest(b?.url ?? '', 'mirror/team/app', 'v1', adminAuth), v1);
  assert.equal(await headDigest(b?.url ?? '', 'mirror/team/app', 'v2', adminAuth), v2);
  assert.equal(await headDigest(b?.url ?? '', 'mirror/team/app', 'dev', adminAuth), null);
  assert.equal(await headDigest(b?.url ?? '', 'mirror/other', 'v1', adminAuth), null);

  const list = await tasks(eid);
  assert.equal(list.length, 2, 'the fetch task is hidden');
  for (const t of list) {
    assert.equal(t.execution_id, eid);
    assert.equal(t.status, 'Succeed');
    assert.equal(t.operation, 'copy');
    assert.equal(t.resource_type, 'image');
    assert.equal(t.job_id, String(t.id));
    assert.equal(t.src_resource, 'src/team/app [1 item(s) in total]');
    assert.equal(t.dst_resource, 'mirror/team/app [1 item(s) in total]');
  }
  assert.equal((await tasks(eid, '?status=Failed')).length, 0);
  assert.equal((await tasks(eid, '?resource_type=image&page_size=1')).length, 1);
  const first = list[0];
  assert.ok(first);
  const log = await call('GET', `/replication/executions/${eid}/tasks/${first.id}/log`, 200);
  assert.match(String(log.headers['content-type']), /^text\/plain/);
  assert.match(log.text, /finished: Success/);

  // Listing filters.
  assert.deepEqual((await executionsOf(id)).map((x) => x.id), [eid]);
  assert.deepEqual((await executionsOf(id, '&status=Succeed&trigger=manual')).map((x) => x.id), [eid]);
  assert.deepEqual(await executionsOf(id, '&status=Failed'), []);
  assert.deepEqual(await executionsOf(id, '&trigger=event_based'), []);
  await call('GET', '/replication/executions?status=Bogus', 400);

  // A second run finds everything there already.
  const again = await settled(await run(id));
  assert.equal(again.status, 'Succeed');
  assert.equal(again.total, 2);

  // 404s: unknown execution, a task of another execution.
  assert.equal(errorMessage(await call('GET', '/replication/executions/999999', 404)), 'replication execution 999999 not found');
  await call('GET', `/replication/executions/${again.id}/tasks/${first.id}/log`, 404);
  await call('GET', '/replication/executions/999999/tasks', 404);
  // Nothing selected.
  const none = await policy({ name: 'nothing', dest_registry: { id: ids.b }, dest_namespace: 'mirror', filters: [{ type: 'name', value: 'nope/**' }] });
  const n = await settled(await run(none));
  assert.equal(n.status, 'Succeed');
  assert.equal(n.status_text, 'no resources need to be replicated');
  assert.equal(n.total, 0);
});

test('pull from the CNCF registry into Wharf', { skip, timeout }, async () => {
  assert.ok(layout && cncf);
  const d = (await writeSingleLayerImage(layout, 'tool')).manifest.digest;
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', layout.ref('tool'), `docker://${cncf.host}/lib/tool:1.0`]);
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', layout.ref('tool'), `docker://${cncf.host}/lib/tool:latest`]);
  // Pulling, the events go to the destination project.
  await call('POST', '/projects', 201, { project_name: 'pulled', metadata: { public: 'false' } });
  await createPolicy(A().url, adminAuth, '/api/v2.0/projects/pulled', { name: 'pull-events', event_types: ['REPLICATION'], targets: [{ type: 'http', address: `${receiver?.url ?? ''}/pulled`, payload_format: 'Default' }] });
  const id = await policy({ name: 'from-cncf', src_registry: { id: ids.cncf }, dest_registry: null, dest_namespace: 'pulled', filters: [{ type: 'name', value: 'lib/**' }] });
  const eid = await run(id);
  const e = await settled(eid);
  assert.equal(e.status, 'Succeed', JSON.stringify(e));
  assert.equal(e.total, 1, 'both tags name one digest: one task');
  const [t] = await tasks(eid);
  assert.equal(t?.src_resource, 'lib/tool [2 item(s) in total]');
  assert.equal(t?.dst_resource, 'pulled/tool [2 item(s) in total]');
  assert.equal(await headDigest(A().url, 'pulled/tool', '1.0', adminAuth), d);
  assert.equal(await headDigest(A().url, 'pulled/tool', 'latest', adminAuth), d);
  assert.ok(receiver);
  const events = await receiver.waitFor(2, 20_000, '/pulled');
  assert.deepEqual(events.map((r) => replicationOf(r).job_status), ['Running', 'Success']);
  const done = events[1];
  assert.ok(done);
  const rep = replicationOf(done);
  assert.deepEqual(rep.src_resource, { registry_name: 'cncf', registry_type: 'docker-registry', endpoint: cncf.url, namespace: 'lib' });
  assert.deepEqual(rep.dest_resource, { registry_type: 'harbor', endpoint: A().url, namespace: 'pulled' });
  assert.deepEqual(rep.successful_artifact, [{ type: 'image', status: 'Success', name_tag: 'tool [2 item(s) in total]', references: ['1.0', 'latest'] }]);
  assert.equal(rep.trigger_type, 'MANUAL');
  assert.equal((jsonBody(done) as { operator: string }).operator, 'admin');
});

test('a pull into a proxy-cache project writes nothing there: its tasks succeed, skipped with a WARNING', { skip, timeout }, async () => {
  assert.ok(layout && cncf);
  const d = (await writeSingleLayerImage(layout, 'cached-tool')).manifest.digest;
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', layout.ref('cached-tool'), `docker://${cncf.host}/proxied/tool:1.0`]);
  await call('POST', '/projects', 201, { project_name: 'cache', registry_id: ids.cncf, metadata: { public: 'false' } });
  const id = await policy({ name: 'into-proxy-cache', src_registry: { id: ids.cncf }, dest_registry: null, dest_namespace: 'cache', filters: [{ type: 'name', value: 'proxied/**' }] });
  const e = await settled(await run(id));
  assert.equal(e.status, 'Succeed', JSON.stringify(e));
  assert.equal(e.total, 1);
  assert.equal(e.succeed, 1);
  const [t] = await tasks(e.id);
  assert.ok(t);
  assert.equal(t.dst_resource, 'cache/tool [1 item(s) in total]');
  const log = (await call('GET', `/replication/executions/${e.id}/tasks/${t.id}/log`, 200)).text;
  assert.match(log, new RegExp(`\\[WARNING\\] cache/tool: the project cache is a proxy-cache project, replication does not write into it: ${d} skipped`));
  // Nothing was written into the project (a manifest read here would pull through it instead).
  assert.deepEqual((await call('GET', '/projects/cache/repositories', 200)).json, []);
  const { repository } = await A().wharf.db.kysely.selectFrom('repositories').select((eb) => eb.fn.countAll<number>().as('repository')).where('name', 'like', 'cache/%').executeTakeFirstOrThrow();
  assert.equal(Number(repository), 0);
});

test('a scheduled policy runs when its schedule fires (trigger scheduled, operator harbor-jobservice); a disabled one starts nothing', { skip, timeout }, async () => {
  const db = A().wharf.db.kysely;
  const scheduled = (cron: string) => ({ type: 'scheduled', trigger_settings: { cron } });
  const refusal = await call('POST', '/replication/policies', 400, { name: 'every-minute', src_registry: null, dest_registry: { id: ids.b }, enabled: true, trigger: scheduled('0 * * * * *') });
  assert.equal(errorMessage(refusal), '* is not allowed for the Minutes field of the cron setting of replication policy');
  const d = await pushToA('sched-app', 'src/sched/app:1.0');
  const on = await policy({ name: 'nightly-to-b', dest_registry: { id: ids.b }, dest_namespace: 'nightly', dest_namespace_replace_count: 1, filters: [{ type: 'name', value: 'src/sched/**' }], trigger: scheduled('0 0 2 * * *') });
  const off = await policy({ name: 'nightly-off', enabled: false, dest_registry: { id: ids.b }, dest_namespace: 'nightly-off', dest_namespace_replace_count: 1, filters: [{ type: 'name', value: 'src/sched/**' }], trigger: scheduled('0 0 2 * * *') });
  assert.deepEqual(await executionsOf(on), []);
  // The schedules come due now: A's job loop (poll_ms 100) fires them as it would at 02:00.
  const due = Date.now() - 1000;
  await db.updateTable('job_schedules').set({ next_run: due }).where('vendor_type', '=', 'REPLICATION_SCHEDULE').where('vendor_id', 'in', [on, off]).execute();
  const [e] = await eventually(async () => {
    const list = await executionsOf(on);
    return list.length > 0 && list.every((x) => x.status !== 'InProgress') ? list : undefined;
  });
  assert.ok(e);
  assert.equal(e.trigger, 'scheduled');
  assert.equal(e.status, 'Succeed', JSON.stringify(e));
  assert.equal(e.total, 1);
  assert.equal((await executionsOf(on, '&trigger=scheduled')).length, 1);
  const row = await db.selectFrom('job_executions').select(['trigger', 'extra_attrs']).where('id', '=', e.id).executeTakeFirstOrThrow();
  assert.equal(row.trigger, 'SCHEDULE');
  assert.deepEqual(JSON.parse(row.extra_attrs), { policy_id: on, operator: 'harbor-jobservice', trigger: 'SCHEDULE' });
  assert.equal(await headDigest(b?.url ?? '', 'nightly/sched/app', '1.0', adminAuth), d);
  // Each schedule fired once and moved on to its next 02:00.
  const fired = await eventually(async () => {
    const rows = await db.selectFrom('job_executions').select(['vendor_id', 'status']).where('vendor_type', '=', 'REPLICATION_SCHEDULE').where('vendor_id', 'in', [on, off]).orderBy('vendor_id').execute();
    return rows.length === 2 && rows.every((r) => r.status === 'Success') ? rows : undefined;
  });
  assert.deepEqual(fired.map((r) => r.vendor_id), [on, off]);
  for (const s of await db.selectFrom('job_schedules').select(['next_run']).where('vendor_type', '=', 'REPLICATION_SCHEDULE').where('vendor_id', 'in', [on, off]).execute()) {
    assert.ok(s.next_run > Date.now() && new Date(s.next_run).getUTCHours() === 2, `next run ${new Date(s.next_run).toISOString()}`);
  }
  // The disabled policy's firing started nothing.
  assert.deepEqual(await executionsOf(off), []);
  assert.equal(await headDigest(b?.url ?? '', 'nightly-off/sched/app', '1.0', adminAuth), null);
});

test('a label filter copies the labelled image and its accessory (after it, with its subject), not an unlabelled image', { skip, timeout }, async () => {
  assert.ok(layout && b);
  const img = await writeSingleLayerImage(layout, 'lab-v1');
  const sbom = writeArtifact(layout, img.manifest, 'lab-v1-sbom');
  const push = (name: string, target: string) => skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout?.ref(name) ?? '', `docker://${A().host}/${target}`]);
  await push('lab-v1', 'src/lab-app:v1');
  await push('lab-v1-sbom', 'src/lab-app:v1-sbom');
  const plain = await pushToA('lab-plain', 'src/lab-other:v1');
  const label = idFrom(await call('POST', '/labels', 201, { name: 'release', scope: 'g' }));
  await call('POST', '/projects/src/repositories/lab-app/artifacts/v1/labels', 200, { id: label });
  const id = await policy({ name: 'labelled-to-b', dest_registry: { id: ids.b }, dest_namespace: 'labelled', dest_namespace_replace_count: 1, filters: [{ type: 'name', value: 'src/lab-*' }, { type: 'label', value: ['release'] }] });
  const e = await settled(await run(id));
  assert.equal(e.status, 'Succeed', JSON.stringify(e));
  assert.equal(e.total, 2, 'the labelled image and its accessory');
  // The accessory's task comes after its subject's.
  const order = await A().wharf.db.kysely.selectFrom('job_tasks').select('extra_attrs').where('execution_id', '=', e.id).orderBy('id').execute();
  const digestsInOrder = order.map((t) => (JSON.parse(t.extra_attrs) as { digest?: string }).digest).filter((x) => x !== undefined);
  assert.deepEqual(digestsInOrder, [img.manifest.digest, sbom.manifest.digest]);
  assert.equal(await headDigest(b.url, 'labelled/lab-app', 'v1', adminAuth), img.manifest.digest);
  assert.equal(await headDigest(b.url, 'labelled/lab-app', 'v1-sbom', adminAuth), sbom.manifest.digest);
  assert.equal(await headDigest(b.url, 'labelled/lab-other', 'v1', adminAuth), null, `the unlabelled ${plain} stays behind`);
  // At B the accessory refers to the same subject digest.
  const res = await fetch(`${b.url}/v2/labelled/lab-app/referrers/${img.manifest.digest}`, { headers: { authorization: adminAuth } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const referrers = (JSON.parse(text) as { manifests: Array<{ digest: string; artifactType?: string }> }).manifests;
  assert.deepEqual(referrers.map((m) => [m.digest, m.artifactType]), [[sbom.manifest.digest, testArtifactType]]);
  const copied = await fetch(`${b.url}/v2/labelled/lab-app/manifests/${sbom.manifest.digest}`, { headers: { authorization: adminAuth, accept } });
  assert.equal(copied.status, 200);
  assert.equal((JSON.parse(await copied.text()) as { subject?: { digest: string } }).subject?.digest, img.manifest.digest);
});

test('event-based copy and deletion to the CNCF registry; per-task REPLICATION events (golden file)', { skip, timeout }, async () => {
  assert.ok(cncf && receiver);
  const id = await policy({ name: 'events-to-cncf', dest_registry: { id: ids.cncf }, dest_namespace: 'ev', description: 'event-based mirror', deletion: true, trigger: { type: 'event_based' }, filters: [{ type: 'name', value: 'evt/**' }] });
  const d = await pushToA('ev-img', 'evt/img:e1');
  const [e] = await eventually(async () => {
    const list = await executionsOf(id);
    return list.length === 1 && list[0]?.status !== 'InProgress' ? list : undefined;
  });
  assert.equal(e?.trigger, 'event_based');
  assert.equal(e?.status, 'Succeed', JSON.stringify(e));
  assert.equal(await headDigest(cncf.url, 'ev/img', 'e1'), d);
  const [t] = await tasks(e?.id ?? 0);
  assert.equal(t?.operation, 'copy');

  const events = await receiver.waitFor(2, 20_000, '/evt');
  assert.deepEqual(events.map((r) => replicationOf(r).job_status), ['Running', 'Success']);
  const done = events[1];
  assert.ok(done);
  const body = jsonBody(done) as Record<string, unknown> & { event_data: { replication: Record<string, unknown> } };
  assert.equal(body.event_data.replication.execution_id, e?.id);
  assert.equal(body.event_data.replication.task_id, t?.id);
  const host = new URL(A().url).host;
  const normalized = JSON.parse(
    JSON.stringify({ ...body, occur_at: 0, event_data: { replication: { ...body.event_data.replication, execution_timestamp: 0, execution_id: 0, task_id: 0 } } })
      .replaceAll(cncf.url, 'http://cncf.test')
      .replaceAll(A().url, 'http://wharf.test')
      .replaceAll(host, 'wharf.test'),
  ) as unknown;
  if (process.env.WHARF_UPDATE_GOLDEN === '1') writeFileSync(fixture, JSON.stringify(normalized, null, 2) + '\n');
  assert.deepEqual(normalized, JSON.parse(readFileSync(fixture, 'utf8')));

  // A tag added through the API (CREATE_TAG) is replicated by a run of its own.
  await call('POST', `/projects/evt/repositories/img/artifacts/${d}/tags`, 201, { name: 'e2' });
  const tagged = await eventually(async () => {
    const list = await executionsOf(id);
    return list.length === 2 && list[0]?.status !== 'InProgress' ? list[0] : undefined;
  });
  assert.equal(tagged.status, 'Succeed', JSON.stringify(tagged));
  assert.equal(await headDigest(cncf.url, 'ev/img', 'e2'), d);

  // Deleting the artifact at the source deletes it at the destination.
  await call('DELETE', '/projects/evt/repositories/img/artifacts/e1', 200);
  const del = await eventually(async () => {
    const list = await executionsOf(id);
    return list.length === 3 && list[0]?.status !== 'InProgress' ? list[0] : undefined;
  });
  assert.equal(del.status, 'Succeed', JSON.stringify(del));
  const [dt] = await tasks(del.id);
  assert.equal(dt?.operation, 'deletion');
  assert.equal(await headDigest(cncf.url, 'ev/img', d), null);
  assert.equal(await headDigest(cncf.url, 'ev/img', 'e1'), null);
});

test('a disabled policy is refused; single active replication skips a second run; a stop ends a run Stopped', { skip, timeout }, async () => {
  assert.ok(layout);
  const off = await policy({ name: 'off', enabled: false, dest_registry: { id: ids.cncf }, dest_namespace: 'off' });
  assert.equal(errorMessage(await call('POST', '/replication/executions', 412, { policy_id: off })), `the policy ${off} is disabled`);
  assert.equal((await call('POST', '/replication/executions', 404, { policy_id: 999999 })).status, 404);
  await call('POST', '/replication/executions', 400, { policy_id: 'x' });

  // A 3 MiB layer at 64 KB/s takes far longer than the test: it is still copying when stopped.
  await writeMultiLayerImage(layout, 'slow', { totalMiB: 3, layers: 1 });
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('slow'), `docker://${A().host}/src/slow:1`]);
  const id = await policy({ name: 'slow', dest_registry: { id: ids.cncf }, dest_namespace: 'slow', speed: 64, single_active_replication: true, filters: [{ type: 'name', value: 'src/slow' }] });
  const first = await run(id);
  const skipped = await run(id);
  const s = await execution(skipped);
  assert.equal(s.status, 'Failed');
  assert.equal(s.status_text, 'Execution skipped: active replication still in progress.');
  await eventually(async () => (await tasks(first, '?status=InProgress')).length === 1);
  await call('PUT', `/replication/executions/${first}`, 200);
  const e = await settled(first);
  assert.equal(e.status, 'Stopped', JSON.stringify(e));
  assert.equal(e.stopped, 1);
  assert.equal(await headDigest(cncf?.url ?? '', 'slow/slow', '1'), null, 'a stopped copy leaves no manifest');
  await call('PUT', '/replication/executions/999999', 404);
});

test('summary events with the failures filter: one event for a failed run, none for a good one', { skip, timeout }, async () => {
  assert.ok(receiver && locked);
  await pushToA('sum-1', 'src/sum/one:1');
  await pushToA('sum-2', 'src/sum/two:1');
  const good = await policy({ name: 'summary-good', dest_registry: { id: ids.cncf }, dest_namespace: 'sum', filters: [{ type: 'name', value: 'src/sum/**' }], event_mode: 'summary', event_status_filter: 'failures' });
  const g = await settled(await run(good));
  assert.equal(g.status, 'Succeed', JSON.stringify(g));
  // The peer's password changed behind Wharf's back: every copy is refused (401), at once.
  await A().wharf.db.kysely.updateTable('registries').set({ access_secret: 'not-the-password' }).where('id', '=', ids.locked).execute();
  const bad = await policy({ name: 'summary-bad', dest_registry: { id: ids.locked }, dest_namespace: 'sum', filters: [{ type: 'name', value: 'src/sum/**' }], event_mode: 'summary', event_status_filter: 'failures' });
  const eid = await run(bad);
  const e = await settled(eid);
  assert.equal(e.status, 'Failed', JSON.stringify(e));
  assert.equal(e.failed, 2);
  const isSummary = (r: ReceivedRequest) => r.path === '/src' && replicationOf(r).summary !== undefined;
  const [ev] = await receiver.waitFor(1, 20_000, isSummary);
  assert.ok(ev);
  const rep = replicationOf(ev);
  assert.equal(rep.job_status, 'Error');
  assert.equal(rep.execution_id, eid);
  assert.equal(rep.task_id, undefined);
  assert.deepEqual(rep.summary, { total: 2, succeeded: 0, failed: 2, stopped: 0 });
  const failed = rep.failed_artifact as Array<{ name_tag: string; status: string; references: string[]; fail_reason?: string }>;
  assert.deepEqual(failed.map((f) => f.name_tag).sort(), ['sum/one [1 item(s) in total]', 'sum/two [1 item(s) in total]']);
  assert.ok(failed.every((f) => f.status === 'Error' && typeof f.fail_reason === 'string' && f.fail_reason !== ''));
  assert.equal(rep.successful_artifact, undefined, 'an empty list is omitted');
  assert.deepEqual(rep.dest_resource, { registry_name: 'locked', registry_type: 'docker-registry', endpoint: locked.url, namespace: 'sum' });
  // Exactly one: the good run sent none, and the failed one only its summary.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(receiver.requests.filter(isSummary).length, 1);
  assert.equal(receiver.requests.filter((r) => r.path === '/src' && replicationOf(r).execution_id === g.id).length, 0);
});

test('two tasks of a run ending together close it (PostgreSQL: neither counts the other as still running)', { skip, timeout }, async () => {
  const db = A().wharf.db.kysely;
  const store = new JobStore(db);
  const kind = 'TEST_TWO_TASKS'; // no handler: nothing but this test claims them
  const now = Date.now();
  const eid = await store.createExecution({ vendorType: kind, trigger: 'MANUAL', tasks: [{}, {}], maxRuns: 1 }, now);
  const one = await store.claim(kind, 'w', now, 60_000);
  const two = await store.claim(kind, 'w', now, 60_000);
  assert.ok(one && two);
  // The first task's end is written and counted, and its transaction stays open while the second ends.
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const first = db.transaction().execute(async (trx) => {
    await trx.updateTable('job_tasks').set({ status: 'Success', lease_owner: null, lease_expires: null, end_time: now }).where('id', '=', one.id).execute();
    await store.refreshExecution(eid, now, trx);
    await gate;
  });
  await new Promise((r) => setTimeout(r, 100));
  const second = store.finish(two.id, 'w', 'Success', '', undefined, now);
  await new Promise((r) => setTimeout(r, 300));
  release();
  await Promise.all([first, second]);
  const e = await store.execution(eid);
  assert.equal(e?.status, 'Success', JSON.stringify(e));
  assert.notEqual(e?.end_time, null);
});

test('a task run again after recording its outcome (its worker died) repeats it: nothing copied or sent twice', { skip, timeout }, async () => {
  assert.ok(receiver && cncf);
  const d = await pushToA('rerun', 'src/rerun/x:1');
  const id = await policy({ name: 'rerun', dest_registry: { id: ids.cncf }, dest_namespace: 'rr', filters: [{ type: 'name', value: 'src/rerun/**' }] });
  // What a task that recorded Success (and its event) and died before its end was recorded looks like.
  const task = { step: 'copy', policy_id: id, operator: 'admin', src_repo: 'src/rerun/x', dst_repo: 'rr/x', digest: d, tags: ['1'], resource_type: 'image', operation: 'copy', outcome: { status: 'Success' } };
  const eid = await new JobStore(A().wharf.db.kysely).createExecution({ vendorType: 'REPLICATION', vendorId: id, trigger: 'MANUAL', extraAttrs: { policy_id: id, operator: 'admin', trigger: 'MANUAL' }, tasks: [task], maxRuns: 3 }, Date.now());
  const e = await settled(eid);
  assert.equal(e.status, 'Succeed', JSON.stringify(e));
  const [t] = await tasks(eid);
  assert.ok(t);
  assert.match((await call('GET', `/replication/executions/${eid}/tasks/${t.id}/log`, 200)).text, /already recorded its outcome \(Success\)/);
  assert.equal(await headDigest(cncf.url, 'rr/x', '1'), null, 'nothing was copied again');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(receiver.requests.filter((r) => r.path === '/src' && replicationOf(r).execution_id === eid).length, 0, 'no event was sent again');
});
