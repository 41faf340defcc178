/**
 * End-to-end: the real skopeo against a real Wharf on a loopback port. Images are built as OCI
 * layouts on disk (test/helpers/oci-layout.ts), pushed with `skopeo copy oci:… docker://…`, pulled
 * back into fresh layouts, and compared by manifest digest. Every top-level test is named "e2e: …"
 * (.ci/run checks that they ran and were not skipped).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { adminAuth } from '../helpers/wharf.ts';
import { useE2eWharf } from '../helpers/e2e.ts';
import { adminCreds, describeRun, skopeo, skopeoOk } from '../helpers/skopeo.ts';
import {
  OciLayout,
  readLayoutIndex,
  sha256,
  testArtifactType,
  writeArtifact,
  writeMultiLayerImage,
  writePlatformIndex,
  writeSingleLayerImage,
} from '../helpers/oci-layout.ts';

const { skip, wharf, layout } = useE2eWharf();
const timeout = 180_000;

const noTls = '--tls-verify=false';

/** `docker://127.0.0.1:PORT/library/<repo>:<tag>` (or `@digest`). */
function remote(repo: string, ref: string): string {
  const sep = ref.startsWith('sha256:') ? '@' : ':';
  return `docker://${wharf().host}/library/${repo}${sep}${ref}`;
}

async function push(src: OciLayout, tag: string, repo: string, extra: string[] = []): Promise<void> {
  await skopeoOk(['copy', '--quiet', ...extra, '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref(tag), remote(repo, tag)]);
}

/** Pulls into a fresh layout (anonymously: `library` is public) and returns the digest index.json names. */
async function pull(repo: string, ref: string, extra: string[] = []): Promise<{ out: OciLayout; digest: string }> {
  const out = layout();
  await skopeoOk(['copy', '--quiet', ...extra, '--src-tls-verify=false', '--src-no-creds', remote(repo, ref), out.ref('pulled')]);
  const entries = readLayoutIndex(out.dir);
  assert.equal(entries.length, 1, `one entry in the pulled index.json: ${JSON.stringify(entries)}`);
  const digest = entries[0]?.digest;
  assert.ok(digest, 'the pulled index.json entry has a digest');
  return { out, digest };
}

/** `skopeo inspect --raw`: the exact manifest bytes as served. */
async function rawManifest(repo: string, ref: string): Promise<string> {
  return skopeoOk(['inspect', '--raw', noTls, '--creds', adminCreds, remote(repo, ref)]);
}

/** True when skopeo can no longer read the manifest; asserts the failure is a "not found". */
async function assertGone(repo: string, ref: string): Promise<void> {
  const r = await skopeo(['inspect', '--raw', noTls, '--creds', adminCreds, remote(repo, ref)]);
  assert.notEqual(r.code, 0, `expected ${ref} to be gone:\n${describeRun(r)}`);
  assert.match(r.stderr, /manifest unknown|not found|404/i, describeRun(r));
}

test('e2e: one-layer image: push, inspect, pull back with the same digest', { skip, timeout }, async () => {
  const src = layout();
  const img = await writeSingleLayerImage(src, 'v1');
  await push(src, 'v1', 'e2e-one');

  const raw = await rawManifest('e2e-one', 'v1');
  assert.equal(sha256(raw), img.manifest.digest, 'skopeo inspect --raw returns the pushed bytes');
  assert.equal(raw, img.manifestBody.toString());

  const info: unknown = JSON.parse(await skopeoOk(['inspect', noTls, '--no-creds', remote('e2e-one', 'v1')]));
  assert.ok(typeof info === 'object' && info !== null);
  assert.deepEqual(
    { Digest: Reflect.get(info, 'Digest'), Architecture: Reflect.get(info, 'Architecture'), Os: Reflect.get(info, 'Os'), Layers: Reflect.get(info, 'Layers') },
    { Digest: img.manifest.digest, Architecture: 'amd64', Os: 'linux', Layers: img.layers.map((l) => l.digest) },
  );
  assert.deepEqual(Reflect.get(info, 'RepoTags'), ['v1']);

  const { out, digest } = await pull('e2e-one', 'v1');
  assert.equal(digest, img.manifest.digest, 'the pulled manifest digest equals the original');
  for (const d of [img.config, ...img.layers]) {
    assert.ok(existsSync(out.blobPath(d.digest)), `blob ${d.digest} was pulled`);
    assert.equal(sha256(out.readBlob(d.digest)), d.digest);
  }
});

test('e2e: multi-layer image of 30 MiB round trip', { skip, timeout }, async () => {
  const src = layout();
  const img = await writeMultiLayerImage(src, 'big', { totalMiB: 30, layers: 3 });
  assert.equal(img.layers.length, 3);
  await push(src, 'big', 'e2e-big');
  assert.equal(sha256(await rawManifest('e2e-big', 'big')), img.manifest.digest);

  const { out, digest } = await pull('e2e-big', 'big');
  assert.equal(digest, img.manifest.digest);
  for (const l of img.layers) {
    assert.equal(sha256(out.readBlob(l.digest)), l.digest, `layer ${l.digest} came back intact`);
    assert.equal(out.readBlob(l.digest).length, l.size);
  }
  // Pulling by digest gives the same manifest.
  const byDigest = await pull('e2e-big', img.manifest.digest);
  assert.equal(byDigest.digest, img.manifest.digest);
});

test('e2e: two-platform index round trip (--all / --multi-arch all)', { skip, timeout }, async () => {
  const src = layout();
  const idx = await writePlatformIndex(src, 'multi');
  await push(src, 'multi', 'e2e-multi', ['--all']);

  const raw = await rawManifest('e2e-multi', 'multi');
  assert.equal(sha256(raw), idx.index.digest, 'the index is served byte for byte');
  for (const c of idx.children) {
    assert.equal(sha256(await rawManifest('e2e-multi', c.manifest.digest)), c.manifest.digest, `child ${c.manifest.platform?.architecture} by digest`);
  }

  const { out, digest } = await pull('e2e-multi', 'multi', ['--multi-arch', 'all']);
  assert.equal(digest, idx.index.digest, 'the pulled index digest equals the original');
  for (const c of idx.children) {
    assert.equal(sha256(out.readBlob(c.manifest.digest)), c.manifest.digest, `child manifest ${c.manifest.digest} pulled`);
    for (const l of c.layers) assert.ok(existsSync(out.blobPath(l.digest)), `child layer ${l.digest} pulled`);
  }
});

test('e2e: OCI artifact with a subject round trip, listed by the referrers API', { skip, timeout }, async () => {
  const src = layout();
  const img = await writeSingleLayerImage(src, 'app');
  const art = writeArtifact(src, img.manifest, 'app-sbom');
  await push(src, 'app', 'e2e-artifact');
  // skopeo pushes an artifact manifest (with artifactType and subject) like any image: as its own tag.
  await push(src, 'app-sbom', 'e2e-artifact');

  assert.equal(sha256(await rawManifest('e2e-artifact', 'app-sbom')), art.manifest.digest);
  const { out, digest } = await pull('e2e-artifact', 'app-sbom');
  assert.equal(digest, art.manifest.digest, 'the pulled artifact digest equals the original');
  for (const b of art.blobs) assert.deepEqual(out.readBlob(b.descriptor.digest), b.data);

  const res = await fetch(`${wharf().url}/v2/library/e2e-artifact/referrers/${img.manifest.digest}`, { headers: { authorization: adminAuth } });
  const text = await res.text();
  assert.equal(res.status, 200, `GET referrers: ${text}`);
  const index: unknown = JSON.parse(text);
  const manifests: unknown = typeof index === 'object' && index !== null ? Reflect.get(index, 'manifests') : undefined;
  assert.ok(Array.isArray(manifests), text);
  assert.deepEqual(
    manifests.map((m: unknown) => (typeof m === 'object' && m !== null ? [Reflect.get(m, 'digest'), Reflect.get(m, 'artifactType')] : m)),
    [[art.manifest.digest, testArtifactType]],
  );
});

test('e2e: skopeo copy between repositories mounts the layers instead of uploading them', { skip, timeout }, async () => {
  const src = layout();
  const img = await writeSingleLayerImage(src, 'm');
  await push(src, 'm', 'e2e-mount-src');
  const r = await skopeo([
    '--debug',
    'copy',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    '--src-creds',
    adminCreds,
    '--dest-creds',
    adminCreds,
    remote('e2e-mount-src', 'm'),
    remote('e2e-mount-dst', 'm'),
  ]);
  assert.equal(r.code, 0, describeRun(r));
  assert.equal(sha256(await rawManifest('e2e-mount-dst', 'm')), img.manifest.digest);
  // containers/image tries POST /v2/<dst>/blobs/uploads/?mount=<digest>&from=<src> for blobs it has
  // seen in the source repository, and logs "mount OK" when the registry answers 201.
  const layerHex = img.layers[0]?.digest.replace('sha256:', '') ?? 'none';
  assert.match(r.stderr, new RegExp(`mount=sha256%3A${layerHex}`), 'skopeo tried a cross-repository mount of the layer');
  assert.match(r.stderr, /mount OK/, 'the mount succeeded');
  assert.doesNotMatch(r.stderr, new RegExp(`PUT [^"]*/blobs/uploads/[^"]*digest=sha256%3A${layerHex}`), 'the layer was not uploaded again');
});

test('e2e: skopeo list-tags', { skip, timeout }, async () => {
  const src = layout();
  await writeSingleLayerImage(src, 'b');
  await writeSingleLayerImage(src, 'a');
  await push(src, 'b', 'e2e-tags');
  await push(src, 'a', 'e2e-tags');
  const listed: unknown = JSON.parse(await skopeoOk(['list-tags', noTls, '--no-creds', `docker://${wharf().host}/library/e2e-tags`]));
  assert.ok(typeof listed === 'object' && listed !== null);
  assert.equal(Reflect.get(listed, 'Repository'), `${wharf().host}/library/e2e-tags`);
  assert.deepEqual(Reflect.get(listed, 'Tags'), ['a', 'b']);
});

test('e2e: skopeo delete by digest removes the manifest and its tags', { skip, timeout }, async () => {
  const src = layout();
  const img = await writeSingleLayerImage(src, 'gone');
  await push(src, 'gone', 'e2e-delete-digest');
  await skopeoOk(['delete', noTls, '--creds', adminCreds, remote('e2e-delete-digest', img.manifest.digest)]);
  await assertGone('e2e-delete-digest', img.manifest.digest);
  await assertGone('e2e-delete-digest', 'gone');
});

test('e2e: skopeo delete by tag, and a tag-only DELETE over HTTP', { skip, timeout }, async () => {
  const src = layout();
  const img = await writeSingleLayerImage(src, 'one');
  src.tag('two', img.manifest);
  src.tag('three', img.manifest);
  for (const t of ['one', 'two', 'three']) await push(src, t, 'e2e-delete-tag');

  // DELETE /v2/<name>/manifests/<tag> removes only that tag (src/api/oci/manifests.ts, docs/registry.md).
  const res = await fetch(`${wharf().url}/v2/library/e2e-delete-tag/manifests/three`, { method: 'DELETE', headers: { authorization: adminAuth } });
  assert.equal(res.status, 202, `DELETE manifests/three: ${await res.text()}`);
  await assertGone('e2e-delete-tag', 'three');
  assert.equal(sha256(await rawManifest('e2e-delete-tag', 'one')), img.manifest.digest, 'the other tags stay');

  // skopeo delete docker://…:tag resolves the tag (GET, Docker-Content-Digest) and deletes by
  // digest, as containers/image does: the manifest goes, with every tag naming it.
  await skopeoOk(['delete', noTls, '--creds', adminCreds, remote('e2e-delete-tag', 'one')]);
  await assertGone('e2e-delete-tag', 'one');
  await assertGone('e2e-delete-tag', 'two');
  await assertGone('e2e-delete-tag', img.manifest.digest);
});

test('e2e: push needs valid credentials', { skip, timeout }, async () => {
  const src = layout();
  await writeSingleLayerImage(src, 'denied');
  const target = remote('e2e-auth', 'denied');

  const anonymous = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-no-creds', src.ref('denied'), target]);
  assert.notEqual(anonymous.code, 0, `anonymous push must fail:\n${describeRun(anonymous)}`);
  assert.match(anonymous.stderr, /unauthorized|authentication required|denied|401|403/i, describeRun(anonymous));

  const wrong = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', 'admin:not-the-password', src.ref('denied'), target]);
  assert.notEqual(wrong.code, 0, `push with a wrong password must fail:\n${describeRun(wrong)}`);
  assert.match(wrong.stderr, /unauthorized|authentication required|invalid username or password|401/i, describeRun(wrong));

  const unknownUser = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', 'nobody:Harbor12345', src.ref('denied'), target]);
  assert.notEqual(unknownUser.code, 0, `push as an unknown user must fail:\n${describeRun(unknownUser)}`);

  await assertGone('e2e-auth', 'denied');
  // And the same push with the right credentials works, so the failures above were about credentials.
  await push(src, 'denied', 'e2e-auth');
});

test('e2e: anonymous pull from the public library project', { skip, timeout }, async () => {
  const src = layout();
  const img = await writeSingleLayerImage(src, 'public');
  await push(src, 'public', 'e2e-anonymous');
  const raw = await skopeoOk(['inspect', '--raw', noTls, '--no-creds', remote('e2e-anonymous', 'public')]);
  assert.equal(sha256(raw), img.manifest.digest);
  const { digest } = await pull('e2e-anonymous', 'public');
  assert.equal(digest, img.manifest.digest);
  // Deleting needs credentials even where pulling does not.
  const del = await skopeo(['delete', noTls, '--no-creds', remote('e2e-anonymous', img.manifest.digest)]);
  assert.notEqual(del.code, 0, `anonymous delete must fail:\n${describeRun(del)}`);
  assert.equal(sha256(await rawManifest('e2e-anonymous', 'public')), img.manifest.digest, 'still there');
});
