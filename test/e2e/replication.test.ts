/**
 * End-to-end replication (issue 13), as a user runs it: Wharf A is `wharf serve` as a child
 * process; the peers are Debian's CNCF registry (`docker-registry`, on loopback) and a second
 * `wharf serve` (B). Images are built as OCI layouts and pushed with skopeo; what arrives is
 * checked with skopeo (`inspect --raw`: the manifest bytes, hence the digest).
 *
 * - Event-based push replication from A to the CNCF registry and to B: a 200 MiB three-layer image
 *   and a two-platform index pushed with skopeo arrive with equal digests; the REPLICATION
 *   events of the per-execution form (`event_mode: summary`) reach a real receiver.
 * - Pull replication from the CNCF registry into A (a manual execution).
 * - kill -9 of A in the middle of a (speed-limited) execution: nothing is visible at the
 *   destination; after the restart the execution ends (the task is reclaimed when its lease
 *   expires) and a rerun completes with the right digest.
 * Skipped when skopeo or docker-registry is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { dropDatabaseOf } from '../helpers/db.ts';
import { adminAuth, adminPassword, spawnWharf, tempDataDir, type SpawnedWharf } from '../helpers/wharf.ts';
import { adminCreds, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { api, createPolicy, explain, type ApiAnswer } from '../helpers/webhook-client.ts';
import { OciLayout, writeMultiLayerImage, writePlatformIndex, type BuiltImage, type BuiltIndex } from '../helpers/oci-layout.ts';
import { skipWithoutCncf, startCncf, type CncfRegistry } from '../helpers/cncf-registry.ts';
import { jsonBody, startReceiver, type Receiver } from '../helpers/receiver.ts';

const skip = skipWithoutSkopeo() || skipWithoutCncf;
const timeout = 600_000;
/** Short leases, so that the killed execution's task is reclaimed soon after the restart. */
const env = { WHARF_LOG_LEVEL: 'warn', WHARF_JOBS__LEASE_SECONDS: '6', WHARF_JOBS__POLL_MS: '200' };

let dirA = '';
let dirB = '';
let a: SpawnedWharf | undefined;
let b: SpawnedWharf | undefined;
let cncf: CncfRegistry | undefined;
let layout: OciLayout | undefined;
let big: BuiltImage | undefined;
let multi: BuiltIndex | undefined;
let recv: Receiver | undefined;
let cncfId = 0;
let bId = 0;

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`${what} was not set up`);
  return v;
}

async function call(url: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, body?: unknown): Promise<ApiAnswer> {
  const r = await api(url, method, `/api/v2.0${path}`, { auth: adminAuth, ...(body === undefined ? {} : { body }) });
  assert.equal(r.status, status, explain(method, path, r));
  return r;
}

const idFrom = (r: ApiAnswer) => Number(String(r.headers.location).split('/').pop());

/** The digest of the manifest skopeo reads at `ref` (sha256 of `inspect --raw`). */
async function digestOf(ref: string, creds?: string): Promise<string> {
  const raw = await skopeoOk(['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), ref]);
  return 'sha256:' + createHash('sha256').update(Buffer.from(raw, 'utf8')).digest('hex');
}

/** Status of a manifest HEAD at a registry (200, 404, …). */
async function headStatus(base: string, repo: string, ref: string, auth?: string): Promise<number> {
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
  return (await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept, ...(auth ? { authorization: auth } : {}) } })).status;
}

interface ExecutionView {
  id: number;
  policy_id: number;
  status: string;
  status_text: string;
  trigger: string;
  total: number;
  succeed: number;
  failed: number;
}

async function executions(url: string, policyId: number): Promise<ExecutionView[]> {
  return (await call(url, 'GET', `/replication/executions?policy_id=${policyId}&page_size=100`, 200)).json as ExecutionView[];
}

/** Waits until `policyId` has at least `n` executions and all are final; returns them. */
async function settled(url: string, policyId: number, n: number, ms = 240_000): Promise<ExecutionView[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const list = await executions(url, policyId);
    if (list.length >= n && list.every((e) => e.status !== 'InProgress')) return list;
    if (Date.now() > deadline) throw new Error(`policy ${policyId}: executions did not settle: ${JSON.stringify(list)}`);
    await sleep(250);
  }
}

async function policy(url: string, body: Record<string, unknown>): Promise<number> {
  return idFrom(await call(url, 'POST', '/replication/policies', 201, { enabled: true, override: true, ...body }));
}

before(async () => {
  if (skip) return;
  layout = OciLayout.create();
  big = await writeMultiLayerImage(layout, 'big', { totalMiB: 200, layers: 3 });
  multi = await writePlatformIndex(layout, 'multi');
  dirA = tempDataDir('wharf-e2e-repl-a-');
  dirB = tempDataDir('wharf-e2e-repl-b-');
  [a, b, cncf, recv] = await Promise.all([spawnWharf({ dataDir: dirA, env }), spawnWharf({ dataDir: dirB, env }), startCncf(), startReceiver()]);
  cncfId = idFrom(await call(a.url, 'POST', '/registries', 201, { name: 'cncf', type: 'docker-registry', url: cncf.url, insecure: true }));
  bId = idFrom(await call(a.url, 'POST', '/registries', 201, { name: 'wharf-b', type: 'harbor', url: b.url, credential: { type: 'basic', access_key: 'admin', access_secret: adminPassword } }));
});

after(async () => {
  await a?.kill9();
  await b?.kill9();
  await cncf?.remove();
  await recv?.close();
  for (const d of [dirA, dirB]) {
    if (d === '') continue;
    rmSync(d, { recursive: true, force: true });
    await dropDatabaseOf(d);
  }
  if (layout) rmSync(layout.dir, { recursive: true, force: true });
});

test('e2e: event-based push replication to the CNCF registry and a second Wharf, equal digests, summary events', { skip, timeout }, async () => {
  const wa = need(a, 'A');
  const wb = need(b, 'B');
  const reg = need(cncf, 'the CNCF registry');
  const r = need(recv, 'the receiver');
  const l = need(layout, 'the layout');
  await call(wa.url, 'POST', '/projects', 201, { project_name: 'events', metadata: { public: 'false' } });
  await createPolicy(wa.url, adminAuth, '/api/v2.0/projects/events', {
    name: 'replication-summary',
    event_types: ['REPLICATION'],
    targets: [{ type: 'http', address: `${r.url}/summary`, payload_format: 'Default' }],
  });
  const toCncf = await policy(wa.url, { name: 'to-cncf', dest_registry: { id: cncfId }, dest_namespace: 'mirror', filters: [{ type: 'name', value: 'events/**' }], trigger: { type: 'event_based' }, event_mode: 'summary' });
  const toB = await policy(wa.url, { name: 'to-b', dest_registry: { id: bId }, dest_namespace: 'mirror', filters: [{ type: 'name', value: 'events/**' }], trigger: { type: 'event_based' } });

  await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, l.ref('big'), `docker://${wa.host}/events/big:1.0`], { timeoutMs: 300_000 });
  await skopeoOk(['copy', '--all', '--dest-tls-verify=false', '--dest-creds', adminCreds, l.ref('multi'), `docker://${wa.host}/events/multi:1.0`]);
  const bigDigest = need(big, 'big').manifest.digest;
  const multiDigest = need(multi, 'multi').index.digest;
  assert.equal(await digestOf(`docker://${wa.host}/events/big:1.0`, adminCreds), bigDigest);

  // One execution per pushed artifact and policy: big, the index's two platform manifests and the index.
  for (const id of [toCncf, toB]) {
    const list = await settled(wa.url, id, 4);
    for (const e of list) {
      assert.equal(e.trigger, 'event_based');
      assert.equal(e.status, 'Succeed', JSON.stringify(e));
    }
  }
  assert.equal(await digestOf(`docker://${reg.host}/mirror/big:1.0`), bigDigest, 'the 200 MiB image at the CNCF registry');
  assert.equal(await digestOf(`docker://${reg.host}/mirror/multi:1.0`), multiDigest, 'the index at the CNCF registry');
  assert.equal(await digestOf(`docker://${wb.host}/mirror/big:1.0`, adminCreds), bigDigest, 'the 200 MiB image at Wharf B');
  assert.equal(await digestOf(`docker://${wb.host}/mirror/multi:1.0`, adminCreds), multiDigest, 'the index at Wharf B');
  for (const child of need(multi, 'multi').children) {
    assert.equal(await headStatus(reg.url, 'mirror/multi', child.manifest.digest), 200, 'a platform manifest of the index');
  }

  // REPLICATION events: the summary policy (to the CNCF registry) sends one per execution; the
  // per-task policy (to B, Harbor's form) a Running and a Success per task.
  type Body = { type: string; event_data: { replication: Record<string, unknown> } };
  const rep = (e: Parameters<typeof jsonBody>[0]) => (jsonBody(e) as Body).event_data.replication;
  const to = (name: string) => (e: Parameters<typeof jsonBody>[0]) => (rep(e).dest_resource as { registry_name?: string } | undefined)?.registry_name === name;
  const summaries = await r.waitFor(4, 60_000, to('cncf'));
  for (const e of summaries) {
    assert.equal((jsonBody(e) as Body).type, 'REPLICATION');
    assert.equal(rep(e).job_status, 'Success');
    assert.deepEqual(rep(e).summary, { total: 1, succeeded: 1, failed: 0, stopped: 0 });
  }
  const perTask = await r.waitFor(8, 60_000, to('wharf-b'));
  assert.deepEqual(perTask.map((e) => rep(e).job_status).sort(), ['Running', 'Running', 'Running', 'Running', 'Success', 'Success', 'Success', 'Success']);
  await sleep(1000);
  assert.equal(r.requests.filter(to('cncf')).length, 4, 'exactly one summary event per execution');
});

test('e2e: pull replication from the CNCF registry into Wharf', { skip, timeout }, async () => {
  const wa = need(a, 'A');
  const reg = need(cncf, 'the CNCF registry');
  const l = need(layout, 'the layout');
  await skopeoOk(['copy', '--all', '--dest-tls-verify=false', l.ref('multi'), `docker://${reg.host}/upstream/multi:2.0`]);
  await skopeoOk(['copy', '--dest-tls-verify=false', l.ref('big'), `docker://${reg.host}/upstream/big:2.0`], { timeoutMs: 300_000 });
  const id = await policy(wa.url, { name: 'from-cncf', src_registry: { id: cncfId }, dest_namespace: 'pulled', filters: [{ type: 'name', value: 'upstream/**' }], trigger: { type: 'manual' } });
  await call(wa.url, 'POST', '/replication/executions', 201, { policy_id: id });
  const [e] = await settled(wa.url, id, 1);
  assert.equal(e?.status, 'Succeed', JSON.stringify(e));
  assert.equal(e?.trigger, 'manual');
  assert.equal(e?.total, 2, 'one task per artifact');
  assert.equal(await digestOf(`docker://${wa.host}/pulled/multi:2.0`, adminCreds), need(multi, 'multi').index.digest);
  assert.equal(await digestOf(`docker://${wa.host}/pulled/big:2.0`, adminCreds), need(big, 'big').manifest.digest);
  const project = (await call(wa.url, 'GET', '/projects/pulled', 200)).json as { name: string };
  assert.equal(project.name, 'pulled', 'the missing project was created');
});

test('e2e: kill -9 during an execution: no partial manifest, the execution ends after the restart, a rerun completes', { skip, timeout }, async () => {
  const wa = need(a, 'A');
  const reg = need(cncf, 'the CNCF registry');
  await call(wa.url, 'POST', '/projects', 201, { project_name: 'crash', metadata: { public: 'false' } });
  const l = need(layout, 'the layout');
  await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, l.ref('big'), `docker://${wa.host}/crash/big:3.0`], { timeoutMs: 300_000 });
  // 20 MB/s: the 200 MiB image takes about 10 s, so the kill lands in the middle of a layer.
  const id = await policy(wa.url, { name: 'crash-to-cncf', dest_registry: { id: cncfId }, dest_namespace: 'crashed', filters: [{ type: 'name', value: 'crash/**' }], trigger: { type: 'manual' }, speed: 20_000 });
  const execution = idFrom(await call(wa.url, 'POST', '/replication/executions', 201, { policy_id: id }));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const tasks = (await call(wa.url, 'GET', `/replication/executions/${execution}/tasks`, 200)).json as Array<{ status: string }>;
    if (tasks.some((t) => t.status === 'InProgress')) break;
    if (Date.now() > deadline) throw new Error('the copy task never started');
    await sleep(100);
  }
  await sleep(3000);
  await wa.kill9();
  assert.equal(await headStatus(reg.url, 'crashed/big', '3.0'), 404, 'no manifest at the destination after the kill');
  a = await spawnWharf({ dataDir: dirA, port: Number(new URL(wa.url).port), env });
  const restarted = need(a, 'A');
  const ended = (await settled(restarted.url, id, 1)).find((e) => e.id === execution);
  assert.ok(ended && ['Succeed', 'Failed'].includes(ended.status), `the killed execution ended: ${JSON.stringify(ended)}`);
  if (ended.status !== 'Succeed') {
    await call(restarted.url, 'POST', '/replication/executions', 201, { policy_id: id });
    const list = await settled(restarted.url, id, 2);
    const newest = list.reduce((x, y) => (y.id > x.id ? y : x));
    assert.equal(newest.status, 'Succeed', JSON.stringify(list));
  }
  assert.equal(await digestOf(`docker://${reg.host}/crashed/big:3.0`), need(big, 'big').manifest.digest, 'the image arrived whole');
});
