/**
 * Harbor's artifact reads across a project and around an artifact, over real HTTP:
 * `GET /projects/{p}/artifacts` (every repository, q/sort/paging, latest_in_repository, Harbor's
 * refusal of anonymous callers), `…/artifacts/{reference}/accessories` (Harbor's Accessory list),
 * accessories kept out of artifact lists even when tagged, and the additions' Harbor answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { gzipSync } from 'node:zlib';
import { pushBlob, pushSmallImage, putManifest, smallImage } from '../helpers/webhook-client.ts';
import { tarStream, type TarEntry } from '../helpers/tar.ts';

let tw: TestWharf;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function call(method: string, path: string, auth: string | null = adminAuth): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const r = await fetch(`${tw.url}/api/v2.0${path}`, { method, headers: auth ? { authorization: auth } : {} });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, json, text, headers: r.headers };
}

type Artifact = { id: number; digest: string; repository_name: string; tags: Array<{ name: string; immutable: boolean }> | null; accessories: Array<{ digest: string; type: string }> | null };

async function artifacts(path: string): Promise<{ items: Artifact[]; total: string | null; link: string | null }> {
  const r = await call('GET', path);
  assert.equal(r.status, 200, r.text);
  return { items: r.json as Artifact[], total: r.headers.get('x-total-count'), link: r.headers.get('link') };
}

/** Pushes the blobs and then an OCI manifest of one config and its layers (plus `extra` fields) under `tag`. */
async function pushArtifact(repo: string, tag: string, config: { mediaType: string; data: Buffer }, layers: Array<{ mediaType: string; data: Buffer }>, extra: Record<string, unknown> = {}): Promise<string> {
  for (const b of [config, ...layers]) await pushBlob(tw.url, repo, b.data, adminAuth);
  const blob = (b: { mediaType: string; data: Buffer }) => ({ mediaType: b.mediaType, digest: sha256(b.data), size: b.data.length });
  const m = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', ...extra, config: blob(config), layers: layers.map(blob) }));
  return putManifest(tw.url, repo, tag, m, { auth: adminAuth });
}

/** Pushes an accessory of `subject` (a manifest naming it as its subject) under `tag`; returns its digest. */
async function pushAccessory(repo: string, subject: { digest: string; size: number; mediaType?: string }, artifactType: string, tag: string): Promise<string> {
  return pushArtifact(repo, tag, { mediaType: 'application/vnd.oci.empty.v1+json', data: Buffer.from('{}') }, [{ mediaType: 'application/octet-stream', data: Buffer.from(`accessory ${artifactType} ${tag}`) }], {
    artifactType,
    subject: { mediaType: subject.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: subject.digest, size: subject.size },
  });
}

/** Pushes an index of two small images (untagged) under `tag`; returns its digest, size and children. */
async function pushIndex(repo: string, tag: string): Promise<{ digest: string; size: number; children: string[] }> {
  const children = [smallImage(`${repo}-arm`, `${repo}-arm`, { architecture: 'arm64', os: 'linux' }), smallImage(`${repo}-amd`)];
  for (const c of children) await pushSmallImage(tw.url, repo, c, { auth: adminAuth });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: children.map((c) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: c.digest, size: c.manifest.length })),
    }),
  );
  const digest = await putManifest(tw.url, repo, tag, index, { auth: adminAuth, mediaType: 'application/vnd.oci.image.index.v1+json' });
  return { digest, size: index.length, children: children.map((c) => c.digest) };
}

/** A gzipped Helm chart archive of `files` (paths under `mychart/`). */
async function chartArchive(files: Record<string, string>): Promise<Buffer> {
  const entries: TarEntry[] = Object.entries(files).map(([name, text]) => ({ type: 'file', name: `mychart/${name}`, size: Buffer.byteLength(text), content: () => [Buffer.from(text)] }));
  const chunks: Buffer[] = [];
  for await (const c of tarStream(entries)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return gzipSync(Buffer.concat(chunks));
}

/** Pushes a Helm chart (config and archive layer, as `helm push` does) under `tag`. */
async function pushChart(repo: string, tag: string, files: Record<string, string>): Promise<string> {
  const config = Buffer.from(JSON.stringify({ name: 'mychart', version: tag, apiVersion: 'v2' }));
  return pushArtifact(repo, tag, { mediaType: 'application/vnd.cncf.helm.config.v1+json', data: config }, [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', data: await chartArchive(files) }]);
}

let projectId = 0;
let oneV1 = '';
let oneV2 = '';
let twoV1 = '';
let multi = '';
let multiChildren: string[] = [];
let indexSignature = '';
let cosign = '';
let sbom = '';

before(async () => {
  tw = await startWharf();
  for (const [name, pub] of [['pa', false], ['pa-pub', true]] as const) {
    const r = await fetch(`${tw.url}/api/v2.0/projects`, { method: 'POST', headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: JSON.stringify({ project_name: name, metadata: { public: String(pub) } }) });
    assert.equal(r.status, 201, await r.text());
    if (name === 'pa') projectId = Number(r.headers.get('location')?.split('/').pop());
  }
  const img = smallImage('pa-one-1');
  oneV1 = await pushSmallImage(tw.url, 'pa/one', img, { tag: 'v1', auth: adminAuth });
  oneV2 = await pushSmallImage(tw.url, 'pa/one', smallImage('pa-one-2'), { tag: 'v2', auth: adminAuth });
  twoV1 = await pushSmallImage(tw.url, 'pa/two', smallImage('pa-two-1'), { tag: 'v1', auth: adminAuth });
  const index = await pushIndex('pa/multi', 'm1');
  multi = index.digest;
  multiChildren = index.children;
  indexSignature = await pushAccessory('pa/multi', { ...index, mediaType: 'application/vnd.oci.image.index.v1+json' }, 'application/vnd.dev.cosign.artifact.sig.v1+json', 'm1-sig');
  // Accessories of one:v1, the cosign one tagged as cosign tags its signatures (Harbor still lists it under its subject only).
  cosign = await pushAccessory('pa/one', { digest: oneV1, size: img.manifest.length }, 'application/vnd.dev.cosign.artifact.sig.v1+json', `${oneV1.replace(':', '-')}.sig`);
  sbom = await pushAccessory('pa/one', { digest: oneV1, size: img.manifest.length }, 'application/spdx+json', `${oneV1.replace(':', '-')}`);
  await pushSmallImage(tw.url, 'pa-pub/open', smallImage('pa-pub-1'), { tag: 'v1', auth: adminAuth });
  await pushChart('pa-pub/charts', '0.1.0', {
    'Chart.yaml': 'apiVersion: v2\nname: mychart\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: 17.0.0\n    repository: https://charts.example.com\n',
    'values.yaml': 'replicaCount: 2\n',
    'README.md': '# mychart\n',
    'charts/sub/values.yaml': 'sub: true\n',
  });
});

after(async () => {
  await tw.close();
});

describe('GET /projects/{p}/artifacts', () => {
  test('every repository of the project, newest first; index children and accessories left out', async () => {
    const r = await artifacts('/projects/pa/artifacts');
    assert.deepEqual(
      r.items.map((a) => a.digest),
      [multi, twoV1, oneV2, oneV1],
    );
    assert.equal(r.total, '4');
    assert.deepEqual(
      r.items.map((a) => a.repository_name),
      ['pa/multi', 'pa/two', 'pa/one', 'pa/one'],
    );
    assert.deepEqual(r.items[0]?.tags?.map((t) => t.name), ['m1']);
    const byId = await artifacts(`/projects/${projectId}/artifacts`);
    assert.deepEqual(byId.items.map((a) => a.digest), r.items.map((a) => a.digest));
  });

  test("paging, sort and q (repository_name, tags, base=*) as Harbor's", async () => {
    const p = await artifacts('/projects/pa/artifacts?page=2&page_size=1&sort=push_time');
    assert.deepEqual(p.items.map((a) => a.digest), [oneV2]);
    assert.equal(p.total, '4');
    assert.match(p.link ?? '', /rel="prev".*rel="next"/);
    assert.deepEqual((await artifacts(`/projects/pa/artifacts?q=${encodeURIComponent('repository_name=~two')}`)).items.map((a) => a.digest), [twoV1]);
    assert.deepEqual((await artifacts(`/projects/pa/artifacts?q=${encodeURIComponent('tags=v2')}`)).items.map((a) => a.digest), [oneV2]);
    const all = await artifacts(`/projects/pa/artifacts?q=${encodeURIComponent('base=*')}`);
    assert.equal(all.total, '6', 'base=* adds the two index children, still no accessory');
    assert.ok(!all.items.some((a) => a.digest === cosign || a.digest === sbom));
  });

  test('no null where the swagger has an object or array: such fields are left out', async () => {
    const r = await call('GET', '/projects/pa/artifacts?with_tag=false');
    const items = r.json as Array<Record<string, unknown>>;
    assert.equal(items.length, 4);
    for (const a of items) {
      for (const k of ['annotations', 'tags', 'labels', 'accessories']) assert.ok(!(k in a) || a[k] !== null, `${k} is null`);
      assert.ok(!('tags' in a) && !('labels' in a) && !('accessories' in a), JSON.stringify(a));
    }
    const index = items.find((a) => a.digest === multi) as { references: Array<Record<string, unknown>> };
    assert.equal(index.references.length, 2);
    for (const ref of index.references) assert.ok(ref.annotations !== null && ref.platform !== null, JSON.stringify(ref));
  });

  test('with_immutable_status: tags show immutable only when asked for, as Harbor', async () => {
    const body = {
      disabled: false,
      action: 'immutable',
      template: 'immutable_template',
      tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v2' }],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
    };
    const r = await fetch(`${tw.url}/api/v2.0/projects/pa/immutabletagrules`, { method: 'POST', headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 201, await r.text());
    const immutableOf = (items: Artifact[]) => items.find((a) => a.digest === oneV2)?.tags?.map((t) => t.immutable);
    assert.deepEqual(immutableOf((await artifacts('/projects/pa/artifacts?with_immutable_status=true')).items), [true]);
    assert.deepEqual(immutableOf((await artifacts('/projects/pa/artifacts')).items), [false]);
    const rules = (await call('GET', '/projects/pa/immutabletagrules')).json as Array<{ id: number }>;
    for (const x of rules) assert.equal((await fetch(`${tw.url}/api/v2.0/projects/pa/immutabletagrules/${x.id}`, { method: 'DELETE', headers: { authorization: adminAuth } })).status, 200);
  });

  test("with_inherited_accessory: an index child without a signature of its own shows the index's", async () => {
    type Inheriting = Artifact & { inherited_accessories?: Array<{ digest: string; subject_artifact_digest: string; type: string }> };
    const child = multiChildren[0] ?? '';
    const one = await call('GET', `/projects/pa/repositories/multi/artifacts/${child}?with_inherited_accessory=true`);
    assert.equal(one.status, 200, one.text);
    const inherited = (one.json as Inheriting).inherited_accessories;
    assert.deepEqual(inherited?.map((x) => [x.digest, x.subject_artifact_digest, x.type]), [[indexSignature, multi, 'signature.cosign']]);
    const plain = await call('GET', `/projects/pa/repositories/multi/artifacts/${child}`);
    assert.ok(!('inherited_accessories' in (plain.json as object)), plain.text);
    const listed = await artifacts(`/projects/pa/artifacts?with_inherited_accessory=true&q=${encodeURIComponent('base=*')}`);
    const withInherited = (listed.items as Inheriting[]).filter((a) => a.inherited_accessories !== undefined).map((a) => a.digest).sort();
    assert.deepEqual(withInherited, [...multiChildren].sort());
  });

  test('with_accessory shows accessories under their subject', async () => {
    const r = await artifacts(`/projects/pa/artifacts?with_accessory=true&q=${encodeURIComponent('tags=v1')}`);
    const v1 = r.items.find((a) => a.digest === oneV1);
    assert.deepEqual(v1?.accessories?.map((x) => x.digest).sort(), [cosign, sbom].sort());
    assert.equal(r.items.find((a) => a.digest === twoV1)?.accessories?.length, 0);
  });

  test('latest_in_repository: the newest match of each repository; needs media_type or artifact_type, not both', async () => {
    const q = encodeURIComponent('media_type=application/vnd.oci.image.config.v1+json');
    const r = await artifacts(`/projects/pa/artifacts?latest_in_repository=true&q=${q}`);
    assert.deepEqual(r.items.map((a) => a.digest), [twoV1, oneV2]);
    for (const bad of ['', `&q=${encodeURIComponent('media_type=x,artifact_type=y')}`]) {
      const e = await call('GET', `/projects/pa/artifacts?latest_in_repository=true${bad}`);
      assert.equal(e.status, 400, e.text);
      assert.equal((e.json as { errors: Array<{ message: string }> }).errors[0]?.message, "either 'media_type' or 'artifact_type' must be specified, but not both, when querying with latest_in_repository");
    }
  });

  test('Harbor asks for credentials even on a public project; 404 for an unknown project', async () => {
    assert.equal((await call('GET', '/projects/pa-pub/artifacts', null)).status, 401);
    assert.equal((await call('GET', '/projects/pa-pub/repositories/open/artifacts', null)).status, 200);
    assert.equal((await call('GET', '/projects/nope/artifacts')).status, 404);
  });
});

describe('accessories', () => {
  test('tagged accessories are not listed as artifacts of their repository', async () => {
    const r = await artifacts('/projects/pa/repositories/one/artifacts');
    assert.deepEqual(r.items.map((a) => a.digest), [oneV2, oneV1]);
    assert.equal(r.total, '2');
  });

  test("GET …/accessories: Harbor's Accessory objects, paged, q on type", async () => {
    const r = await call('GET', '/projects/pa/repositories/one/artifacts/v1/accessories');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-total-count'), '2');
    const items = r.json as Array<Record<string, unknown>>;
    assert.deepEqual(items.map((x) => x.digest), [sbom, cosign]);
    const c = items.find((x) => x.digest === cosign);
    assert.equal(c?.type, 'signature.cosign');
    assert.equal(c?.subject_artifact_digest, oneV1);
    assert.equal(c?.subject_artifact_repo, 'pa/one');
    for (const k of ['id', 'artifact_id', 'subject_artifact_id', 'size', 'creation_time', 'icon']) assert.ok(c && k in c, k);
    const typed = await call('GET', `/projects/pa/repositories/one/artifacts/${oneV1}/accessories?q=${encodeURIComponent('type=signature.cosign')}`);
    assert.deepEqual((typed.json as Array<{ digest: string }>).map((x) => x.digest), [cosign]);
    const page = await call('GET', '/projects/pa/repositories/one/artifacts/v1/accessories?page=2&page_size=1');
    assert.deepEqual((page.json as Array<{ digest: string }>).map((x) => x.digest), [cosign]);
    assert.equal(page.headers.get('x-total-count'), '2');
    assert.deepEqual((await call('GET', '/projects/pa/repositories/one/artifacts/v2/accessories')).json, []);
  });

  test('404 for an unknown artifact, 401 for an anonymous caller on a private project', async () => {
    assert.equal((await call('GET', '/projects/pa/repositories/one/artifacts/v9/accessories')).status, 404);
    assert.equal((await call('GET', '/projects/pa/repositories/one/artifacts/v1/accessories', null)).status, 401);
  });
});

describe('tags', () => {
  test("POST …/tags answers 201 with the swagger's Location of the new tag", async () => {
    const r = await fetch(`${tw.url}/api/v2.0/projects/pa/repositories/two/artifacts/v1/tags/`, {
      method: 'POST',
      headers: { authorization: adminAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'stable' }),
    });
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('location'), '/api/v2.0/projects/pa/repositories/two/artifacts/v1/tags/stable');
  });
});

describe('additions', () => {
  const base = '/projects/pa/repositories';
  const message = (r: { json: unknown }) => (r.json as { errors: Array<{ message: string }> }).errors[0]?.message;

  test("an image's build_history; vulnerabilities {} before any scan", async () => {
    const h = await call('GET', `${base}/one/artifacts/v1/additions/build_history`);
    assert.equal(h.status, 200, h.text);
    assert.equal(h.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(h.json, []);
    const v = await call('GET', `${base}/one/artifacts/v1/additions/vulnerabilities`);
    assert.equal(v.status, 200, v.text);
    assert.deepEqual(v.json, {});
  });

  test("a chart's values.yaml, readme.md and dependencies from its archive", async () => {
    const chart = '/projects/pa-pub/repositories/charts/artifacts/0.1.0/additions';
    const v = await call('GET', `${chart}/values.yaml`);
    assert.equal(v.status, 200, v.text);
    assert.equal(v.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(v.text, 'replicaCount: 2\n');
    const r = await call('GET', `${chart}/readme.md`);
    assert.equal(r.headers.get('content-type'), 'text/markdown; charset=utf-8');
    assert.equal(r.text, '# mychart\n');
    const d = await call('GET', `${chart}/dependencies`);
    assert.equal(d.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(d.json, [{ name: 'redis', version: '17.0.0', repository: 'https://charts.example.com' }]);
    const h = await call('GET', `${chart}/build_history`);
    assert.equal(h.status, 400, h.text);
    assert.equal(message(h), "addition BUILD_HISTORY isn't supported for CHART");
  });

  test("additions an artifact's type lacks are Harbor's 400; names outside the swagger's enum 422", async () => {
    const values = await call('GET', `${base}/one/artifacts/v1/additions/values.yaml`);
    assert.equal(values.status, 400, values.text);
    assert.equal(message(values), "addition VALUES.YAML isn't supported for IMAGE(manifest version 2)");
    const idx = await call('GET', `${base}/multi/artifacts/m1/additions/build_history`);
    assert.equal(idx.status, 400, idx.text);
    assert.equal(message(idx), "addition BUILD_HISTORY isn't supported");
    const acc = await call('GET', `${base}/one/artifacts/${cosign}/additions/build_history`);
    assert.equal(acc.status, 400, acc.text);
    assert.equal(message(acc), 'the processor for artifact UNKNOWN not found, cannot get the addition');
    const foo = await call('GET', `${base}/one/artifacts/v1/additions/foo`);
    assert.equal(foo.status, 422, foo.text);
    assert.equal(message(foo), 'validation failure list:\naddition in path should be one of [build_history values.yaml readme.md dependencies sbom license files]');
    assert.equal((await call('GET', `${base}/one/artifacts/v9/additions/build_history`)).status, 404);
  });
});
