import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessoryType, artifactKind } from './artifact-type.ts';
import { isIndexMediaType } from './media-types.ts';

const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const dockerManifest = 'application/vnd.docker.distribution.manifest.v2+json';

test('images by their config media type', () => {
  assert.equal(artifactKind(dockerManifest, 'application/vnd.docker.container.image.v1+json', null), 'IMAGE');
  assert.equal(artifactKind(ociManifest, 'application/vnd.oci.image.config.v1+json', null), 'IMAGE');
});

test('indexes and schema1 manifests are images', () => {
  assert.equal(artifactKind('application/vnd.oci.image.index.v1+json', null, null), 'IMAGE');
  assert.equal(artifactKind('application/vnd.docker.distribution.manifest.list.v2+json', null, null), 'IMAGE');
  assert.equal(artifactKind('application/vnd.docker.distribution.manifest.v1+prettyjws', null, null), 'IMAGE');
  assert.ok(isIndexMediaType('application/vnd.oci.image.index.v1+json'));
  assert.ok(!isIndexMediaType(ociManifest));
});

test('helm charts', () => {
  assert.equal(artifactKind(ociManifest, 'application/vnd.cncf.helm.config.v1+json', null), 'CHART');
});

test('other OCI artifacts are UNKNOWN, even with an image-shaped manifest', () => {
  assert.equal(artifactKind(ociManifest, 'application/vnd.oci.empty.v1+json', 'application/spdx+json'), 'UNKNOWN');
  assert.equal(artifactKind(ociManifest, 'application/vnd.oci.image.config.v1+json', 'application/vnd.example.sig'), 'UNKNOWN');
  assert.equal(artifactKind(ociManifest, 'application/vnd.unknown.config.v1+json', null), 'UNKNOWN');
});

test("Harbor's SBOM accessory is SBOM; accessory types by config or artifactType", () => {
  assert.equal(artifactKind(ociManifest, 'application/vnd.goharbor.harbor.sbom.v1', 'application/vnd.goharbor.harbor.sbom.v1'), 'SBOM');
  assert.equal(accessoryType('application/vnd.goharbor.harbor.sbom.v1', 'application/vnd.goharbor.harbor.sbom.v1'), 'sbom.harbor');
  assert.equal(accessoryType('application/vnd.oci.empty.v1+json', 'application/vnd.dev.cosign.artifact.sig.v1+json'), 'signature.cosign');
  assert.equal(accessoryType('application/vnd.dev.cosign.simplesigning.v1+json', null), 'signature.cosign');
  assert.equal(accessoryType('application/vnd.oci.empty.v1+json', 'application/vnd.cncf.notary.signature'), 'signature.notation');
  assert.equal(accessoryType('application/vnd.oci.empty.v1+json', 'application/vnd.cyclonedx+json'), 'subject.accessory');
});
