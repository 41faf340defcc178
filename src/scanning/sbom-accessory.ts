/**
 * The SBOM accessory, as Harbor pushes it (the reference §1.12): an OCI image manifest, untagged,
 * in the subject's repository, with config type `application/vnd.goharbor.harbor.sbom.v1` (a
 * minimal config blob), one layer `application/vnd.oci.image.layer.v1.tar` holding the raw compact
 * SBOM JSON (despite `.tar`), the `subject`, no `artifactType`, and the annotations `created`,
 * `created-by`, `org.opencontainers.artifact.created` and `org.opencontainers.artifact.description`.
 *
 * {@link sbomAccessory} builds the three documents (pure); {@link pushSbomAccessory} uploads the
 * two blobs and puts the manifest by digest through the `Registry` as Wharf's system actor, so the
 * registry records its events and quota as for any push.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { systemActor } from '../auth/index.ts';
import { harborSbomMediaType, isDomainError, parseDigest, parseRepoName, type Digest } from '../domain/index.ts';
import type { Registry } from '../registry/index.ts';
import { OCI_MANIFEST } from './adapter/index.ts';

/** The layer type Harbor gives the raw SBOM JSON. */
export const sbomLayerMediaType = 'application/vnd.oci.image.layer.v1.tar';

/** The subject an SBOM describes. */
export interface SbomSubject {
  digest: string;
  mediaType: string;
  size: number;
}

/** The documents of an accessory. */
export interface SbomAccessory {
  config: Buffer;
  layer: Buffer;
  manifest: Buffer;
  digest: string;
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** Harbor's description of the SBOM format. */
export function sbomDescription(mediaType: string): string {
  return mediaType === 'application/vnd.cyclonedx+json' ? 'CycloneDX JSON SBOM' : 'SPDX JSON SBOM';
}

/** Builds the accessory of `sbom` (a document object) for `subject`, created at `now` (ms). */
export function sbomAccessory(sbom: Record<string, unknown>, sbomMediaType: string, subject: SbomSubject, now: number): SbomAccessory {
  const created = new Date(Math.floor(now / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const config = Buffer.from(JSON.stringify({ created, architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from(JSON.stringify(sbom));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: harborSbomMediaType, digest: sha256(config), size: config.length },
      layers: [{ mediaType: sbomLayerMediaType, digest: sha256(layer), size: layer.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: {
        created,
        'created-by': 'Wharf',
        'org.opencontainers.artifact.created': created,
        'org.opencontainers.artifact.description': sbomDescription(sbomMediaType),
      },
    }),
  );
  return { config, layer, manifest, digest: sha256(manifest) };
}

/** What pushing an accessory needs of the registry. */
export type SbomRegistry = Pick<Registry, 'startUpload' | 'completeUpload' | 'putManifest' | 'deleteManifest'>;

/** Uploads the accessory's blobs and puts its manifest by digest into `repository`; returns its digest. */
export async function pushSbomAccessory(registry: SbomRegistry, repository: string, a: SbomAccessory): Promise<Digest> {
  const ctx = { actor: systemActor };
  const repo = parseRepoName(repository);
  for (const blob of [a.config, a.layer]) {
    const up = await registry.startUpload(ctx, repo);
    await registry.completeUpload(ctx, repo, up.id, parseDigest(sha256(blob)), Readable.from([blob]));
  }
  const digest = parseDigest(a.digest);
  await registry.putManifest(ctx, repo, { kind: 'digest', digest }, OCI_MANIFEST, a.manifest);
  return digest;
}

/** Deletes an accessory pushed before (regeneration); a manifest already gone is not an error. */
export async function deleteSbomAccessory(registry: SbomRegistry, repository: string, digest: string): Promise<boolean> {
  try {
    await registry.deleteManifest({ actor: systemActor }, parseRepoName(repository), { kind: 'digest', digest: parseDigest(digest) });
    return true;
  } catch (err) {
    if (isDomainError(err, 'MANIFEST_UNKNOWN') || isDomainError(err, 'NOT_FOUND') || isDomainError(err, 'NAME_UNKNOWN')) return false;
    throw err;
  }
}
