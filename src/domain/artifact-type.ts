/**
 * Harbor's artifact `type`, derived from media types the way Harbor's processors classify them:
 * container images (and image indexes) are IMAGE, Helm charts are CHART, everything else UNKNOWN.
 */

/** The artifact types Wharf reports. */
export type ArtifactKind = 'IMAGE' | 'CHART' | 'SBOM' | 'UNKNOWN';

/** The config (or artifactType) of Harbor's SBOM accessory. */
export const harborSbomMediaType = 'application/vnd.goharbor.harbor.sbom.v1';

const imageConfigTypes = new Set([
  'application/vnd.docker.container.image.v1+json',
  'application/vnd.oci.image.config.v1+json',
]);

const indexTypes = new Set([
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
]);

const schema1Types = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

const chartConfigType = 'application/vnd.cncf.helm.config.v1+json';

/**
 * Classifies an artifact. An explicit OCI `artifactType` that is not an image config wins over the
 * manifest's shape (a signature or SBOM pushed as an OCI manifest is not an IMAGE).
 */
export function artifactKind(mediaType: string, configMediaType: string | null, artifactType: string | null): ArtifactKind {
  if (configMediaType === chartConfigType || artifactType === chartConfigType) return 'CHART';
  if (configMediaType === harborSbomMediaType || artifactType === harborSbomMediaType) return 'SBOM';
  if (artifactType !== null && !imageConfigTypes.has(artifactType)) return 'UNKNOWN';
  if (configMediaType !== null && imageConfigTypes.has(configMediaType)) return 'IMAGE';
  if (indexTypes.has(mediaType) || schema1Types.has(mediaType)) return 'IMAGE';
  return 'UNKNOWN';
}

/** Harbor's accessory types of manifests that name a subject. */
export type AccessoryType = 'sbom.harbor' | 'signature.cosign' | 'signature.notation' | 'subject.accessory';

/**
 * The accessory type of a manifest with a `subject`, as Harbor records it: Harbor's SBOM by its
 * config or artifactType, cosign and notation signatures by theirs, anything else a plain subject
 * accessory (SBOMs and attestations users attach with oras, for example).
 */
export function accessoryType(configMediaType: string | null, artifactType: string | null): AccessoryType {
  const t = artifactType ?? configMediaType ?? '';
  if (t === harborSbomMediaType || configMediaType === harborSbomMediaType) return 'sbom.harbor';
  if (t === 'application/vnd.dev.cosign.artifact.sig.v1+json' || configMediaType === 'application/vnd.dev.cosign.simplesigning.v1+json') return 'signature.cosign';
  if (t === 'application/vnd.cncf.notary.signature') return 'signature.notation';
  return 'subject.accessory';
}
