/**
 * Copying artifacts over real HTTP (Harbor's CopyArtifact, src/registry/artifact-copy.ts): by tag
 * and by digest, an index with its children, between projects; the copy is a push of the
 * destination (CREATE_REPOSITORY, PUSH_ARTIFACT per manifest, CREATE_TAG in the outbox), links the
 * blobs by reference, counts the destination's quota and refuses an immutable tag with the push's
 * message, leaving nothing behind; bad `from`, unknown sources and missing permissions are refused
 * with Harbor's statuses.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, pushBlob, pushSmallImage, putManifest, smallImage, type ApiAnswer } from '../helpers/webhook-client.ts';
import { sha256 } from '../helpers/oci-layout.ts';

let w: TestWharf;
const password = 'Passw0rdCopy';
const basic = (u: string) => 'Basic ' + Buffer.from(`${u}:${password}`).toString('base64');
const imgA = smallImage('copy-a');
const imgB = smallImage('copy-b', 'copy-b', { architecture: 'arm64', os: 'linux' });
const indexType = 'application/vnd.oci.image.index.v1+json';
const index = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: indexType,
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: imgA.digest, size: imgA.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: imgB.digest, size: imgB.manifest.length, platform: { architecture: 'arm64', os: 'linux' } },
    ],
  }),
);
const indexDigest = sha256(index);
/** An SBOM-like accessory of imgA: an OCI artifact manifest whose subject is imgA. */
const sbomLayer = Buffer.from('{"sbom":"copy-a"}');
const emptyConfig = Buffer.from('{}');
const sbom = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.example.sbom+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(emptyConfig), size: emptyConfig.length },
    layers: [{ mediaType: 'application/vnd.example.sbom+json', digest: sha256(sbomLayer), size: sbomLayer.length }],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: imgA.digest, size: imgA.manifest.length },
  }),
);
const sbomDigest = sha256(sbom);

/** A parsed JSON body typed as the test reads it. */
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, body?: unknown, auth = adminAuth): Promise<ApiAnswer> {
  const a = await api(w.url, method, `/api/v2.0${path}`, { auth, ...(body === undefined ? {} : { body }) });
  assert.equal(a.status, status, explain(method, path, a));
  return a;
}

/** The one error of a Harbor error body, as [code, message]. */
function error(a: ApiAnswer): [string, string] {
  const e = shape<{ errors: Array<{ code: string; message: string }> }>(a.json).errors;
  assert.equal(e.length, 1, a.text);
  return [e[0]?.code ?? '', e[0]?.message ?? ''];
}

const copyPath = (project: string, repo: string, from: string) => `/projects/${project}/repositories/${encodeURIComponent(repo)}/artifacts?from=${encodeURIComponent(from)}`;

/** Events of a type recorded for a repository, oldest first: [artifact digest, tag]. */
async function events(type: string, repository: string): Promise<Array<[string, string | null]>> {
  const rows = await w.wharf.db.kysely.selectFrom('events').select(['data']).where('type', '=', type).orderBy('seq').execute();
  return rows
    .map((r) => shape<{ repository?: { name: string }; artifact?: { digest: string; tag: string | null } }>(JSON.parse(r.data)))
    .filter((d) => d.repository?.name === repository)
    .map((d) => [d.artifact?.digest ?? '', d.artifact?.tag ?? null]);
}

async function blobsLinked(repository: string): Promise<string[]> {
  const rows = await w.wharf.db.kysely
    .selectFrom('repository_blobs')
    .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
    .select('repository_blobs.digest')
    .where('repositories.name', '=', repository)
    .orderBy('repository_blobs.digest')
    .execute();
  return rows.map((r) => r.digest);
}

before(async () => {
  w = await startWharf();
  await call('POST', '/projects', 201, { project_name: 'csrc', metadata: { public: 'false' } });
  await call('POST', '/projects', 201, { project_name: 'cdst', metadata: { public: 'false' } });
  for (const [username, project, role] of [['c-dev', 'cdst', 2], ['c-guest', 'cdst', 3], ['c-dev', 'csrc', 3]] as const) {
    if (project === 'cdst') await call('POST', '/users', 201, { username, password, email: `${username}@example.com`, realname: username });
    await call('POST', `/projects/${project}/members`, 201, { role_id: role, member_user: { username } });
  }
  await call('POST', '/users', 201, { username: 'c-outsider', password, email: 'c-outsider@example.com', realname: 'o' });
  await call('POST', '/projects/cdst/members', 201, { role_id: 2, member_user: { username: 'c-outsider' } });
  await pushSmallImage(w.url, 'csrc/app', imgA, { tag: 'v1', auth: adminAuth });
  await pushBlob(w.url, 'csrc/app', sbomLayer, adminAuth);
  await pushBlob(w.url, 'csrc/app', emptyConfig, adminAuth);
  await putManifest(w.url, 'csrc/app', sbomDigest, sbom, { auth: adminAuth });
  await pushSmallImage(w.url, 'csrc/multi', imgA, { auth: adminAuth });
  await pushSmallImage(w.url, 'csrc/multi', imgB, { auth: adminAuth });
  await putManifest(w.url, 'csrc/multi', 'all', index, { auth: adminAuth, mediaType: indexType });
});

after(async () => {
  await w.close();
});

describe('copying an artifact', () => {
  it('copies by tag into a new repository of another project, as a push with the tag, with its accessories', async () => {
    const a = await call('POST', copyPath('cdst', 'app', 'csrc/app:v1'), 201, undefined, basic('c-dev'));
    assert.equal(a.headers.location, '/api/v2.0/projects/cdst/repositories/app/artifacts/v1');
    const art = shape<{ digest: string; tags: Array<{ name: string }> }>((await call('GET', '/projects/cdst/repositories/app/artifacts/v1', 200)).json);
    assert.deepEqual([art.digest, art.tags.map((t) => t.name)], [imgA.digest, ['v1']]);
    // The same bytes over /v2, and the blobs linked by reference (the same digests, nothing uploaded).
    const m = await fetch(`${w.url}/v2/cdst/app/manifests/v1`, { headers: { authorization: adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 200);
    assert.deepEqual(Buffer.from(await m.arrayBuffer()), imgA.manifest);
    const layer = await fetch(`${w.url}/v2/cdst/app/blobs/${sha256(imgA.layer)}`, { headers: { authorization: adminAuth } });
    assert.deepEqual(Buffer.from(await layer.arrayBuffer()), imgA.layer);
    assert.deepEqual(await blobsLinked('cdst/app'), [imgA.digest, sha256(imgA.config), sha256(imgA.layer), sbomDigest, sha256(sbomLayer), sha256(emptyConfig)].sort());
    // The accessory came along: the referrers API and the artifact's accessories list it.
    const referrers = await fetch(`${w.url}/v2/cdst/app/referrers/${imgA.digest}`, { headers: { authorization: adminAuth } });
    assert.deepEqual(shape<{ manifests: Array<{ digest: string }> }>(await referrers.json()).manifests.map((m) => m.digest), [sbomDigest]);
    const withAcc = shape<{ accessories: Array<{ digest: string }> }>((await call('GET', '/projects/cdst/repositories/app/artifacts/v1?with_accessory=true', 200)).json);
    assert.deepEqual(withAcc.accessories.map((x) => x.digest), [sbomDigest]);
    // Events of a push by c-dev: the artifact with its tag, then its accessory.
    assert.deepEqual(await events('PUSH_ARTIFACT', 'cdst/app'), [
      [imgA.digest, 'v1'],
      [sbomDigest, null],
    ]);
    assert.deepEqual(await events('CREATE_TAG', 'cdst/app'), [[imgA.digest, 'v1']]);
    const created = await w.wharf.db.kysely.selectFrom('events').select(['operator']).where('type', '=', 'CREATE_REPOSITORY').where('data', 'like', '%"cdst/app"%').execute();
    assert.deepEqual(created, [{ operator: 'c-dev' }]);
    // The source is untouched and no pull was recorded for it.
    assert.deepEqual(await events('PULL_ARTIFACT', 'csrc/app'), []);
  });

  it('copies an index with its children by digest, untagged, one PUSH_ARTIFACT per manifest', async () => {
    const a = await call('POST', copyPath('cdst', 'multi/copy', `csrc/multi@${indexDigest}`), 201);
    assert.equal(a.headers.location, `/api/v2.0/projects/cdst/repositories/multi%2Fcopy/artifacts/${indexDigest}`);
    const art = shape<{ digest: string; tags: unknown[] | null; references: Array<{ child_digest: string }> }>(
      (await call('GET', `/projects/cdst/repositories/multi%252Fcopy/artifacts/${indexDigest}`, 200)).json,
    );
    assert.equal(art.digest, indexDigest);
    assert.deepEqual(art.tags ?? [], []);
    assert.deepEqual(art.references.map((r) => r.child_digest), [imgA.digest, imgB.digest]);
    assert.deepEqual(await events('PUSH_ARTIFACT', 'cdst/multi/copy'), [
      [imgA.digest, null],
      [imgB.digest, null],
      [indexDigest, null],
    ]);
    const child = await fetch(`${w.url}/v2/cdst/multi/copy/manifests/${imgB.digest}`, { headers: { authorization: adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(child.status, 200);
  });

  it('refuses an immutable destination tag with the push’s message and links nothing', async () => {
    await call('POST', '/projects/cdst/immutabletagrules', 201, {
      tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v1' }],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: 'app' }] },
    });
    const before = await blobsLinked('cdst/app');
    const pushes = (await events('PUSH_ARTIFACT', 'cdst/app')).length;
    const a = await call('POST', copyPath('cdst', 'app', 'csrc/app:v1'), 412);
    assert.deepEqual(error(a), ['PRECONDITION', "Failed to process request due to 'app:v1' configured as immutable."]);
    assert.deepEqual(await blobsLinked('cdst/app'), before);
    assert.equal((await events('PUSH_ARTIFACT', 'cdst/app')).length, pushes);
  });

  it('counts the destination’s quota and refuses a copy that does not fit before linking anything', async () => {
    await call('POST', '/projects', 201, { project_name: 'csmall', metadata: { public: 'false' }, storage_limit: 10 });
    const a = await call('POST', copyPath('csmall', 'app', 'csrc/app:v1'), 403);
    const [code, message] = error(a);
    assert.equal(code, 'FORBIDDEN');
    assert.match(message, /^quota exceeded for project csmall: /);
    assert.deepEqual(await blobsLinked('csmall/app'), []);
    const exceeded = await w.wharf.db.kysely.selectFrom('events').select('data').where('type', '=', 'QUOTA_EXCEED').execute();
    assert.equal(exceeded.filter((r) => r.data.includes('csmall')).length, 1);

    // Within the limit: the usage grows by exactly what the copy linked.
    await call('PUT', '/projects/csmall', 200, { storage_limit: 1_000_000 });
    await call('POST', copyPath('csmall', 'app', 'csrc/app:v1'), 201);
    const quotas = shape<Array<{ ref: { name: string }; used: { storage: number } }>>((await call('GET', '/quotas?reference=project', 200)).json);
    const used = quotas.find((q) => q.ref.name === 'csmall')?.used.storage;
    assert.equal(used, imgA.manifest.length + imgA.config.length + imgA.layer.length + sbom.length + sbomLayer.length + emptyConfig.length);
  });

  it('answers Harbor’s statuses for a bad from, an unknown source and missing permissions', async () => {
    for (const from of ['', 'csrc/app', 'app:v1', 'csrc/app@v1', 'csrc/App:v1', 'csrc/app:-bad', `csrc/app@sha256:${'0'.repeat(10)}`, 'x'.repeat(600)]) {
      const a = await call('POST', copyPath('cdst', 'app2', from), 400);
      assert.equal(error(a)[0], 'BAD_REQUEST', from);
      if (from !== '') assert.match(error(a)[1], /^invalid from ".*": use <project>\/<repository>:<tag> or <project>\/<repository>@<digest>$/);
    }
    assert.deepEqual(error(await call('POST', '/projects/cdst/repositories/app2/artifacts', 400)), ['BAD_REQUEST', 'from is required: use <project>/<repository>:<tag> or <project>/<repository>@<digest>']);
    assert.deepEqual(error(await call('POST', copyPath('cdst', 'app2', 'csrc/app:nope'), 404)), ['NOT_FOUND', 'artifact csrc/app:nope not found']);
    assert.deepEqual(error(await call('POST', copyPath('cdst', 'app2', 'csrc/none:v1'), 404)), ['NOT_FOUND', 'repository csrc/none not found']);
    assert.deepEqual(error(await call('POST', copyPath('cdst', 'app2', 'nosuch/app:v1'), 404)), ['NOT_FOUND', 'project nosuch not found']);
    assert.deepEqual(error(await call('POST', copyPath('nosuch', 'app2', 'csrc/app:v1'), 404)), ['NOT_FOUND', 'project nosuch not found']);
    // A guest of the destination may not push; a developer there who is no member of the private source may not read it.
    assert.equal(error(await call('POST', copyPath('cdst', 'app2', 'csrc/app:v1'), 403, undefined, basic('c-guest')))[0], 'FORBIDDEN');
    assert.equal(error(await call('POST', copyPath('cdst', 'app2', 'csrc/app:v1'), 403, undefined, basic('c-outsider')))[0], 'FORBIDDEN');
    assert.equal(error(await call('POST', copyPath('cdst', 'app2', 'csrc/app:v1'), 401, undefined, '')) [0], 'UNAUTHORIZED');
    assert.equal((await call('GET', '/projects/cdst/repositories/app2', 404)).status, 404);
  });
});
