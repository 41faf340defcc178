/**
 * End-to-end: images pushed by the real skopeo, seen and changed through Harbor's /api/v2.0 —
 * a two-platform index in the public `library`, a nested repository in a private project, a tag
 * added through the API that skopeo then reads, and deletions through the API that skopeo sees.
 * Every top-level test is named "e2e: …".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth } from '../helpers/wharf.ts';
import { useE2eWharf } from '../helpers/e2e.ts';
import { adminCreds, describeRun, skopeo, skopeoOk } from '../helpers/skopeo.ts';
import { sha256, writePlatformIndex, writeSingleLayerImage } from '../helpers/oci-layout.ts';

const { skip, wharf, layout } = useE2eWharf();
const timeout = 180_000;

const noTls = '--tls-verify=false';

function remote(repo: string, ref: string): string {
  const sep = ref.startsWith('sha256:') ? '@' : ':';
  return `docker://${wharf().host}/${repo}${sep}${ref}`;
}

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: adminAuth };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${wharf().url}/api/v2.0${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

interface Artifact {
  id: number;
  type: string;
  digest: string;
  manifest_media_type: string;
  tags: Array<{ name: string }> | null;
  references: Array<{ child_digest: string; child_id: number; platform: { architecture: string; os: string } | null }>;
  extra_attrs: Record<string, unknown>;
}

test('e2e: a multi-arch index pushed by skopeo, as Harbor’s artifact API shows it', { skip, timeout }, async () => {
  const src = layout();
  const idx = await writePlatformIndex(src, 'multi');
  await skopeoOk(['copy', '--quiet', '--all', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('multi'), remote('library/e2e-api-multi', 'multi')]);

  const list = await api('GET', '/projects/library/repositories/e2e-api-multi/artifacts');
  assert.equal(list.status, 200);
  // The untagged children are hidden from the list, as in Harbor; they are the index's references.
  assert.equal(list.headers.get('x-total-count'), '1');
  const [index] = (await list.json()) as Artifact[];
  assert.ok(index);
  assert.equal(index.digest, idx.index.digest);
  assert.equal(index.type, 'IMAGE');
  assert.equal(index.manifest_media_type, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(index.tags?.map((t) => t.name), ['multi']);
  assert.deepEqual(
    index.references.map((r) => [r.child_digest, r.platform?.architecture, r.platform?.os]),
    idx.children.map((c) => [c.manifest.digest, c.manifest.platform?.architecture, 'linux']),
  );
  for (const r of index.references) {
    assert.ok(r.child_id > 0, 'each child is an artifact of the repository');
    const child = (await (await api('GET', `/projects/library/repositories/e2e-api-multi/artifacts/${r.child_digest}`)).json()) as Artifact;
    assert.equal(child.id, r.child_id);
    assert.equal(child.extra_attrs.architecture, r.platform?.architecture);
  }
  const all = await api('GET', '/projects/library/repositories/e2e-api-multi/artifacts?q=base%3D*');
  assert.equal(all.headers.get('x-total-count'), '3');
});

test('e2e: a tag added and a repository deleted through the API, seen by skopeo', { skip, timeout }, async () => {
  assert.equal((await api('POST', '/projects', { project_name: 'e2e-team', metadata: { public: 'false' } })).status, 201);
  const src = layout();
  const img = await writeSingleLayerImage(src, 'v1');
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('v1'), remote('e2e-team/app/web', 'v1')]);

  const repo = await api('GET', '/projects/e2e-team/repositories/app%252Fweb');
  assert.equal(repo.status, 200);
  assert.equal(((await repo.json()) as { name: string; artifact_count: number }).name, 'e2e-team/app/web');

  // Private: anonymous skopeo cannot read it, nor can anonymous API calls.
  const anon = await skopeo(['inspect', '--raw', noTls, '--no-creds', remote('e2e-team/app/web', 'v1')]);
  assert.notEqual(anon.code, 0, describeRun(anon));
  assert.equal((await fetch(`${wharf().url}/api/v2.0/projects/e2e-team/repositories/app%252Fweb`)).status, 401);

  const tagged = await api('POST', '/projects/e2e-team/repositories/app%252Fweb/artifacts/v1/tags', { name: 'stable' });
  assert.equal(tagged.status, 201);
  const raw = await skopeoOk(['inspect', '--raw', noTls, '--creds', adminCreds, remote('e2e-team/app/web', 'stable')]);
  assert.equal(sha256(raw), img.manifest.digest, 'skopeo reads the tag added through the API');

  assert.equal((await api('DELETE', '/projects/e2e-team/repositories/app%252Fweb/artifacts/v1/tags/v1')).status, 200);
  const goneTag = await skopeo(['inspect', '--raw', noTls, '--creds', adminCreds, remote('e2e-team/app/web', 'v1')]);
  assert.notEqual(goneTag.code, 0, describeRun(goneTag));
  assert.match(goneTag.stderr, /manifest unknown|not found|404/i, describeRun(goneTag));

  assert.equal((await api('DELETE', '/projects/e2e-team')).status, 412, 'a project with a repository cannot be deleted');
  assert.equal((await api('DELETE', '/projects/e2e-team/repositories/app%252Fweb')).status, 200);
  const goneRepo = await skopeo(['inspect', '--raw', noTls, '--creds', adminCreds, remote('e2e-team/app/web', 'stable')]);
  assert.notEqual(goneRepo.code, 0, describeRun(goneRepo));
  assert.equal((await api('DELETE', '/projects/e2e-team')).status, 200);
});
