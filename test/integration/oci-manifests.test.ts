/**
 * The manifest side of /v2 over real HTTP against a real Wharf (SQLite file, filesystem blobs):
 * pushes of images, indexes, artifacts with a subject, Docker schema 2; the refusals; GET/HEAD
 * byte-for-byte; tag and catalog paging; referrers; deletes; authorization; and the exact events
 * each action writes to the outbox.
 *
 * JSON bodies and event rows are cast (`as`) to the shapes the spec and src/events/catalog.ts
 * promise; the assertions then check those shapes field by field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';

const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const ociIndex = 'application/vnd.oci.image.index.v1+json';
const ociConfig = 'application/vnd.oci.image.config.v1+json';
const ociLayer = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ociEmpty = 'application/vnd.oci.empty.v1+json';
const dockerManifest = 'application/vnd.docker.distribution.manifest.v2+json';
const dockerList = 'application/vnd.docker.distribution.manifest.list.v2+json';
const dockerConfig = 'application/vnd.docker.container.image.v1+json';
const dockerLayer = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

const maxManifest = 64 * 1024;

let w: TestWharf;

before(async () => {
  w = await startWharf({ overrides: { registry: { max_manifest_bytes: maxManifest } } });
});
after(async () => {
  await w?.close();
});

const sha256 = (b: Uint8Array) => 'sha256:' + createHash('sha256').update(b).digest('hex');

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
}

async function req(method: string, path: string, opts: { body?: Buffer | string; headers?: Record<string, string>; anonymous?: boolean } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.anonymous ? {} : { authorization: adminAuth }), ...opts.headers };
  const body = typeof opts.body === 'string' || opts.body === undefined ? opts.body : new Uint8Array(opts.body);
  return fetch(w.url + path, { method, headers, body });
}

/** Pushes a blob with a monolithic upload (POST ?digest=) and returns its descriptor. */
async function pushBlob(repo: string, bytes: Buffer, mediaType: string): Promise<Desc> {
  const digest = sha256(bytes);
  const r = await req('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(r.status, 201, `blob upload: ${await r.text()}`);
  return { mediaType, digest, size: bytes.length };
}

/** Pushes a config and one random layer; returns an OCI image manifest body (3-space indented, not canonical JSON). */
async function imageManifest(repo: string, opts: { arch?: string; docker?: boolean } = {}): Promise<Buffer> {
  const config = Buffer.from(JSON.stringify({ architecture: opts.arch ?? 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, salt: randomBytes(8).toString('hex') }));
  const cfg = await pushBlob(repo, config, opts.docker ? dockerConfig : ociConfig);
  const layer = await pushBlob(repo, randomBytes(1500), opts.docker ? dockerLayer : ociLayer);
  const m = { schemaVersion: 2, mediaType: opts.docker ? dockerManifest : ociManifest, config: cfg, layers: [layer] };
  return Buffer.from(JSON.stringify(m, null, 3) + '\n');
}

async function putManifest(repo: string, ref: string, body: Buffer | string, contentType: string, anonymous = false): Promise<Response> {
  return req('PUT', `/v2/${repo}/manifests/${ref}`, { body, headers: { 'content-type': contentType }, anonymous });
}

async function pushManifest(repo: string, ref: string, body: Buffer, contentType: string): Promise<string> {
  const r = await putManifest(repo, ref, body, contentType);
  assert.equal(r.status, 201, `manifest push: ${await r.text()}`);
  return sha256(body);
}

/** Pushes an amd64 and an arm64 image by digest; returns them and the body of an OCI index listing both. */
async function pushTwoPlatformImages(repo: string, opts: { armVariant?: string } = {}) {
  const amd = await imageManifest(repo, { arch: 'amd64' });
  const arm = await imageManifest(repo, { arch: 'arm64' });
  const amdDigest = await pushManifest(repo, sha256(amd), amd, ociManifest);
  const armDigest = await pushManifest(repo, sha256(arm), arm, ociManifest);
  const armPlatform = { architecture: 'arm64', os: 'linux', ...(opts.armVariant ? { variant: opts.armVariant } : {}) };
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociIndex,
      manifests: [
        { mediaType: ociManifest, digest: amdDigest, size: amd.length, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: ociManifest, digest: armDigest, size: arm.length, platform: armPlatform },
      ],
    }),
  );
  return { amd, arm, amdDigest, armDigest, index };
}

async function errorOf(r: Response): Promise<{ code: string; message: string }> {
  const body = (await r.json()) as { errors: Array<{ code: string; message: string }> };
  const first = body.errors[0];
  assert.ok(first, 'an error body');
  return first;
}

async function expectError(r: Response, status: number, code: string, message?: RegExp): Promise<void> {
  const e = await errorOf(r);
  assert.equal(r.status, status, `${e.code}: ${e.message}`);
  assert.equal(e.code, code);
  if (message) assert.match(e.message, message);
}

/** An outbox event as src/events/catalog.ts shapes the artifact, tag and repository events. */
interface Ev {
  type: string;
  operator: string;
  project?: { name: string; public: boolean };
  repository?: { name: string };
  artifact?: { digest: string; mediaType: string; size: number; tag: string | null; tags: string[]; artifactType: string | null };
  request?: { method: string };
}

/** Events after `seq` about repository `repo`, in order. */
async function eventsAfter(seq: number, repo: string): Promise<Ev[]> {
  const rows = await w.wharf.db.kysely.selectFrom('events').select(['seq', 'data']).where('seq', '>', seq).orderBy('seq').execute();
  return rows.map((r) => JSON.parse(r.data) as Ev).filter((e) => e.repository?.name === repo);
}

async function lastSeq(): Promise<number> {
  const row = await w.wharf.db.kysely.selectFrom('events').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirst();
  return Number(row?.m ?? 0);
}

describe('push and pull', () => {
  test('image by tag: 201 with Location and digest; GET/HEAD by tag and digest serve the exact bytes', async () => {
    const repo = 'library/image';
    const body = await imageManifest(repo);
    const r = await putManifest(repo, 'v1', body, ociManifest);
    assert.equal(r.status, 201, await r.text());
    const digest = sha256(body);
    assert.equal(r.headers.get('docker-content-digest'), digest);
    assert.equal(r.headers.get('location'), `/v2/${repo}/manifests/${digest}`);
    assert.equal(r.headers.get('oci-subject'), null);

    for (const ref of ['v1', digest]) {
      const g = await req('GET', `/v2/${repo}/manifests/${ref}`);
      assert.equal(g.status, 200);
      assert.equal(g.headers.get('content-type'), ociManifest);
      assert.equal(g.headers.get('docker-content-digest'), digest);
      assert.equal(g.headers.get('content-length'), String(body.length));
      assert.deepEqual(Buffer.from(await g.arrayBuffer()), body);

      const h = await req('HEAD', `/v2/${repo}/manifests/${ref}`);
      assert.equal(h.status, 200);
      assert.equal(h.headers.get('content-type'), ociManifest);
      assert.equal(h.headers.get('docker-content-digest'), digest);
      assert.equal(h.headers.get('content-length'), String(body.length));
      assert.equal((await h.arrayBuffer()).byteLength, 0);
    }
    // The manifest is also readable as a blob of the repository, under its digest.
    const b = await req('GET', `/v2/${repo}/blobs/${digest}`);
    assert.equal(b.status, 200);
    assert.deepEqual(Buffer.from(await b.arrayBuffer()), body);

    await expectError(await req('GET', `/v2/${repo}/manifests/nope`), 404, 'MANIFEST_UNKNOWN', /tag nope/);
    assert.equal((await req('HEAD', `/v2/${repo}/manifests/${sha256(Buffer.from('x'))}`)).status, 404);
    await expectError(await req('GET', `/v2/library/never-pushed/manifests/latest`), 404, 'NAME_UNKNOWN');
  });

  test('push by digest: digest mismatch is DIGEST_INVALID; a matching digest is stored without a tag', async () => {
    const repo = 'library/bydigest';
    const body = await imageManifest(repo);
    const wrong = sha256(Buffer.from('something else'));
    await expectError(await putManifest(repo, wrong, body, ociManifest), 400, 'DIGEST_INVALID', /does not match/);
    await expectError(await req('GET', `/v2/${repo}/manifests/${wrong}`), 404, 'MANIFEST_UNKNOWN');
    const digest = await pushManifest(repo, sha256(body), body, ociManifest);
    const tags = (await (await req('GET', `/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, []);
    assert.equal((await req('GET', `/v2/${repo}/manifests/${digest}`)).status, 200);
  });

  test('index with two platform children; a child cannot be deleted while the index lists it', async () => {
    const repo = 'library/multi';
    const { amd, arm, amdDigest, armDigest, index } = await pushTwoPlatformImages(repo, { armVariant: 'v8' });
    const indexDigest = await pushManifest(repo, 'latest', index, ociIndex);
    const g = await req('GET', `/v2/${repo}/manifests/latest`);
    assert.equal(g.headers.get('content-type'), ociIndex);
    assert.deepEqual(Buffer.from(await g.arrayBuffer()), index);

    const row = await w.wharf.db.kysely.selectFrom('artifacts').selectAll().where('digest', '=', indexDigest).executeTakeFirstOrThrow();
    assert.equal(row.manifest_size, index.length);
    assert.ok(row.size > index.length + amd.length + arm.length, 'index size counts its children');
    const refs = await w.wharf.db.kysely.selectFrom('artifact_references').selectAll().where('artifact_id', '=', row.id).orderBy('id').execute();
    assert.deepEqual(refs.map((x) => [x.kind, x.child_digest, x.platform && JSON.parse(x.platform).architecture]), [
      ['manifest', amdDigest, 'amd64'],
      ['manifest', armDigest, 'arm64'],
    ]);

    await expectError(await req('DELETE', `/v2/${repo}/manifests/${amdDigest}`), 403, 'DENIED', /part of index/);
    assert.equal((await req('DELETE', `/v2/${repo}/manifests/${indexDigest}`)).status, 202);
    assert.equal((await req('DELETE', `/v2/${repo}/manifests/${amdDigest}`)).status, 202);

    const missing = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: ociIndex, manifests: [{ mediaType: ociManifest, digest: amdDigest, size: amd.length }] }));
    await expectError(await putManifest(repo, 'broken', missing, ociIndex), 400, 'MANIFEST_BLOB_UNKNOWN', new RegExp(amdDigest));
  });

  test('Docker schema 2 manifest and manifest list', async () => {
    const repo = 'library/docker';
    const m = await imageManifest(repo, { docker: true });
    const d = await pushManifest(repo, 'img', m, dockerManifest);
    const list = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: dockerList, manifests: [{ mediaType: dockerManifest, digest: d, size: m.length, platform: { architecture: 'amd64', os: 'linux' } }] }),
    );
    await pushManifest(repo, 'list', list, dockerList);
    for (const [tag, type, body] of [['img', dockerManifest, m], ['list', dockerList, list]] as const) {
      const g = await req('GET', `/v2/${repo}/manifests/${tag}`);
      assert.equal(g.headers.get('content-type'), type);
      assert.deepEqual(Buffer.from(await g.arrayBuffer()), body);
    }
  });

  test('artifact with a subject: OCI-Subject, referrers with artifactType filtering', async () => {
    const repo = 'library/withrefs';
    const image = await imageManifest(repo);
    const subject = await pushManifest(repo, 'v1', image, ociManifest);
    const empty = await pushBlob(repo, Buffer.from('{}'), ociEmpty);
    const sbomLayer = await pushBlob(repo, Buffer.from('{"spdxVersion":"SPDX-2.3"}'), 'application/spdx+json');
    const sigLayer = await pushBlob(repo, randomBytes(64), 'application/vnd.dev.cosign.simplesigning.v1+json');
    const artifact = (type: string, layer: Desc, annotations: Record<string, string>) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: ociManifest,
          artifactType: type,
          config: empty,
          layers: [layer],
          subject: { mediaType: ociManifest, digest: subject, size: image.length },
          annotations,
        }),
      );
    const sbom = artifact('application/vnd.example.sbom.v1', sbomLayer, { 'org.example.kind': 'sbom' });
    const r = await putManifest(repo, sha256(sbom), sbom, ociManifest);
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('oci-subject'), subject);
    const sig = artifact('application/vnd.example.signature.v1', sigLayer, { 'org.example.kind': 'sig' });
    await pushManifest(repo, sha256(sig), sig, ociManifest);
    // A Helm-style artifact: no artifactType, its config media type stands for it.
    const helmConfig = await pushBlob(repo, Buffer.from('{"name":"chart"}'), 'application/vnd.cncf.helm.config.v1+json');
    const helm = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: ociManifest, config: helmConfig, layers: [sbomLayer], subject: { mediaType: ociManifest, digest: subject, size: image.length } }),
    );
    await pushManifest(repo, sha256(helm), helm, ociManifest);

    const all = await req('GET', `/v2/${repo}/referrers/${subject}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), ociIndex);
    assert.equal(all.headers.get('oci-filters-applied'), null);
    const idx = (await all.json()) as { schemaVersion: number; mediaType: string; manifests: Array<Desc & { artifactType?: string; annotations?: Record<string, string> }> };
    assert.equal(idx.schemaVersion, 2);
    assert.equal(idx.mediaType, ociIndex);
    assert.deepEqual(
      idx.manifests.map((m) => [m.digest, m.size, m.mediaType, m.artifactType, m.annotations?.['org.example.kind']]),
      [
        [sha256(sbom), sbom.length, ociManifest, 'application/vnd.example.sbom.v1', 'sbom'],
        [sha256(sig), sig.length, ociManifest, 'application/vnd.example.signature.v1', 'sig'],
        [sha256(helm), helm.length, ociManifest, 'application/vnd.cncf.helm.config.v1+json', undefined],
      ],
    );

    const filtered = await req('GET', `/v2/${repo}/referrers/${subject}?artifactType=${encodeURIComponent('application/vnd.example.signature.v1')}`);
    assert.equal(filtered.status, 200);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(((await filtered.json()) as typeof idx).manifests.map((m) => m.digest), [sha256(sig)]);

    // The subject need not exist: pushing a referrer first is allowed, and its referrers list works.
    const ghost = sha256(Buffer.from('not pushed yet'));
    const early = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: ociManifest, artifactType: 'application/vnd.example.sbom.v1', config: empty, layers: [sbomLayer], subject: { mediaType: ociManifest, digest: ghost, size: 10 } }),
    );
    const er = await putManifest(repo, sha256(early), early, ociManifest);
    assert.equal(er.status, 201, await er.text());
    assert.equal(er.headers.get('oci-subject'), ghost);
    const ghostRefs = (await (await req('GET', `/v2/${repo}/referrers/${ghost}`)).json()) as typeof idx;
    assert.deepEqual(ghostRefs.manifests.map((m) => m.digest), [sha256(early)]);
    const none = (await (await req('GET', `/v2/${repo}/referrers/${sha256(Buffer.from('nothing'))}`)).json()) as typeof idx;
    assert.deepEqual(none.manifests, []);
    await expectError(await req('GET', `/v2/${repo}/referrers/sha256:123`), 400, 'DIGEST_INVALID');
  });
});

describe('refusals', () => {
  const repo = 'library/refused';

  test('a malformed reference names no manifest: GET and HEAD answer 404, a PUT 400 (OCI conformance)', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const r = await req(method, `/v2/${repo}/manifests/.INVALID_MANIFEST_NAME`);
      assert.equal(r.status, 404, `${method} of a malformed reference`);
      if (method === 'GET') assert.equal(((await r.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'MANIFEST_UNKNOWN');
    }
    await expectError(await putManifest(repo, '.INVALID_MANIFEST_NAME', '{}', ociManifest), 400, 'MANIFEST_INVALID', /invalid tag/);
  });

  test('Docker schema 1 is refused with a clear message', async () => {
    const s1 = JSON.stringify({ schemaVersion: 1, name: repo, tag: 'old', architecture: 'amd64', fsLayers: [], history: [] });
    for (const ct of ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/vnd.docker.distribution.manifest.v1+json', 'application/json']) {
      await expectError(await putManifest(repo, 'old', s1, ct), 400, 'MANIFEST_INVALID', /schema 1 manifests are not supported/);
    }
  });

  test('invalid JSON, wrong mediaType, wrong schemaVersion, malformed descriptors', async () => {
    await expectError(await putManifest(repo, 'bad', '{"schemaVersion": 2,', ociManifest), 400, 'MANIFEST_INVALID', /not valid JSON/);
    const body = await imageManifest(repo);
    await expectError(await putManifest(repo, 'bad', body, dockerManifest), 400, 'MANIFEST_INVALID', /does not match the Content-Type/);
    const doc = JSON.parse(body.toString()) as Record<string, unknown> & { layers: Desc[] };
    await expectError(await putManifest(repo, 'bad', JSON.stringify({ ...doc, schemaVersion: 3 }), ociManifest), 400, 'MANIFEST_INVALID', /schemaVersion must be 2/);
    const badLayer = { ...doc, layers: [{ ...doc.layers[0], size: -5 }] };
    await expectError(await putManifest(repo, 'bad', JSON.stringify(badLayer), ociManifest), 400, 'MANIFEST_INVALID', /layers\[0\]\.size/);
    const badDigest = { ...doc, layers: [{ ...doc.layers[0], digest: 'sha256:xyz' }] };
    await expectError(await putManifest(repo, 'bad', JSON.stringify(badDigest), ociManifest), 400, 'MANIFEST_INVALID', /layers\[0\]\.digest/);
    await expectError(await req('GET', `/v2/${repo}/manifests/bad`), 404, 'MANIFEST_UNKNOWN');
  });

  test('a layer not pushed to this repository is MANIFEST_BLOB_UNKNOWN naming it', async () => {
    const body = await imageManifest(repo);
    const doc = JSON.parse(body.toString()) as { layers: Desc[] };
    const ghost = sha256(randomBytes(32));
    doc.layers.push({ mediaType: ociLayer, digest: ghost, size: 32 });
    await expectError(await putManifest(repo, 'ghost', JSON.stringify(doc), ociManifest), 400, 'MANIFEST_BLOB_UNKNOWN', new RegExp(ghost));
    // A blob of another repository does not count.
    const other = await imageManifest('library/other-repo');
    await expectError(await putManifest(repo, 'foreign', other, ociManifest), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('a manifest over registry.max_manifest_bytes is SIZE_INVALID', async () => {
    const body = await imageManifest(repo);
    const doc = JSON.parse(body.toString()) as Record<string, unknown>;
    const big = JSON.stringify({ ...doc, annotations: { pad: 'x'.repeat(maxManifest) } });
    await expectError(await putManifest(repo, 'big', big, ociManifest), 400, 'SIZE_INVALID', /limit/);
    await expectError(await req('GET', `/v2/${repo}/manifests/big`), 404, 'MANIFEST_UNKNOWN');
  });

  test('bad references', async () => {
    const body = await imageManifest(repo);
    await expectError(await putManifest(repo, 'bad%21tag', body, ociManifest), 400, 'MANIFEST_INVALID', /invalid tag/);
    await expectError(await req('GET', `/v2/${repo}/manifests/sha256:abc`), 400, 'DIGEST_INVALID');
  });
});

describe('authorization and projects', () => {
  test('push to an unknown project is NAME_UNKNOWN naming the project', async () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: ociManifest, config: { mediaType: ociConfig, digest: sha256(Buffer.from('x')), size: 1 }, layers: [] }));
    await expectError(await putManifest('nosuchproject/app', 'v1', body, ociManifest), 404, 'NAME_UNKNOWN', /project nosuchproject/);
  });

  test('anonymous: GET from the public library is allowed; PUT and DELETE are 401', async () => {
    const repo = 'library/anon';
    const body = await imageManifest(repo);
    const digest = await pushManifest(repo, 'v1', body, ociManifest);
    const g = await req('GET', `/v2/${repo}/manifests/v1`, { anonymous: true });
    assert.equal(g.status, 200);
    assert.deepEqual(Buffer.from(await g.arrayBuffer()), body);
    const tags = await req('GET', `/v2/${repo}/tags/list`, { anonymous: true });
    assert.equal(tags.status, 200);
    const p = await putManifest(repo, 'v2', body, ociManifest, true);
    assert.ok(p.headers.get('www-authenticate'), 'a 401 carries a challenge');
    await expectError(p, 401, 'UNAUTHORIZED');
    await expectError(await req('DELETE', `/v2/${repo}/manifests/${digest}`, { anonymous: true }), 401, 'UNAUTHORIZED');
  });
});

describe('tags and catalog', () => {
  test('tags/list pages with n and last, in lexical order, with a Link header', async () => {
    const repo = 'library/paging';
    const body = await imageManifest(repo);
    for (const t of ['b', 'a', 'C', 'e', 'd']) await pushManifest(repo, t, body, ociManifest);
    const all = (await (await req('GET', `/v2/${repo}/tags/list`)).json()) as { name: string; tags: string[] };
    assert.deepEqual(all, { name: repo, tags: ['C', 'a', 'b', 'd', 'e'] });

    const seen: string[] = [];
    let next: string | null = `/v2/${repo}/tags/list?n=2`;
    const links: string[] = [];
    while (next) {
      const r = await req('GET', next);
      assert.equal(r.status, 200);
      seen.push(...((await r.json()) as { tags: string[] }).tags);
      const link = r.headers.get('link');
      if (link) links.push(link);
      next = link ? (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? null) : null;
    }
    assert.deepEqual(seen, ['C', 'a', 'b', 'd', 'e']);
    assert.deepEqual(links, [`</v2/${repo}/tags/list?n=2&last=a>; rel="next"`, `</v2/${repo}/tags/list?n=2&last=d>; rel="next"`]);

    const zero = await req('GET', `/v2/${repo}/tags/list?n=0`);
    assert.deepEqual(((await zero.json()) as { tags: string[] }).tags, []);
    assert.equal(zero.headers.get('link'), null);
    const tail = await req('GET', `/v2/${repo}/tags/list?last=b`);
    assert.deepEqual(((await tail.json()) as { tags: string[] }).tags, ['d', 'e']);
    await expectError(await req('GET', `/v2/${repo}/tags/list?n=-1`), 400, 'BAD_REQUEST', /non-negative integer/);
    await expectError(await req('GET', `/v2/${repo}/tags/list?n=abc`), 400, 'BAD_REQUEST');
    await expectError(await req('GET', `/v2/library/no-such-repo/tags/list`), 404, 'NAME_UNKNOWN');
  });

  test('catalog pages and lists only what the caller may pull', async () => {
    const created = await req('POST', '/api/v2.0/projects', {
      body: JSON.stringify({ project_name: 'private', metadata: { public: 'false' } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(created.status, 201, await created.text());
    const body = await imageManifest('private/secret');
    await pushManifest('private/secret', 'v1', body, ociManifest);
    await pushManifest('library/cat-a', 'v1', await imageManifest('library/cat-a'), ociManifest);

    const full = (await (await req('GET', '/v2/_catalog')).json()) as { repositories: string[] };
    assert.ok(full.repositories.includes('private/secret'));
    assert.ok(full.repositories.includes('library/cat-a'));
    assert.deepEqual(full.repositories, [...full.repositories].sort());

    const paged: string[] = [];
    let next: string | null = '/v2/_catalog?n=3';
    while (next) {
      const r = await req('GET', next);
      const names = ((await r.json()) as { repositories: string[] }).repositories;
      assert.ok(names.length <= 3);
      paged.push(...names);
      const link = r.headers.get('link');
      next = link ? (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? null) : null;
    }
    assert.deepEqual(paged, full.repositories);

    const anon = (await (await req('GET', '/v2/_catalog', { anonymous: true })).json()) as { repositories: string[] };
    assert.ok(!anon.repositories.includes('private/secret'), 'a private project is hidden from anonymous callers');
    assert.deepEqual(anon.repositories, full.repositories.filter((n) => n.startsWith('library/')));
    await expectError(await req('GET', '/v2/private/secret/manifests/v1', { anonymous: true }), 401, 'UNAUTHORIZED');
  });
});

describe('deletes and events', () => {
  test('outbox: push, re-push, pull (GET yes, HEAD no), tag delete, manifest delete — exactly these events in order', async () => {
    const repo = 'library/events';
    const body = await imageManifest(repo);
    const digest = sha256(body);

    let seq = await lastSeq();
    await pushManifest(repo, 'v1', body, ociManifest);
    let ev = await eventsAfter(seq, repo);
    assert.deepEqual(ev.map((e) => e.type), ['PUSH_ARTIFACT', 'CREATE_TAG']);
    const push = ev[0];
    assert.ok(push?.artifact && push.project);
    assert.equal(push.operator, 'admin');
    assert.deepEqual(push.project.name, 'library');
    assert.equal(push.project.public, true);
    assert.equal(push.request?.method, 'PUT');
    assert.equal(push.artifact.digest, digest);
    assert.equal(push.artifact.mediaType, ociManifest);
    assert.equal(push.artifact.tag, 'v1');
    assert.deepEqual(push.artifact.tags, ['v1']);
    assert.equal(push.artifact.artifactType, null);
    assert.ok(Number(push.artifact.size) > body.length);

    // Re-push of the same digest to the same tag: PUSH_ARTIFACT again (as Harbor), no CREATE_TAG.
    seq = await lastSeq();
    await pushManifest(repo, 'v1', body, ociManifest);
    assert.deepEqual((await eventsAfter(seq, repo)).map((e) => e.type), ['PUSH_ARTIFACT']);
    // A second tag, and by digest.
    seq = await lastSeq();
    await pushManifest(repo, 'v2', body, ociManifest);
    await pushManifest(repo, digest, body, ociManifest);
    ev = await eventsAfter(seq, repo);
    assert.deepEqual(ev.map((e) => [e.type, e.artifact?.tag, e.artifact?.tags]), [
      ['PUSH_ARTIFACT', 'v2', ['v1', 'v2']],
      ['CREATE_TAG', 'v2', ['v1', 'v2']],
      ['PUSH_ARTIFACT', null, ['v1', 'v2']],
    ]);

    const pullsBefore = (await w.wharf.db.kysely.selectFrom('repositories').select('pull_count').where('name', '=', repo).executeTakeFirstOrThrow()).pull_count;
    seq = await lastSeq();
    assert.equal((await req('HEAD', `/v2/${repo}/manifests/v1`)).status, 200);
    assert.deepEqual(await eventsAfter(seq, repo), [], 'HEAD records no pull');
    const art0 = await w.wharf.db.kysely.selectFrom('artifacts').select('pull_time').where('digest', '=', digest).executeTakeFirstOrThrow();
    assert.equal(art0.pull_time, null);
    await (await req('GET', `/v2/${repo}/manifests/v1`)).arrayBuffer();
    ev = await eventsAfter(seq, repo);
    assert.deepEqual(ev.map((e) => [e.type, e.artifact?.tag]), [['PULL_ARTIFACT', 'v1']]);
    assert.equal(ev[0]?.request?.method, 'GET');
    const pullsAfter = (await w.wharf.db.kysely.selectFrom('repositories').select('pull_count').where('name', '=', repo).executeTakeFirstOrThrow()).pull_count;
    assert.equal(pullsAfter, pullsBefore + 1);
    const art1 = await w.wharf.db.kysely.selectFrom('artifacts').select('pull_time').where('digest', '=', digest).executeTakeFirstOrThrow();
    assert.ok(art1.pull_time !== null);

    // DELETE by tag removes only the tag.
    seq = await lastSeq();
    assert.equal((await req('DELETE', `/v2/${repo}/manifests/v2`)).status, 202);
    ev = await eventsAfter(seq, repo);
    assert.deepEqual(ev.map((e) => [e.type, e.artifact?.tag, e.artifact?.tags]), [['DELETE_TAG', 'v2', ['v1']]]);
    await expectError(await req('GET', `/v2/${repo}/manifests/v2`), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await req('GET', `/v2/${repo}/manifests/${digest}`)).status, 200);
    await expectError(await req('DELETE', `/v2/${repo}/manifests/v2`), 404, 'MANIFEST_UNKNOWN');

    // DELETE by digest removes the artifact and every tag.
    seq = await lastSeq();
    assert.equal((await req('DELETE', `/v2/${repo}/manifests/${digest}`)).status, 202);
    ev = await eventsAfter(seq, repo);
    assert.deepEqual(ev.map((e) => [e.type, e.artifact?.digest, e.artifact?.tags]), [['DELETE_ARTIFACT', digest, ['v1']]]);
    await expectError(await req('GET', `/v2/${repo}/manifests/${digest}`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await req('GET', `/v2/${repo}/manifests/v1`), 404, 'MANIFEST_UNKNOWN');
    assert.deepEqual(((await (await req('GET', `/v2/${repo}/tags/list`)).json()) as { tags: string[] }).tags, []);
    await expectError(await req('DELETE', `/v2/${repo}/manifests/${digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  test('a tag moved to another manifest records CREATE_TAG; the first push to a new repository records CREATE_REPOSITORY', async () => {
    const repo = 'library/moving';
    const seq0 = await lastSeq();
    const a = await imageManifest(repo);
    const b = await imageManifest(repo);
    const created = await eventsAfter(seq0, repo);
    assert.equal(created.filter((e) => e.type === 'CREATE_REPOSITORY').length, 1);
    await pushManifest(repo, 'latest', a, ociManifest);
    const seq = await lastSeq();
    await pushManifest(repo, 'latest', b, ociManifest);
    const ev = await eventsAfter(seq, repo);
    assert.deepEqual(ev.map((e) => [e.type, e.artifact?.digest]), [
      ['PUSH_ARTIFACT', sha256(b)],
      ['CREATE_TAG', sha256(b)],
    ]);
    const g = await req('GET', `/v2/${repo}/manifests/latest`);
    assert.equal(g.headers.get('docker-content-digest'), sha256(b));
  });

  test('tag without a push, tag delete and repository delete (through the Harbor API) record their events', async () => {
    const repo = 'library/harbor-ops';
    const api = `/api/v2.0/projects/library/repositories/harbor-ops`;
    const { amdDigest, armDigest, index } = await pushTwoPlatformImages(repo);
    const indexDigest = await pushManifest(repo, 'multi', index, ociIndex);
    const loose = await imageManifest(repo);
    const looseDigest = await pushManifest(repo, 'loose', loose, ociManifest);

    let seq = await lastSeq();
    const json = { 'content-type': 'application/json' };
    const created = await req('POST', `${api}/artifacts/${indexDigest}/tags`, { body: JSON.stringify({ name: 'stable' }), headers: json });
    assert.equal(created.status, 201, await created.text());
    let ev = await eventsAfter(seq, repo);
    assert.deepEqual(ev.map((e) => [e.type, e.artifact?.tag, e.artifact?.tags]), [['CREATE_TAG', 'stable', ['multi', 'stable']]]);
    assert.equal((await req('GET', `/v2/${repo}/manifests/stable`)).headers.get('docker-content-digest'), indexDigest);
    const clash = await req('POST', `${api}/artifacts/${looseDigest}/tags`, { body: JSON.stringify({ name: 'stable' }), headers: json });
    assert.equal(clash.status, 409);

    seq = await lastSeq();
    assert.equal((await req('DELETE', `${api}/artifacts/${indexDigest}/tags/stable`)).status, 200);
    ev = await eventsAfter(seq, repo);
    assert.deepEqual(ev.map((e) => [e.type, e.artifact?.tag, e.artifact?.tags]), [['DELETE_TAG', 'stable', ['multi']]]);

    seq = await lastSeq();
    assert.equal((await req('DELETE', api)).status, 200);
    ev = await eventsAfter(seq, repo);
    // One DELETE_ARTIFACT per root artifact (the index's children go with it), then DELETE_REPOSITORY.
    assert.deepEqual(ev.map((e) => [e.type, e.artifact?.digest, e.artifact?.tags]), [
      ['DELETE_ARTIFACT', indexDigest, ['multi']],
      ['DELETE_ARTIFACT', looseDigest, ['loose']],
      ['DELETE_REPOSITORY', undefined, undefined],
    ]);
    await expectError(await req('GET', `/v2/${repo}/manifests/${amdDigest}`), 404, 'NAME_UNKNOWN');
    const db = w.wharf.db.kysely;
    assert.equal((await db.selectFrom('repositories').select('id').where('name', '=', repo).execute()).length, 0);
    assert.equal((await db.selectFrom('artifacts').select('id').where('digest', 'in', [amdDigest, armDigest, indexDigest, looseDigest]).execute()).length, 0);
    const catalog = (await (await req('GET', '/v2/_catalog')).json()) as { repositories: string[] };
    assert.ok(!catalog.repositories.includes(repo));
  });

  test('concurrent PUTs of the same manifest all succeed and leave one artifact and one tag', async () => {
    const repo = 'library/race';
    const body = await imageManifest(repo);
    const seq = await lastSeq();
    const results = await Promise.all(Array.from({ length: 8 }, () => putManifest(repo, 'same', body, ociManifest)));
    for (const r of results) assert.equal(r.status, 201, await r.text());
    const repoRow = await w.wharf.db.kysely.selectFrom('repositories').select('id').where('name', '=', repo).executeTakeFirstOrThrow();
    const arts = await w.wharf.db.kysely.selectFrom('artifacts').select('id').where('repository_id', '=', repoRow.id).execute();
    assert.equal(arts.length, 1);
    const tags = await w.wharf.db.kysely.selectFrom('tags').select('name').where('repository_id', '=', repoRow.id).execute();
    assert.deepEqual(tags.map((t) => t.name), ['same']);
    const ev = await eventsAfter(seq, repo);
    assert.equal(ev.filter((e) => e.type === 'PUSH_ARTIFACT').length, 8);
    assert.equal(ev.filter((e) => e.type === 'CREATE_TAG').length, 1);
  });
});
