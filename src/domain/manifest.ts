/**
 * Manifest parsing and validation, without I/O. {@link parseManifest} takes the exact bytes a
 * client pushed and the Content-Type it declared and returns what the registry needs to store and
 * link them: the media type, the config and layer descriptors, an index's child manifests with
 * their platforms, the OCI 1.1 `subject` and `artifactType`, and the annotations.
 *
 * Accepted: OCI image manifest and index (artifacts included: any config media type, the empty
 * config, `artifactType`, `subject`), Docker schema 2 manifest and manifest list.
 * Refused with MANIFEST_INVALID: Docker schema 1, unknown media types, invalid JSON, a body
 * `mediaType` that contradicts the Content-Type, a wrong `schemaVersion`, malformed descriptors.
 */
import { fail } from './errors.ts';
import { isDigest, type Digest } from './digest.ts';
import {
  dockerManifest,
  dockerManifestList,
  isImageConfigMediaType,
  isIndexMediaType,
  isManifestMediaType,
  isMediaType,
  isSchema1MediaType,
  mediaTypeOfHeader,
  ociIndex,
  ociManifest,
  type ManifestMediaType,
} from './media-types.ts';

/** A platform, as an index entry describes its child manifest. */
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

/** A validated content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType: string | null;
  annotations: Record<string, string> | null;
  /** Only on an index's entries. */
  platform: Platform | null;
  /** Where a non-distributable (foreign) layer can be fetched; null when the registry must hold it. */
  urls: string[] | null;
}

/** What a parsed manifest says. */
export interface ParsedManifest {
  /** The manifest's media type (from the body, else the Content-Type). */
  mediaType: ManifestMediaType;
  /** `image` for a single manifest, `index` for an OCI index or a Docker manifest list. */
  kind: 'image' | 'index';
  /** The config descriptor; null for an index. */
  config: Descriptor | null;
  /** The layer (or, for artifacts, blob) descriptors; empty for an index. */
  layers: Descriptor[];
  /** Every blob the manifest references: the config first, then the layers. */
  blobs: Descriptor[];
  /** An index's child manifests (with their platforms); empty for a single manifest. */
  manifests: Descriptor[];
  /** The OCI 1.1 subject (the manifest this one refers to), or null. */
  subject: Descriptor | null;
  /** The manifest's own `artifactType`, or null. */
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

/** Content-Type values that declare nothing: the body's `mediaType` decides. */
const genericContentTypes = new Set(['application/json', 'application/octet-stream']);

const schema1Message =
  'Docker schema 1 manifests are not supported: push with a current client (Docker schema 2 or OCI image manifests)';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string, detail?: Record<string, unknown>): never {
  throw fail('MANIFEST_INVALID', message, detail);
}

/**
 * Parses and validates a manifest. `contentType` is the request's Content-Type header (parameters
 * allowed; absent, `application/json` and `application/octet-stream` defer to the body's `mediaType`).
 */
export function parseManifest(body: Uint8Array, contentType: string | null | undefined): ParsedManifest {
  const declared = mediaTypeOfHeader(contentType);
  if (declared !== null && isSchema1MediaType(declared)) invalid(schema1Message, { mediaType: declared });

  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    invalid(`manifest is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isObject(doc)) invalid('manifest must be a JSON object');

  const bodyType = doc.mediaType;
  if (bodyType !== undefined && typeof bodyType !== 'string') invalid('manifest mediaType must be a string');
  if (typeof bodyType === 'string' && isSchema1MediaType(bodyType)) invalid(schema1Message, { mediaType: bodyType });
  if (doc.schemaVersion === 1) invalid(schema1Message, { schemaVersion: 1 });
  if (doc.schemaVersion !== 2) {
    invalid(`manifest schemaVersion must be 2, got ${JSON.stringify(doc.schemaVersion) ?? 'nothing'}`, { schemaVersion: doc.schemaVersion ?? null });
  }

  const specific = declared !== null && !genericContentTypes.has(declared) ? declared : null;
  if (typeof bodyType === 'string' && specific !== null && bodyType !== specific) {
    invalid(`manifest mediaType ${bodyType} does not match the Content-Type ${specific}`, { mediaType: bodyType, contentType: specific });
  }
  const mediaType = typeof bodyType === 'string' ? bodyType : specific;
  if (mediaType === null) {
    invalid('manifest media type unknown: set mediaType in the manifest or send it as the Content-Type header');
  }
  if (!isManifestMediaType(mediaType)) {
    invalid(`unsupported manifest media type ${mediaType}: Wharf accepts ${ociManifest}, ${ociIndex}, ${dockerManifest} and ${dockerManifestList}`, {
      mediaType,
    });
  }
  // Docker's formats require mediaType in the body; OCI's only recommend it.
  if ((mediaType === dockerManifest || mediaType === dockerManifestList) && bodyType === undefined) {
    invalid(`a ${mediaType} manifest must carry its mediaType field`, { mediaType });
  }

  const artifactType = optionalMediaType(doc.artifactType, 'artifactType');
  const annotations = parseAnnotations(doc.annotations, 'annotations');
  const subject = doc.subject === undefined || doc.subject === null ? null : parseDescriptor(doc.subject, 'subject', false);

  if (isIndexMediaType(mediaType)) {
    if (doc.config !== undefined) invalid('an index must not have a config');
    if (doc.layers !== undefined) invalid('an index must not have layers; list child manifests under manifests');
    if (!Array.isArray(doc.manifests)) invalid('an index must have a manifests array');
    const manifests = doc.manifests.map((d, i) => parseDescriptor(d, `manifests[${i}]`, true));
    return { mediaType, kind: 'index', config: null, layers: [], blobs: [], manifests, subject, artifactType, annotations };
  }

  if (doc.manifests !== undefined) invalid('an image manifest must not have manifests; use an index for multi-platform images');
  if (doc.config === undefined) invalid('an image manifest must have a config descriptor');
  const config = parseDescriptor(doc.config, 'config', false);
  if (!Array.isArray(doc.layers)) invalid('an image manifest must have a layers array');
  const layers = doc.layers.map((d, i) => parseDescriptor(d, `layers[${i}]`, false));
  return { mediaType, kind: 'image', config, layers, blobs: [config, ...layers], manifests: [], subject, artifactType, annotations };
}

/**
 * The artifact type Wharf records for a manifest: its `artifactType`, else the config media type
 * when the config is not an image config (Helm charts, SBOMs, signatures), else null.
 */
export function effectiveArtifactType(m: ParsedManifest): string | null {
  if (m.artifactType !== null) return m.artifactType;
  if (m.config !== null && !isImageConfigMediaType(m.config.mediaType)) return m.config.mediaType;
  return null;
}

function optionalMediaType(v: unknown, where: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || !isMediaType(v)) invalid(`${where} must be a media type (type/subtype), got ${JSON.stringify(v)}`);
  return v;
}

function parseAnnotations(v: unknown, where: string): Record<string, string> | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) invalid(`${where} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') invalid(`${where}.${k} must be a string`);
    out[k] = val;
  }
  return out;
}

function stringList(v: unknown, where: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) invalid(`${where} must be an array of strings`);
  return v.map(String);
}

function parsePlatform(v: unknown, where: string): Platform | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) invalid(`${where} must be an object`);
  const { architecture, os, variant } = v;
  if (typeof architecture !== 'string' || architecture === '') invalid(`${where}.architecture must be a non-empty string`);
  if (typeof os !== 'string' || os === '') invalid(`${where}.os must be a non-empty string`);
  const p: Platform = { architecture, os };
  const osVersion = v['os.version'];
  if (osVersion !== undefined) {
    if (typeof osVersion !== 'string') invalid(`${where}.os.version must be a string`);
    p['os.version'] = osVersion;
  }
  const osFeatures = stringList(v['os.features'], `${where}.os.features`);
  if (osFeatures) p['os.features'] = osFeatures;
  if (variant !== undefined) {
    if (typeof variant !== 'string') invalid(`${where}.variant must be a string`);
    p.variant = variant;
  }
  const features = stringList(v.features, `${where}.features`);
  if (features) p.features = features;
  return p;
}

function parseDescriptor(v: unknown, where: string, withPlatform: boolean): Descriptor {
  if (!isObject(v)) invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || !isMediaType(mediaType)) {
    invalid(`${where}.mediaType must be a media type (type/subtype), got ${JSON.stringify(mediaType) ?? 'nothing'}`);
  }
  if (typeof digest !== 'string' || !isDigest(digest)) {
    invalid(`${where}.digest is not a valid digest: ${JSON.stringify(digest) ?? 'nothing'}`, { digest: digest ?? null });
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    invalid(`${where}.size must be a non-negative integer, got ${JSON.stringify(size) ?? 'nothing'}`);
  }
  const urls = stringList(v.urls, `${where}.urls`);
  if (v.data !== undefined && typeof v.data !== 'string') invalid(`${where}.data must be a base64 string`);
  return {
    mediaType,
    // isDigest() above validated the syntax and algorithm.
    digest: digest as Digest,
    size,
    artifactType: optionalMediaType(v.artifactType, `${where}.artifactType`),
    annotations: parseAnnotations(v.annotations, `${where}.annotations`),
    platform: withPlatform ? parsePlatform(v.platform, `${where}.platform`) : null,
    urls: urls && urls.length > 0 ? urls : null,
  };
}
