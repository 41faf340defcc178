import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sbomAccessory, sbomDescription } from './sbom-accessory.ts';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('the SBOM accessory', () => {
  it('is Harbor’s manifest: sbom config type, one raw-JSON .tar layer, the subject, no artifactType, four annotations', () => {
    const subject = { digest: `sha256:${'a'.repeat(64)}`, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', size: 1234 };
    const sbom = { spdxVersion: 'SPDX-2.3', name: 'x' };
    const a = sbomAccessory(sbom, 'application/spdx+json', subject, Date.parse('2024-06-10T06:13:20.456Z'));
    const m = JSON.parse(a.manifest.toString()) as Record<string, unknown>; // built just above
    assert.deepEqual(m, {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.goharbor.harbor.sbom.v1', digest: sha(a.config), size: a.config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(a.layer), size: a.layer.length }],
      subject,
      annotations: {
        created: '2024-06-10T06:13:20Z',
        'created-by': 'Wharf',
        'org.opencontainers.artifact.created': '2024-06-10T06:13:20Z',
        'org.opencontainers.artifact.description': 'SPDX JSON SBOM',
      },
    });
    assert.equal(a.layer.toString(), '{"spdxVersion":"SPDX-2.3","name":"x"}');
    assert.equal(a.digest, sha(a.manifest));
    assert.deepEqual(JSON.parse(a.config.toString()), { created: '2024-06-10T06:13:20Z', architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [] } });
  });

  it('names the format', () => {
    assert.equal(sbomDescription('application/vnd.cyclonedx+json'), 'CycloneDX JSON SBOM');
    assert.equal(sbomDescription('application/spdx+json'), 'SPDX JSON SBOM');
  });
});
