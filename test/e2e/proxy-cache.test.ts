/**
 * End-to-end: a proxy-cache project in front of Debian's CNCF registry, with the real skopeo on
 * both sides. Images (a multi-layer image, a two-platform index) are pushed to the CNCF registry,
 * pulled through Wharf with the same digests, and pulled again with the upstream stopped: the
 * cache serves them. Every top-level test is named "e2e: …" (.ci/run checks that they ran).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth } from '../helpers/wharf.ts';
import { useE2eWharf } from '../helpers/e2e.ts';
import { api, explain } from '../helpers/webhook-client.ts';
import { adminCreds, describeRun, skopeo, skopeoOk } from '../helpers/skopeo.ts';
import { skipWithoutCncf, startCncf, type CncfRegistry } from '../helpers/cncf-registry.ts';
import { readLayoutIndex, writeMultiLayerImage, writePlatformIndex } from '../helpers/oci-layout.ts';

let cncf: CncfRegistry | undefined;

after(async () => {
  await cncf?.remove();
});

// The upstream starts in the same hook as the project that points at it: node:test (Node 20) runs
// a file's top-level `before` hooks concurrently, so an upstream started in a hook of its own could
// still be starting when this setup ran (it then created nothing, and the pull found no project).
const e2e = useE2eWharf(async (w) => {
  if (skipWithoutCncf) return; // the tests skip
  cncf = await startCncf();
  const reg = await api(w.url, 'POST', '/api/v2.0/registries', { auth: adminAuth, body: { name: 'cncf', type: 'docker-registry', url: cncf.url, insecure: true } });
  assert.equal(reg.status, 201, explain('POST', '/registries', reg));
  const id = Number(String(reg.headers.location).split('/').pop());
  const proj = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'mirror', registry_id: id } });
  assert.equal(proj.status, 201, explain('POST', '/projects', proj));
});
const skip = e2e.skip || skipWithoutCncf;
const timeout = 240_000;

function upstream(): CncfRegistry {
  assert.ok(cncf, 'the CNCF registry did not start');
  return cncf;
}

/** Pulls `mirror/<ref>` through Wharf into a fresh layout; returns the digest its index.json names. */
async function pullThrough(ref: string, extra: string[] = []): Promise<string> {
  const out = e2e.layout();
  await skopeoOk(['copy', '--quiet', ...extra, '--src-tls-verify=false', '--src-creds', adminCreds, `docker://${e2e.wharf().host}/mirror/${ref}`, out.ref('pulled')]);
  const entries = readLayoutIndex(out.dir);
  assert.equal(entries.length, 1, JSON.stringify(entries));
  return entries[0]?.digest ?? '';
}

test('e2e: skopeo pulls through a proxy-cache project with the upstream’s digests; the cache survives the upstream going away', { skip, timeout }, async () => {
  const up = upstream();
  const src = e2e.layout();
  const img = await writeMultiLayerImage(src, 'v1', { totalMiB: 6, layers: 3 });
  const idx = await writePlatformIndex(src, 'multi');
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', src.ref('v1'), `docker://${up.host}/tools/big:v1`]);
  await skopeoOk(['copy', '--quiet', '--all', '--dest-tls-verify=false', src.ref('multi'), `docker://${up.host}/tools/multi:multi`]);

  assert.equal(await pullThrough('tools/big:v1'), img.manifest.digest, 'the image digest is the upstream’s');
  assert.equal(await pullThrough('tools/multi:multi', ['--all']), idx.index.digest, 'the index digest is the upstream’s');

  await up.stop();
  try {
    assert.equal(await pullThrough('tools/big:v1'), img.manifest.digest, 'served from the cache with the upstream stopped');
    assert.equal(await pullThrough('tools/multi:multi', ['--all']), idx.index.digest, 'the index and both children are cached');
    const r = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', adminCreds, `docker://${e2e.wharf().host}/mirror/tools/never:v1`]);
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, /manifest unknown|not found|404/i, describeRun(r));
  } finally {
    await up.restart();
  }
});
