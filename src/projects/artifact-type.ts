/**
 * Harbor's artifact `type`, derived from media types the way Harbor's processors classify them:
 * container images (and image indexes) are IMAGE, Helm charts are CHART, everything else UNKNOWN.
 */

/** The artifact types Wharf reports. */
export type ArtifactKind = 'IMAGE' | 'CHART' | 'UNKNOWN';

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

/** True for manifest list / image index media types. */
export function isIndexMediaType(mediaType: string): boolean {
  return indexTypes.has(mediaType);
}

/**
 * Classifies an artifact. An explicit OCI `artifactType` that is not an image config wins over the
 * manifest's shape (a signature or SBOM pushed as an OCI manifest is not an IMAGE).
 */
export function artifactKind(mediaType: string, configMediaType: string | null, artifactType: string | null): ArtifactKind {
  if (configMediaType === chartConfigType || artifactType === chartConfigType) return 'CHART';
  if (artifactType !== null && !imageConfigTypes.has(artifactType)) return 'UNKNOWN';
  if (configMediaType !== null && imageConfigTypes.has(configMediaType)) return 'IMAGE';
  if (indexTypes.has(mediaType) || schema1Types.has(mediaType)) return 'IMAGE';
  return 'UNKNOWN';
}
