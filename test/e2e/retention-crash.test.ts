/**
 * End-to-end: kill -9 in the middle of a real tag retention run. `wharf serve` runs as a child
 * process; 3 repositories of 60 small artifacts each (pushed over /v2, in a known order) get a
 * policy keeping the 5 most recently pushed (every third artifact is a two-platform index); the
 * process is killed as soon as the first deletions show in the artifact counts, and restarted on
 * the same data folder (and database). Then every artifact is either whole (manifest served, its
 * tag listed by the API and by `skopeo list-tags`, an index's platform manifests served) or wholly
 * gone (404 by digest and by tag, no tag left anywhere, an index's platform manifests gone too),
 * and the run's reclaimed tasks, or a rerun, finish the work: exactly the 5 newest of each
 * repository are left.
 * Skipped when skopeo is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dropDatabaseOf } from '../helpers/db.ts';
import { adminAuth, freePort, spawnWharf, tempDataDir, type SpawnedWharf } from '../helpers/wharf.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { api, explain, pushBlob, putManifest, smallImage } from '../helpers/webhook-client.ts';
import { sha256 } from '../helpers/oci-layout.ts';
import { createRetention, executionTasks, rule, startRetentionRun, waitForExecution } from '../helpers/retention.ts';

const skip = skipWithoutSkopeo();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const project = 'crash';
const repos = ['r0', 'r1', 'r2'];
const perRepo = 60;
const keep = 5;
/**
 * The killed run's task is claimed again once its lease expires: at least 20 s after the kill (a
 * lease is renewed every third of it), time enough to restart and check its repository before
 * anything changes it again (that took up to 10 s next to another test file on 2 cores).
 */
const env = { WHARF_LOG_LEVEL: 'warn', WHARF_JOBS__LEASE_SECONDS: '30', WHARF_JOBS__POLL_MS: '200' };

/**
 * Artifact `i` of a repository: its tag is `v<i>`; every third (v0, v3, …, v57, which is kept) is
 * a two-platform index, so that the kill often lands between an index's deletion and its platform
 * manifests'.
 */
interface Item {
  i: number;
  digest: string;
  manifest: Buffer;
  mediaType: string;
  /** An index's platform manifests (pushed by digest before it). */
  children: Array<{ digest: string; manifest: Buffer }>;
}

const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const ociIndex = 'application/vnd.oci.image.index.v1+json';
const arm64 = { architecture: 'arm64', os: 'linux' };

/** The data set of one repository, all sharing the layer blob and the two config blobs. */
function itemsOf(repo: string): Item[] {
  const name = `${project}/${repo}`;
  return Array.from({ length: perRepo }, (_, i): Item => {
    if (i % 3 !== 0) {
      const img = smallImage(`${name}-${i}`, name);
      return { i, digest: img.digest, manifest: img.manifest, mediaType: ociManifest, children: [] };
    }
    const kids = [smallImage(`${name}-${i}-amd64`, name), smallImage(`${name}-${i}-arm64`, name, arm64)];
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: ociIndex,
        manifests: kids.map((k, n) => ({ mediaType: ociManifest, digest: k.digest, size: k.manifest.length, platform: n === 0 ? { architecture: 'amd64', os: 'linux' } : arm64 })),
      }),
    );
    return { i, digest: sha256(manifest), manifest, mediaType: ociIndex, children: kids.map((k) => ({ digest: k.digest, manifest: k.manifest })) };
  });
}

const data = new Map(repos.map((r) => [r, itemsOf(r)]));

/** The artifact count of a repository (`X-Total-Count` of its artifact list). */
async function count(url: string, repo: string): Promise<number> {
  const path = `/api/v2.0/projects/${project}/repositories/${repo}/artifacts?page_size=1`;
  const a = await api(url, 'GET', path, { auth: adminAuth });
  assert.equal(a.status, 200, explain('GET', path, a));
  return Number(a.headers['x-total-count']);
}

/** What {@link consistent} found: the present artifacts' numbers per repository, and the platform manifests left behind by a deleted index. */
interface Found {
  present: Map<string, number[]>;
  orphans: string[];
}

/**
 * Asserts that every artifact of the data set is whole or gone, and returns what is present.
 * Whole: GET by digest 200, GET by its tag answers that digest, the API lists it with exactly its
 * tag, an index's platform manifests are served. Gone: GET by digest and by tag 404, not listed.
 * The API list and `skopeo list-tags` hold nothing else. The platform manifests of a deleted index
 * are deleted after it, in a transaction of their own: those still served are returned as
 * `orphans` (the caller decides whether any may be left).
 */
async function consistent(url: string, host: string, which: readonly string[] = repos): Promise<Found> {
  const present = new Map<string, number[]>();
  const orphans: string[] = [];
  const accept = `${ociManifest}, ${ociIndex}`;
  const get = async (repo: string, ref: string) => {
    const res = await fetch(`${url}/v2/${project}/${repo}/manifests/${ref}`, { headers: { authorization: adminAuth, accept } });
    const body = await res.text();
    return { status: res.status, digest: res.headers.get('docker-content-digest'), body };
  };
  for (const repo of which) {
    const path = `/api/v2.0/projects/${project}/repositories/${repo}/artifacts?with_tag=true&page_size=100`;
    const a = await api(url, 'GET', path, { auth: adminAuth });
    assert.equal(a.status, 200, explain('GET', path, a));
    // The documented artifact list (status checked).
    const listed = new Map((a.json as Array<{ digest: string; tags: Array<{ name: string }> | null }>).map((x) => [x.digest, (x.tags ?? []).map((t) => t.name).sort()]));
    const here: number[] = [];
    const problems: string[] = [];
    // All reads at once: the check must end well before the killed task's lease expires.
    const reads = await Promise.all(
      (data.get(repo) ?? []).map(async (item) => ({
        item,
        byDigest: await get(repo, item.digest),
        byTag: await get(repo, `v${item.i}`),
        children: await Promise.all(item.children.map(async (c) => ({ digest: c.digest, status: (await get(repo, c.digest)).status }))),
      })),
    );
    for (const { item, byDigest, byTag, children } of reads) {
      const v = `v${item.i}`;
      const tags = listed.get(item.digest);
      listed.delete(item.digest);
      if (byDigest.status === 200) {
        here.push(item.i);
        if (byTag.status !== 200 || byTag.digest !== item.digest) problems.push(`${v}: artifact present but its tag answers ${byTag.status} ${byTag.digest}`);
        if (JSON.stringify(tags) !== JSON.stringify([v])) problems.push(`${v}: artifact present but listed with tags ${JSON.stringify(tags)}`);
        for (const c of children) if (c.status !== 200) problems.push(`${v}: index present but its platform manifest ${c.digest} answers ${c.status}`);
      } else {
        if (byDigest.status !== 404) problems.push(`${v}: GET by digest ${byDigest.status} ${byDigest.body.slice(0, 200)}`);
        if (byTag.status !== 404) problems.push(`${v}: artifact gone but its tag answers ${byTag.status} (dangling tag)`);
        if (tags !== undefined) problems.push(`${v}: artifact gone but listed with tags ${JSON.stringify(tags)}`);
        for (const c of children) {
          if (c.status === 200) orphans.push(`${repo}:${v} child ${c.digest}`);
          else if (c.status !== 404) problems.push(`${v}: platform manifest ${c.digest} answers ${c.status}`);
          // A platform manifest left behind is listed as an untagged artifact.
          if (JSON.stringify(listed.get(c.digest) ?? []) !== '[]') problems.push(`${v}: platform manifest ${c.digest} listed with tags`);
          listed.delete(c.digest);
        }
      }
    }
    for (const [d, tags] of listed) problems.push(`listed but not pushed: ${d} ${JSON.stringify(tags)}`);
    // The real client's view of the tags: exactly those of the present artifacts.
    const lt: unknown = JSON.parse(await skopeoOk(['list-tags', '--tls-verify=false', '--creds', adminCreds, `docker://${host}/${project}/${repo}`]));
    const skopeoTags = ((lt as { Tags?: string[] | null }).Tags ?? []).slice().sort(); // skopeo list-tags output
    const wantTags = here.map((i) => `v${i}`).sort();
    if (JSON.stringify(skopeoTags) !== JSON.stringify(wantTags)) problems.push(`skopeo list-tags ${JSON.stringify(skopeoTags)} != ${JSON.stringify(wantTags)}`);
    assert.deepEqual(problems, [], `${project}/${repo} is consistent`);
    present.set(repo, here);
  }
  return { present, orphans };
}

test('e2e: kill -9 in the middle of a retention run leaves whole artifacts, and the work finishes', { skip, timeout: 240_000 }, async (t) => {
  requireSkopeo();
  const dataDir = tempDataDir('wharf-retention-crash-');
  const port = await freePort();
  let w: SpawnedWharf | undefined = await spawnWharf({ dataDir, port, env });
  try {
    const created = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: project, metadata: { public: 'true' } } });
    assert.equal(created.status, 201, explain('POST', '/api/v2.0/projects', created));
    const projectId = Number(String(created.headers.location).split('/').pop());

    // 3 × 60 artifacts sharing their blobs, pushed one after another with a pause so that no two
    // share a push time (Wharf keeps milliseconds): v59 is the newest of each repository.
    for (const repo of repos) {
      const name = `${project}/${repo}`;
      const first = smallImage(`${name}-0`, name);
      await pushBlob(w.url, name, first.layer, adminAuth);
      await pushBlob(w.url, name, first.config, adminAuth);
      await pushBlob(w.url, name, smallImage(`${name}-arm64`, name, arm64).config, adminAuth);
      for (const item of data.get(repo) ?? []) {
        for (const c of item.children) await putManifest(w.url, name, c.digest, c.manifest, { auth: adminAuth });
        const d = await putManifest(w.url, name, `v${item.i}`, item.manifest, { auth: adminAuth, mediaType: item.mediaType });
        assert.equal(d, item.digest);
        await sleep(2);
      }
    }
    const total = repos.length * perRepo;
    const policyId = await createRetention(w.url, projectId, [rule({ template: 'latestPushedK', n: keep })]);

    const eid = await startRetentionRun(w.url, policyId, false);
    // Kill as soon as the first deletions show.
    let seen = total;
    const t0 = Date.now();
    for (;;) {
      const url: string = w.url;
      seen = (await Promise.all(repos.map((r) => count(url, r)))).reduce((a, b) => a + b, 0);
      if (seen < total) break;
      if (Date.now() - t0 > 60_000) assert.fail('no deletion within 60 s of starting the run');
    }
    await w.kill9();
    const killedAt = Date.now();
    t.diagnostic(`killed with ${seen} of ${total} artifacts left (${repos.length * keep} to keep)`);

    w = await spawnWharf({ dataDir, port, env });
    const url = w.url;
    const restartedAt = Date.now();
    // The task the kill cut off keeps its dead lease for a while, so its repository stays as the
    // kill left it: check that one now. (Tasks still Pending at the kill run at once after the
    // restart; their repositories are checked with the rest at the end.)
    const cut = (await executionTasks(url, policyId, eid)).filter((x) => x.status === 'Running' && Date.parse(x.start_time) < killedAt);
    assert.equal(cut.length, 1, `the kill cut one task off (${seen} artifacts were left when it came); the run was too fast for this test`);
    const cutRepo = cut[0]?.repository ?? '';
    const before = await count(url, cutRepo);
    const afterCrash = await consistent(url, w.host, [cutRepo]);
    t.diagnostic(`restarted ${restartedAt - killedAt} ms after the kill; ${cutRepo} checked ${Date.now() - killedAt} ms after it`);
    assert.equal(await count(url, cutRepo), before, `nothing changed in ${cutRepo} while it was checked (the lease expired too early for this check)`);
    const present = afterCrash.present.get(cutRepo) ?? [];
    // An index deleted just before the kill may have left its platform manifests for the reclaimed task.
    t.diagnostic(`after the restart: ${present.length} artifacts in ${cutRepo}; platform manifests left by a deleted index: ${JSON.stringify(afterCrash.orphans)}`);
    for (let i = perRepo - keep; i < perRepo; i++) assert.ok(present.includes(i), `${cutRepo}:v${i} (kept by the policy) survived the crash`);

    // The killed run's tasks are claimed again once their lease expires.
    const ex = await waitForExecution(w.url, policyId, eid, 90_000);
    const tasks = await executionTasks(w.url, policyId, eid);
    t.diagnostic(`the killed run ended ${ex.status}; tasks: ${tasks.map((x) => `${x.repository} ${x.status} ${x.total}/${x.retained}`).join(', ')}`);
    let left = await consistent(w.url, w.host);
    const want = new Map(repos.map((r) => [r, Array.from({ length: keep }, (_, k) => perRepo - keep + k)]));
    if (ex.status !== 'Success') {
      // The reclaimed run gave up: a rerun must finish the work.
      const rerun = await startRetentionRun(w.url, policyId, false);
      assert.equal((await waitForExecution(w.url, policyId, rerun, 90_000)).status, 'Success', 'the rerun succeeds');
      left = await consistent(w.url, w.host);
    }
    assert.deepEqual(left, { present: want, orphans: [] }, 'exactly the 5 newest artifacts of each repository are left, with v57’s platform manifests');

    // A rerun on the finished work deletes nothing more.
    const again = await startRetentionRun(w.url, policyId, false);
    assert.equal((await waitForExecution(w.url, policyId, again)).status, 'Success');
    const againTasks = await executionTasks(w.url, policyId, again);
    assert.deepEqual(
      againTasks.map((x) => [x.repository, x.status, x.total, x.retained]).sort(),
      repos.map((r) => [r, 'Success', keep, keep]),
      'a rerun finds only the kept artifacts',
    );
    assert.deepEqual(await consistent(w.url, w.host), { present: want, orphans: [] });

    // Last, so that the checks above run either way: the crash split no deletion (design: each
    // deletion is whole), so no deleted index left its platform manifests behind.
    assert.deepEqual(afterCrash.orphans, [], 'right after the restart, no platform manifest outlived its deleted index');
  } finally {
    if (w && w.proc.exitCode === null && w.proc.signalCode === null) await w.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await dropDatabaseOf(dataDir);
  }
});
