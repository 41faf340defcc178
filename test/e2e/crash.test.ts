/**
 * Crash safety and isolation of webhook delivery, end to end: Wharf as a child process killed with
 * SIGKILL in the middle of a burst of pushes (skopeo and direct HTTP), restarted on the same data
 * folder and port; and a dead endpoint that never answers next to a healthy one.
 * Skipped when skopeo is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { adminAuth, freePort, spawnWharf, startWharf, tempDataDir, type SpawnedWharf } from '../helpers/wharf.ts';
import { header, pushDigest, startReceiver } from '../helpers/receiver.ts';
import { burstWithKill } from '../helpers/e2e.ts';
import { OciLayout, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { api, createPolicy, explain, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';

const skip = skipWithoutSkopeo();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** Every manifest the registry holds, by tag: `/v2/_catalog`, then tags, then HEAD for the digest. */
async function heldManifests(url: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const h = { authorization: adminAuth };
  const cat = await api(url, 'GET', '/v2/_catalog?n=1000', { auth: adminAuth });
  assert.equal(cat.status, 200, explain('GET', '/v2/_catalog', cat));
  const repos = (cat.json as { repositories?: string[] }).repositories ?? []; // /v2/_catalog's shape (status checked)
  for (const repo of repos) {
    const tl = await api(url, 'GET', `/v2/${repo}/tags/list?n=1000`, { auth: adminAuth });
    assert.equal(tl.status, 200, explain('GET', `/v2/${repo}/tags/list`, tl));
    // The tag list's shape (status checked); tags may be null for an empty repository.
    for (const tag of (tl.json as { tags?: string[] | null }).tags ?? []) {
      const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { ...h, accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
      });
      assert.equal(res.status, 200, `HEAD /v2/${repo}/manifests/${tag}`);
      const d = res.headers.get('docker-content-digest');
      assert.ok(d, `HEAD /v2/${repo}/manifests/${tag} has Docker-Content-Digest`);
      out.set(`${repo}:${tag}`, d);
    }
  }
  return out;
}

test('e2e: kill -9 mid-burst loses no event', { skip, timeout: 240_000 }, async (t) => {
  requireSkopeo();
  const dataDir = tempDataDir('wharf-crash-');
  const port = await freePort();
  const recv = await startReceiver();
  // Slow answers keep deliveries in flight when the process dies.
  recv.respond('/crash', { delayMs: 400 });
  let w: SpawnedWharf | undefined = await spawnWharf({ dataDir, port, env: { WHARF_LOG_LEVEL: 'warn' } });
  const layouts: OciLayout[] = [];
  try {
    const policyId = await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
      name: 'crash',
      event_types: ['PUSH_ARTIFACT'],
      // A short timeout keeps the lease of an attempt cut off by the kill short (lease = timeout + margin).
      targets: [{ type: 'http', address: `${recv.url}/crash`, payload_format: 'Default', timeout_ms: 2000 }],
    });

    // 20 pushes: 6 with skopeo, 14 over HTTP, 4 at a time; kill -9 after 10 have been acknowledged.
    type Job = { name: string; run: () => Promise<string> };
    const skopeoJobs: Job[] = [];
    const httpJobs: Job[] = [];
    for (let i = 0; i < 6; i++) {
      const layout = OciLayout.create();
      layouts.push(layout);
      const img = await writeSingleLayerImage(layout, `s${i}`);
      skopeoJobs.push({
        name: `library/burst:s${i}`,
        run: async () => {
          await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref(`s${i}`), `docker://127.0.0.1:${port}/library/burst:s${i}`], { timeoutMs: 30_000 });
          return img.manifest.digest;
        },
      });
    }
    for (let i = 0; i < 14; i++) {
      httpJobs.push({
        name: `library/burst-http:h${i}`,
        run: () => pushSmallImage(`http://127.0.0.1:${port}`, 'library/burst-http', smallImage(`crash-${i}-${Date.now()}`), { tag: `h${i}`, auth: adminAuth }),
      });
    }
    // Interleave: one skopeo push, then two or three HTTP pushes.
    const jobs: Job[] = [];
    while (skopeoJobs.length > 0 || httpJobs.length > 0) {
      const s = skopeoJobs.shift();
      if (s) jobs.push(s);
      jobs.push(...httpJobs.splice(0, skopeoJobs.length > 0 ? 2 : 3));
    }
    const wharf: SpawnedWharf = w;
    const { acked, failed, killed } = await burstWithKill(jobs, { workers: 4, killAfter: 10, kill: () => wharf.kill9() });
    assert.ok(killed, 'the kill happened');
    t.diagnostic(`acknowledged before/around the kill: ${acked.size}; failed by the kill: ${failed.length}; deliveries before restart: ${recv.requests.length}`);
    assert.ok(failed.length > 0 || acked.size < jobs.length, 'the kill interrupted the burst');

    w = await spawnWharf({ dataDir, port, env: { WHARF_LOG_LEVEL: 'warn' } });
    const held = await heldManifests(w.url);
    for (const [name, digest] of acked) assert.equal(held.get(name), digest, `acknowledged push ${name} survived the crash`);
    const want = new Set(held.values());
    assert.ok(want.size >= acked.size);

    // Wait (expired leases are claimed again after the restart) until every held digest was delivered.
    const deadline = Date.now() + 150_000;
    const delivered = () => new Set(recv.requests.map(pushDigest).filter((d): d is string => d !== null));
    while ([...want].some((d) => !delivered().has(d)) && Date.now() < deadline) await sleep(250);
    const got = delivered();
    const missing = [...held].filter(([, d]) => !got.has(d)).map(([n, d]) => `${n} ${d}`);
    assert.deepEqual(missing, [], `every manifest the registry holds was delivered (held ${held.size}, delivered ${got.size})`);

    const ids = recv.requests.filter((r) => pushDigest(r) !== null).map((r) => header(r, 'x-wharf-event-id') ?? header(r, 'webhook-id') ?? '');
    t.diagnostic(`held ${held.size} manifests; ${ids.length} deliveries, ${new Set(ids).size} distinct event ids (duplicates are allowed: at least once)`);
    assert.ok(ids.every((id) => id !== ''), 'every delivery carries its event id');

    // Attempts cut off by the kill are taken up again once their lease expires: every execution
    // ends Success (none stays Running forever).
    const execPath = `/api/v2.0/projects/library/webhook/policies/${policyId}/executions?page_size=100`;
    let statuses: string[] = [];
    const done = Date.now() + 120_000;
    for (;;) {
      const ex = await api(w.url, 'GET', execPath, { auth: adminAuth });
      assert.equal(ex.status, 200, explain('GET', execPath, ex));
      statuses = (Array.isArray(ex.json) ? ex.json : []).map((e: { status?: string }) => String(e.status));
      if (statuses.length >= want.size && statuses.every((st) => st === 'Success')) break;
      if (Date.now() > done) assert.fail(`executions did not all end Success after the restart: ${JSON.stringify(statuses)}`);
      await sleep(500);
    }
    t.diagnostic(`${statuses.length} executions, all Success; ${recv.requests.length} deliveries in all`);
  } finally {
    await recv.close();
    if (w && w.proc.exitCode === null && w.proc.signalCode === null) await w.stop();
    for (const l of layouts) l.remove();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('e2e: isolation: a dead endpoint does not delay a healthy one', { skip, timeout: 120_000 }, async (t) => {
  requireSkopeo();
  // Both endpoints on one receiver, i.e. one origin (two paths of one host, like two Slack
  // webhooks): the harder case, where a connection pool per origin could queue one behind the other.
  const recv = await startReceiver();
  recv.respond('/dead', { never: true });
  const w = await startWharf();
  // The dead target's attempts each hold a connection for this long before timing out.
  const deadTimeoutMs = 30_000;
  try {
    await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
      name: 'dead',
      event_types: ['PUSH_ARTIFACT'],
      targets: [{ type: 'http', address: `${recv.url}/dead`, payload_format: 'Default', timeout_ms: deadTimeoutMs }],
    });
    await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
      name: 'healthy',
      event_types: ['PUSH_ARTIFACT'],
      targets: [{ type: 'http', address: `${recv.url}/ok`, payload_format: 'Default' }],
    });
    // More events than any per-target or worker pool of a few slots: a queue shared with the dead
    // target would hold healthy deliveries behind attempts that only end after deadTimeoutMs.
    const n = 24;
    const t0 = Date.now();
    const pushedAt = new Map<string, number>();
    const layout = OciLayout.create();
    const img = await writeSingleLayerImage(layout, 'iso');
    await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('iso'), `docker://${w.host}/library/iso:skopeo`]);
    layout.remove();
    pushedAt.set(img.manifest.digest, Date.now());
    for (let i = 1; i < n; i++) {
      const d = await pushSmallImage(w.url, 'library/iso', smallImage(`iso-${i}-${Date.now()}`), { tag: `t${i}`, auth: adminAuth });
      pushedAt.set(d, Date.now());
    }
    // All healthy deliveries must arrive before the first dead attempt could even have timed out.
    const budget = deadTimeoutMs - (Date.now() - t0) - 1000;
    assert.ok(budget > 5000, `pushes took too long to judge isolation (${Date.now() - t0} ms)`);
    const ok = await recv.waitFor(n, budget, '/ok');
    const seen = new Set(ok.map(pushDigest));
    for (const d of pushedAt.keys()) assert.ok(seen.has(d), `healthy delivery for ${d}`);
    assert.ok(recv.on('/dead').length >= 1, 'the dead endpoint was tried (and left hanging)');
    const lat = ok.map((r) => r.receivedAt - (pushedAt.get(pushDigest(r) ?? '') ?? r.receivedAt)).sort((a, b) => a - b);
    t.diagnostic(`healthy push->delivery ms: median ${lat[Math.floor(lat.length / 2)]}, max ${lat[lat.length - 1]}; dead endpoint got ${recv.on('/dead').length} hanging requests`);
  } finally {
    // Drop the hanging connections first so shutdown does not wait for the dead attempts.
    await recv.close();
    await w.close();
  }
});
