import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from './errors.ts';
import { effectiveArtifactType, parseManifest } from './manifest.ts';
import { dockerManifest, dockerManifestList, dockerSchema1, dockerSchema1Signed, ociEmpty, ociIndex, ociManifest, mediaTypeOfHeader } from './media-types.ts';

const d = (c: string) => 'sha256:' + c.repeat(64);
const cfg = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('a'), size: 100 };
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('b'), size: 2000 };
const buf = (o: unknown) => Buffer.from(JSON.stringify(o));

function rejects(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DomainError, `expected a DomainError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

test('OCI image manifest: config, layers, blobs, annotations', () => {
  const m = parseManifest(buf({ schemaVersion: 2, mediaType: ociManifest, config: cfg, layers: [layer], annotations: { a: 'b' } }), ociManifest);
  assert.equal(m.mediaType, ociManifest);
  assert.equal(m.kind, 'image');
  assert.equal(m.config?.digest, d('a'));
  assert.deepEqual(m.layers.map((l) => l.digest), [d('b')]);
  assert.deepEqual(m.blobs.map((l) => l.digest), [d('a'), d('b')]);
  assert.deepEqual(m.annotations, { a: 'b' });
  assert.equal(m.subject, null);
  assert.equal(effectiveArtifactType(m), null);
});

test('OCI manifest without mediaType in the body takes the Content-Type; parameters are ignored', () => {
  const m = parseManifest(buf({ schemaVersion: 2, config: cfg, layers: [] }), `${ociManifest}; charset=utf-8`);
  assert.equal(m.mediaType, ociManifest);
  assert.equal(mediaTypeOfHeader(' Application/JSON ; x=y'), 'application/json');
});

test('generic or absent Content-Type defers to the body mediaType', () => {
  for (const ct of [null, undefined, '', 'application/json', 'application/octet-stream']) {
    assert.equal(parseManifest(buf({ schemaVersion: 2, mediaType: ociManifest, config: cfg, layers: [] }), ct).mediaType, ociManifest);
  }
});

test('OCI index with platforms', () => {
  const m = parseManifest(
    buf({
      schemaVersion: 2,
      mediaType: ociIndex,
      manifests: [
        { mediaType: ociManifest, digest: d('c'), size: 500, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: ociManifest, digest: d('e'), size: 501, platform: { architecture: 'arm64', os: 'linux', variant: 'v8', 'os.features': ['x'] } },
      ],
    }),
    ociIndex,
  );
  assert.equal(m.kind, 'index');
  assert.equal(m.config, null);
  assert.deepEqual(m.blobs, []);
  assert.deepEqual(m.manifests.map((c) => c.platform), [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux', variant: 'v8', 'os.features': ['x'] },
  ]);
});

test('artifact with artifactType, empty config and subject', () => {
  const empty = { mediaType: ociEmpty, digest: d('4'), size: 2, data: 'e30=' };
  const m = parseManifest(
    buf({
      schemaVersion: 2,
      mediaType: ociManifest,
      artifactType: 'application/vnd.example.sbom.v1+json',
      config: empty,
      layers: [{ mediaType: 'application/spdx+json', digest: d('5'), size: 10, annotations: { 'org.opencontainers.image.title': 'sbom.json' } }],
      subject: { mediaType: ociManifest, digest: d('6'), size: 300 },
    }),
    ociManifest,
  );
  assert.equal(m.artifactType, 'application/vnd.example.sbom.v1+json');
  assert.equal(m.subject?.digest, d('6'));
  assert.equal(effectiveArtifactType(m), 'application/vnd.example.sbom.v1+json');
  assert.deepEqual(m.layers[0]?.annotations, { 'org.opencontainers.image.title': 'sbom.json' });
});

test('Helm chart: the config media type is the artifact type', () => {
  const m = parseManifest(
    buf({ schemaVersion: 2, config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: d('7'), size: 5 }, layers: [layer] }),
    ociManifest,
  );
  assert.equal(effectiveArtifactType(m), 'application/vnd.cncf.helm.config.v1+json');
});

test('Docker schema 2 manifest and manifest list', () => {
  const m = parseManifest(
    buf({ schemaVersion: 2, mediaType: dockerManifest, config: { ...cfg, mediaType: 'application/vnd.docker.container.image.v1+json' }, layers: [layer] }),
    dockerManifest,
  );
  assert.equal(m.mediaType, dockerManifest);
  assert.equal(effectiveArtifactType(m), null);
  const l = parseManifest(
    buf({ schemaVersion: 2, mediaType: dockerManifestList, manifests: [{ mediaType: dockerManifest, digest: d('c'), size: 5, platform: { architecture: 'amd64', os: 'linux' } }] }),
    dockerManifestList,
  );
  assert.equal(l.kind, 'index');
  rejects(() => parseManifest(buf({ schemaVersion: 2, config: cfg, layers: [] }), dockerManifest), 'MANIFEST_INVALID', /must carry its mediaType/);
});

test('Docker schema 1 is refused by Content-Type, body mediaType or schemaVersion', () => {
  const s1 = { schemaVersion: 1, name: 'library/x', tag: 'latest', fsLayers: [], history: [] };
  rejects(() => parseManifest(buf(s1), dockerSchema1), 'MANIFEST_INVALID', /schema 1 manifests are not supported/);
  rejects(() => parseManifest(buf(s1), dockerSchema1Signed), 'MANIFEST_INVALID', /schema 1/);
  rejects(() => parseManifest(buf(s1), 'application/json'), 'MANIFEST_INVALID', /schema 1/);
  rejects(() => parseManifest(buf({ ...s1, schemaVersion: 2, mediaType: dockerSchema1 }), null), 'MANIFEST_INVALID', /schema 1/);
  // Even if the body could not be parsed: the declared type is enough.
  rejects(() => parseManifest(Buffer.from('not json'), dockerSchema1Signed), 'MANIFEST_INVALID', /schema 1/);
});

test('invalid JSON, non-object, wrong schemaVersion', () => {
  rejects(() => parseManifest(Buffer.from('{"schemaVersion":2,'), ociManifest), 'MANIFEST_INVALID', /not valid JSON/);
  rejects(() => parseManifest(Buffer.from('[1,2]'), ociManifest), 'MANIFEST_INVALID', /JSON object/);
  rejects(() => parseManifest(buf({ schemaVersion: 3, mediaType: ociManifest, config: cfg, layers: [] }), ociManifest), 'MANIFEST_INVALID', /schemaVersion must be 2, got 3/);
  rejects(() => parseManifest(buf({ mediaType: ociManifest, config: cfg, layers: [] }), ociManifest), 'MANIFEST_INVALID', /schemaVersion must be 2, got nothing/);
  rejects(() => parseManifest(buf({ schemaVersion: '2', mediaType: ociManifest, config: cfg, layers: [] }), ociManifest), 'MANIFEST_INVALID', /schemaVersion/);
});

test('media type mismatch, missing or unknown media type', () => {
  rejects(
    () => parseManifest(buf({ schemaVersion: 2, mediaType: ociManifest, config: cfg, layers: [] }), dockerManifest),
    'MANIFEST_INVALID',
    /does not match the Content-Type/,
  );
  rejects(() => parseManifest(buf({ schemaVersion: 2, config: cfg, layers: [] }), null), 'MANIFEST_INVALID', /media type unknown/);
  rejects(() => parseManifest(buf({ schemaVersion: 2, config: cfg, layers: [] }), 'application/json'), 'MANIFEST_INVALID', /media type unknown/);
  rejects(() => parseManifest(buf({ schemaVersion: 2, mediaType: 'application/vnd.foo+json', config: cfg, layers: [] }), null), 'MANIFEST_INVALID', /unsupported manifest media type/);
  rejects(() => parseManifest(buf({ schemaVersion: 2, mediaType: 7, config: cfg, layers: [] }), null), 'MANIFEST_INVALID', /mediaType must be a string/);
});

test('structure: index vs image fields', () => {
  rejects(() => parseManifest(buf({ schemaVersion: 2, mediaType: ociIndex }), null), 'MANIFEST_INVALID', /manifests array/);
  rejects(() => parseManifest(buf({ schemaVersion: 2, mediaType: ociIndex, manifests: [], config: cfg }), null), 'MANIFEST_INVALID', /must not have a config/);
  rejects(() => parseManifest(buf({ schemaVersion: 2, mediaType: ociManifest, layers: [] }), null), 'MANIFEST_INVALID', /config descriptor/);
  rejects(() => parseManifest(buf({ schemaVersion: 2, mediaType: ociManifest, config: cfg }), null), 'MANIFEST_INVALID', /layers array/);
  rejects(() => parseManifest(buf({ schemaVersion: 2, mediaType: ociManifest, config: cfg, layers: [], manifests: [] }), null), 'MANIFEST_INVALID', /must not have manifests/);
});

test('malformed descriptors name the field', () => {
  const img = (l: unknown) => buf({ schemaVersion: 2, mediaType: ociManifest, config: cfg, layers: [l] });
  rejects(() => parseManifest(img({ ...layer, digest: 'sha256:abc' }), null), 'MANIFEST_INVALID', /layers\[0\]\.digest is not a valid digest/);
  rejects(() => parseManifest(img({ ...layer, digest: 'md5:' + 'a'.repeat(32) }), null), 'MANIFEST_INVALID', /layers\[0\]\.digest/);
  rejects(() => parseManifest(img({ ...layer, size: -1 }), null), 'MANIFEST_INVALID', /layers\[0\]\.size must be a non-negative integer, got -1/);
  rejects(() => parseManifest(img({ ...layer, size: 1.5 }), null), 'MANIFEST_INVALID', /size/);
  rejects(() => parseManifest(img({ ...layer, size: '12' }), null), 'MANIFEST_INVALID', /size/);
  rejects(() => parseManifest(img({ ...layer, mediaType: 'nope' }), null), 'MANIFEST_INVALID', /layers\[0\]\.mediaType/);
  rejects(() => parseManifest(img('x'), null), 'MANIFEST_INVALID', /layers\[0\] must be a descriptor object/);
  rejects(() => parseManifest(img({ ...layer, annotations: { a: 1 } }), null), 'MANIFEST_INVALID', /annotations\.a must be a string/);
  rejects(() => parseManifest(img({ ...layer, urls: 'http://x' }), null), 'MANIFEST_INVALID', /urls must be an array/);
  rejects(
    () => parseManifest(buf({ schemaVersion: 2, mediaType: ociManifest, config: { ...cfg, digest: 'x' }, layers: [] }), null),
    'MANIFEST_INVALID',
    /config\.digest/,
  );
  rejects(
    () => parseManifest(buf({ schemaVersion: 2, mediaType: ociManifest, config: cfg, layers: [], subject: { mediaType: ociManifest, size: 1 } }), null),
    'MANIFEST_INVALID',
    /subject\.digest/,
  );
  rejects(
    () => parseManifest(buf({ schemaVersion: 2, mediaType: ociManifest, config: cfg, layers: [], artifactType: 'bad' }), null),
    'MANIFEST_INVALID',
    /artifactType must be a media type/,
  );
  rejects(
    () =>
      parseManifest(
        buf({ schemaVersion: 2, mediaType: ociIndex, manifests: [{ mediaType: ociManifest, digest: d('c'), size: 1, platform: { os: 'linux' } }] }),
        null,
      ),
    'MANIFEST_INVALID',
    /manifests\[0\]\.platform\.architecture/,
  );
});
