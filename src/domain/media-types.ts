/**
 * Media types Wharf knows by name: the manifest formats it accepts (OCI image manifest and index,
 * Docker schema 2 manifest and manifest list), the Docker schema 1 types it refuses, and the config
 * types that mark a manifest as a runnable image rather than an artifact.
 */

/** OCI image manifest. */
export const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
/** OCI image index. */
export const ociIndex = 'application/vnd.oci.image.index.v1+json';
/** OCI image config. */
export const ociImageConfig = 'application/vnd.oci.image.config.v1+json';
/** The OCI empty descriptor's media type (`{}`), used as the config of artifacts. */
export const ociEmpty = 'application/vnd.oci.empty.v1+json';
/** Docker image manifest, schema 2. */
export const dockerManifest = 'application/vnd.docker.distribution.manifest.v2+json';
/** Docker manifest list (the multi-platform form of schema 2). */
export const dockerManifestList = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** Docker image config (schema 2). */
export const dockerImageConfig = 'application/vnd.docker.container.image.v1+json';
/** Docker schema 1 manifest (refused). */
export const dockerSchema1 = 'application/vnd.docker.distribution.manifest.v1+json';
/** Docker schema 1 signed manifest (refused). */
export const dockerSchema1Signed = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/** Manifest media types Wharf stores and serves. */
export const manifestMediaTypes = [ociManifest, ociIndex, dockerManifest, dockerManifestList] as const;
/** A manifest media type Wharf accepts. */
export type ManifestMediaType = (typeof manifestMediaTypes)[number];

/** True when `s` is a manifest media type Wharf accepts. */
export function isManifestMediaType(s: string): s is ManifestMediaType {
  return (manifestMediaTypes as readonly string[]).includes(s);
}

/** True for the two index forms (OCI index, Docker manifest list). */
export function isIndexMediaType(s: string): boolean {
  return s === ociIndex || s === dockerManifestList;
}

/** True for the Docker schema 1 media types, which Wharf refuses. */
export function isSchema1MediaType(s: string): boolean {
  return s === dockerSchema1 || s === dockerSchema1Signed;
}

/** True for the config media types of runnable images (OCI and Docker). */
export function isImageConfigMediaType(s: string): boolean {
  return s === ociImageConfig || s === dockerImageConfig;
}

// RFC 6838 §4.2: type "/" subtype, each a restricted name of 1..127 characters.
const mediaTypeGrammar = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** True when `s` is syntactically a media type (RFC 6838), without parameters. */
export function isMediaType(s: string): boolean {
  return mediaTypeGrammar.test(s);
}

/**
 * The media type of a Content-Type header value: parameters (`; charset=...`) dropped, lower-cased.
 * Returns null for an absent or empty header.
 */
export function mediaTypeOfHeader(header: string | undefined | null): string | null {
  if (header === undefined || header === null) return null;
  const base = header.split(';')[0]?.trim().toLowerCase() ?? '';
  return base === '' ? null : base;
}
