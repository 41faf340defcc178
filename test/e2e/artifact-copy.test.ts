/**
 * End-to-end: Harbor's CopyArtifact as the real skopeo sees it. An image and a two-platform index
 * pushed with skopeo into `library` are copied through the API into another project; skopeo then
 * inspects the copies (the same digests, the same manifest bytes) and pulls the index back whole,
 * so every blob reached the destination by reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { adminAuth } from '../helpers/wharf.ts';
import { useE2eWharf } from '../helpers/e2e.ts';
import { adminCreds, skopeoOk } from '../helpers/skopeo.ts';
import { writePlatformIndex, writeSingleLayerImage } from '../helpers/oci-layout.ts';

const { skip, wharf, layout } = useE2eWharf();
const timeout = 180_000;

const remote = (repo: string, ref: string) => `docker://${wharf().host}/${repo}${ref.includes(':') ? '@' : ':'}${ref}`;

async function copyThroughApi(project: string, repo: string, from: string): Promise<string> {
  const r = await fetch(`${wharf().url}/api/v2.0/projects/${project}/repositories/${repo}/artifacts?from=${encodeURIComponent(from)}`, {
    method: 'POST',
    headers: { authorization: adminAuth },
  });
  assert.equal(r.status, 201, await r.text());
  return r.headers.get('location') ?? '';
}

test('e2e: an artifact copied through the API is what skopeo pushed', { skip, timeout }, async () => {
  const p = await fetch(`${wharf().url}/api/v2.0/projects`, {
    method: 'POST',
    headers: { authorization: adminAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ project_name: 'e2e-copy', metadata: { public: 'false' } }),
  });
  assert.equal(p.status, 201, await p.text());

  const src = layout();
  const image = await writeSingleLayerImage(src, 'v1');
  const index = await writePlatformIndex(src, 'multi');
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('v1'), remote('library/e2e-src', 'v1')]);
  await skopeoOk(['copy', '--quiet', '--all', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('multi'), remote('library/e2e-src', 'multi')]);

  // By tag: the copy carries the tag.
  assert.equal(await copyThroughApi('e2e-copy', 'app', 'library/e2e-src:v1'), '/api/v2.0/projects/e2e-copy/repositories/app/artifacts/v1');
  const inspected = JSON.parse(await skopeoOk(['inspect', '--tls-verify=false', '--creds', adminCreds, remote('e2e-copy/app', 'v1')])) as { Digest?: string };
  assert.equal(inspected.Digest, image.manifest.digest);
  const raw = await skopeoOk(['inspect', '--raw', '--tls-verify=false', '--creds', adminCreds, remote('e2e-copy/app', 'v1')]);
  assert.equal(raw, image.manifestBody.toString('utf8'));

  // By digest: an index with its children, untagged in the destination.
  await copyThroughApi('e2e-copy', 'multi', `library/e2e-src@${index.index.digest}`);
  const rawIndex = await skopeoOk(['inspect', '--raw', '--tls-verify=false', '--creds', adminCreds, remote('e2e-copy/multi', index.index.digest)]);
  assert.equal(`sha256:${createHash('sha256').update(rawIndex).digest('hex')}`, index.index.digest);
  for (const child of index.children) {
    const c = await skopeoOk(['inspect', '--raw', '--tls-verify=false', '--creds', adminCreds, remote('e2e-copy/multi', child.manifest.digest)]);
    assert.equal(c, child.manifestBody.toString('utf8'));
  }
  // Every blob of every platform comes back from the destination.
  const out = layout();
  await skopeoOk(['copy', '--quiet', '--all', '--src-tls-verify=false', '--src-creds', adminCreds, remote('e2e-copy/multi', index.index.digest), out.ref('pulled')]);
  for (const child of index.children) {
    for (const l of child.layers) assert.deepEqual(out.readBlob(l.digest), src.readBlob(l.digest));
  }
});
