/**
 * Status filters and platform folding on webhook policies (Wharf extensions, docs/webhook-api.md)
 * over real HTTP against a real Wharf (SQLite, or PostgreSQL in that pass) and a real receiver:
 * the policy API stores, shows and replaces `status_filters` and `fold_platforms` and refuses bad
 * ones with Harbor's error body; the dispatcher delivers a multi-platform push (pushed over /v2
 * as a client does: the platform manifests by digest, then the index by tag) once to a folding
 * policy, with every platform, and three times to the others; and scan, replication, retention and
 * quota events reach only the policies whose filters they pass.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { jsonBody, startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.ts';
import { api, explain, pushSmallImage, putManifest, smallImage, type ApiAnswer } from '../helpers/webhook-client.ts';
import { Outbox, type NewEvent } from '../../src/events/index.ts';

let w: TestWharf;
let rx: Receiver;
const lib = '/api/v2.0/projects/library/webhook';
const settleMs = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  rx = await startReceiver();
  w = await startWharf();
});

after(async () => {
  await w?.close();
  await rx?.close();
});

/** Creates a policy in library delivering Default bodies to `<receiver>/<path>`; returns its id. */
async function create(name: string, path: string, extra: Record<string, unknown>): Promise<number> {
  const a = await api(w.url, 'POST', `${lib}/policies`, { auth: adminAuth, body: { name, enabled: true, targets: [{ type: 'http', address: `${rx.url}/${path}` }], ...extra } });
  assert.equal(a.status, 201, explain('POST', 'policies', a));
  return Number(String(a.headers.location).split('/').pop());
}

async function get(id: number): Promise<Record<string, unknown>> {
  const a = await api(w.url, 'GET', `${lib}/policies/${id}`, { auth: adminAuth });
  assert.equal(a.status, 200, explain('GET', 'policy', a));
  return a.json as Record<string, unknown>; // a policy object (asserted field by field)
}

function assertBadRequest(a: ApiAnswer, message: string): void {
  assert.equal(a.status, 400, a.text);
  assert.deepEqual(a.json, { errors: [{ code: 'BAD_REQUEST', message }] });
}

/** The Default bodies received on `path`. */
function bodies(path: string): Array<{ type: string; event_data: { resources?: Array<Record<string, unknown>>; replication?: Record<string, unknown> } }> {
  return rx.on(path).map((r: ReceivedRequest) => jsonBody(r) as { type: string; event_data: { resources?: Array<Record<string, unknown>> } }); // Default bodies
}

describe('status_filters and fold_platforms on the policy API', () => {
  it('stores them normalised and shows them; a PUT that leaves them out keeps them, null clears them', async () => {
    const id = await create('filtered', 'unused', {
      event_types: ['SCANNING_FAILED', 'REPLICATION'],
      status_filters: { scan_status: ['failed', 'Stopped', 'Error'], replication_status: ['Failed'], retention_status: [], quota_min_percent: 95 },
      fold_platforms: true,
    });
    const p = await get(id);
    assert.deepEqual(p.status_filters, { scan_status: ['Error', 'Stopped'], replication_status: ['Error'], quota_min_percent: 95 });
    assert.equal(p.fold_platforms, true);
    const list = await api(w.url, 'GET', `${lib}/policies?q=name%3Dfiltered`, { auth: adminAuth });
    assert.deepEqual((list.json as Array<Record<string, unknown>>).map((x) => [x.status_filters, x.fold_platforms]), [[p.status_filters, true]]);

    const put = async (extra: Record<string, unknown>) => {
      const a = await api(w.url, 'PUT', `${lib}/policies/${id}`, { auth: adminAuth, body: { name: 'filtered', enabled: true, event_types: ['REPLICATION'], targets: [{ type: 'http', address: `${rx.url}/unused` }], ...extra } });
      assert.equal(a.status, 200, a.text);
      return get(id);
    };
    // Harbor's clients (its UI, harbor-cli, Terraform) replace a policy with the fields they know.
    let after = await put({});
    assert.deepEqual([after.status_filters, after.fold_platforms], [p.status_filters, true], 'left out of a PUT: kept');
    after = await put({ status_filters: { retention_status: ['SUCCESS'] } });
    assert.deepEqual([after.status_filters, after.fold_platforms], [{ retention_status: ['Success'] }, true], 'sent: replaced');
    after = await put({ status_filters: null, fold_platforms: false });
    assert.deepEqual([after.status_filters, after.fold_platforms], [{}, false], 'null and false: cleared');

    const plain = await get(await create('plain-view', 'unused', { event_types: ['PUSH_ARTIFACT'] }));
    assert.deepEqual([plain.status_filters, plain.fold_platforms], [{}, false]);
  });

  it("refuses bad filters with Harbor's error body and a message naming the field; nothing is stored", async () => {
    const before = await api(w.url, 'GET', `${lib}/policies`, { auth: adminAuth });
    const post = (extra: Record<string, unknown>) =>
      api(w.url, 'POST', `${lib}/policies`, { auth: adminAuth, body: { name: 'bad', enabled: true, event_types: ['SCANNING_FAILED'], targets: [{ type: 'http', address: `${rx.url}/bad` }], ...extra } });
    assertBadRequest(await post({ status_filters: ['Error'] }), 'status_filters must be an object (keys: scan_status, replication_status, retention_status, quota_min_percent)');
    assertBadRequest(await post({ status_filters: { scan: ['Error'] } }), 'status_filters: unknown filter scan (use scan_status, replication_status, retention_status, quota_min_percent)');
    assertBadRequest(await post({ status_filters: { scan_status: ['Running'] } }), `status_filters.scan_status[0]: unsupported status "Running" (use Success, Error or Stopped; Harbor's Succeed and Failed are accepted too)`);
    assertBadRequest(await post({ status_filters: { replication_status: 'Failed' } }), `status_filters.replication_status must be an array of statuses (use Running, Success, Error or Stopped; Harbor's Succeed and Failed are accepted too)`);
    assertBadRequest(await post({ status_filters: { quota_min_percent: 120 } }), 'status_filters.quota_min_percent must be an integer from 1 to 100');
    assertBadRequest(await post({ fold_platforms: 'yes' }), 'fold_platforms must be true or false');
    const after = await api(w.url, 'GET', `${lib}/policies`, { auth: adminAuth });
    assert.equal(after.headers['x-total-count'], before.headers['x-total-count']);
  });
});

describe('dispatch', () => {
  it('a multi-platform push is one event with every platform for a folding policy, three without folding', async () => {
    const folded = await create('folded', 'folded', { event_types: ['PUSH_ARTIFACT'], fold_platforms: true });
    await create('unfolded', 'unfolded', { event_types: ['PUSH_ARTIFACT'] });
    const repo = 'library/multi';
    const platforms = [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ];
    const [amd, arm] = platforms.map((p) => smallImage(p.architecture, p.architecture, { architecture: p.architecture, os: p.os }));
    assert.ok(amd && arm);
    for (const img of [amd, arm]) await pushSmallImage(w.url, repo, img, { auth: adminAuth });
    const manifests = [amd, arm].map((img, i) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: img.digest, size: img.manifest.length, platform: platforms[i] }));
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    const indexDigest = await putManifest(w.url, repo, 'v1', index, { auth: adminAuth, mediaType: 'application/vnd.oci.image.index.v1+json' });
    // A lone image pushed by tag still reaches a folding policy.
    const lone = smallImage('lone');
    await pushSmallImage(w.url, repo, lone, { auth: adminAuth, tag: 'lone' });

    await rx.waitFor(4, 15_000, '/unfolded');
    await rx.waitFor(2, 15_000, '/folded');
    await sleep(settleMs);
    const unfolded = bodies('/unfolded').map((b) => b.event_data.resources?.[0]);
    assert.deepEqual(unfolded.map((r) => r?.digest).sort(), [amd.digest, arm.digest, indexDigest, lone.digest].sort());
    assert.ok(unfolded.every((r) => r !== undefined && !('platforms' in r)), 'unfolded bodies carry no platforms list');
    const fold = bodies('/folded').map((b) => b.event_data.resources?.[0]);
    assert.deepEqual(fold.map((r) => r?.digest), [indexDigest, lone.digest]);
    assert.deepEqual(fold[0]?.platforms, [
      { digest: amd.digest, os: 'linux', architecture: 'amd64' },
      { digest: arm.digest, os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    const executions = await api(w.url, 'GET', `${lib}/policies/${folded}/executions`, { auth: adminAuth });
    assert.equal((executions.json as unknown[]).length, 2, 'no executions for the folded-away manifests');
  });

  it('status filters: failures-only policies see failures, quota levels gate warnings, other types pass', async () => {
    await create('scan-failures', 'scan-failures', { event_types: ['SCANNING_COMPLETED', 'SCANNING_FAILED', 'SCANNING_STOPPED', 'PUSH_ARTIFACT'], status_filters: { scan_status: ['Error'] } });
    await create('scan-all', 'scan-all', { event_types: ['SCANNING_COMPLETED', 'SCANNING_FAILED', 'SCANNING_STOPPED'] });
    await create('repl-failures', 'repl-failures', { event_types: ['REPLICATION'], status_filters: { replication_status: ['Failed', 'Stopped'] } });
    await create('quota-90', 'quota-90', { event_types: ['QUOTA_WARNING', 'QUOTA_EXCEED'], status_filters: { quota_min_percent: 90 } });
    const p = await w.wharf.db.kysely.selectFrom('projects').selectAll().where('name', '=', 'library').executeTakeFirstOrThrow();
    const project = { id: p.id, name: p.name, public: p.public === 1 };
    const repository = { id: 1, name: 'library/filtered', creationTime: null };
    const artifact = { digest: `sha256:${'e'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, tag: 'v1', tags: ['v1'], artifactType: null };
    const events: NewEvent[] = [
      ...(['SCANNING_COMPLETED', 'SCANNING_FAILED', 'SCANNING_STOPPED'] as const).map((type): NewEvent => ({ type, operator: 'admin', project, repository, artifact, scanType: 'vulnerability', overview: {} })),
      ...['Running', 'Success', 'Error', 'Stopped'].map((job_status): NewEvent => ({ type: 'REPLICATION', operator: 'admin', project, replication: { job_status, description: job_status } })),
      { type: 'QUOTA_WARNING', operator: 'admin', project, repository, artifact, details: 'quota usage reach 85%: resource storage used 8.6 MiB of 10.0 MiB' },
      { type: 'QUOTA_WARNING', operator: 'admin', project, repository, artifact, details: 'quota usage reach 85%: resource storage used 9.3 MiB of 10.0 MiB' },
      { type: 'QUOTA_EXCEED', operator: 'admin', project, repository, artifact, details: 'adding 2.1 MiB of storage resource, which when updated to current usage of 8.3 MiB will exceed the configured upper limit of 10.0 MiB.' },
      { type: 'PUSH_ARTIFACT', operator: 'admin', project, repository, artifact },
    ];
    await w.wharf.db.kysely.transaction().execute(async (trx) => {
      const outbox = new Outbox();
      for (const e of events) await outbox.append(trx, e);
    });
    await rx.waitFor(3, 15_000, '/scan-all');
    await rx.waitFor(2, 15_000, '/repl-failures');
    await rx.waitFor(2, 15_000, '/quota-90');
    await rx.waitFor(2, 15_000, '/scan-failures');
    await sleep(settleMs);
    assert.deepEqual(bodies('/scan-all').map((b) => b.type), ['SCANNING_COMPLETED', 'SCANNING_FAILED', 'SCANNING_STOPPED']);
    assert.deepEqual(bodies('/scan-failures').map((b) => b.type), ['SCANNING_FAILED', 'PUSH_ARTIFACT'], 'a push passes: scan_status does not apply to it');
    assert.deepEqual(bodies('/repl-failures').map((b) => b.event_data.replication?.job_status), ['Error', 'Stopped']);
    assert.deepEqual(
      rx.on('/quota-90').map((r) => (jsonBody(r) as { type: string; event_data: { custom_attributes: { Details: string } } }).event_data.custom_attributes.Details), // Default quota bodies
      ['quota usage reach 85%: resource storage used 9.3 MiB of 10.0 MiB', 'adding 2.1 MiB of storage resource, which when updated to current usage of 8.3 MiB will exceed the configured upper limit of 10.0 MiB.'],
    );
  });
});
