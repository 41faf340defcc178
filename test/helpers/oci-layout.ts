/**
 * Builds OCI image layouts on disk (blobs/sha256, index.json, oci-layout) without Docker or the
 * network, for skopeo to push (`oci:<dir>:<tag>`): a one-layer image, a multi-layer image of a given
 * size in random (incompressible) bytes, a two-platform index, and an artifact with a subject.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { tarStream, type TarEntry } from './tar.ts';

/** OCI media types the builders write. */
export const mediaTypes = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

/** `sha256:<hex>` of `data`. */
export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** A byte counter and SHA-256 hasher that passes data through. */
class HashingPassThrough extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return 'sha256:' + this.hash.digest('hex');
  }
}

/** Yields `size` random bytes in chunks of at most 1 MiB. */
export function* randomChunks(size: number): Generator<Buffer> {
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 1 << 20);
    yield randomBytes(n);
    left -= n;
  }
}

/** One OCI image layout folder; blobs are content-addressed, `tag()` names a manifest in index.json. */
export class OciLayout {
  private readonly refs: Descriptor[] = [];
  private seq = 0;

  private constructor(readonly dir: string) {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    this.writeIndex();
  }

  /** A new layout in `dir`, or in a fresh temporary folder. */
  static create(dir?: string): OciLayout {
    return new OciLayout(dir ?? mkdtempSync(join(tmpdir(), 'wharf-oci-')));
  }

  /** The skopeo reference of a tag in this layout. */
  ref(tag: string): string {
    return `oci:${this.dir}:${tag}`;
  }

  /** Path of a blob file. */
  blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  }

  /** Stores `data` as a blob and returns its descriptor. */
  putBlob(mediaType: string, data: Buffer): Descriptor {
    const digest = sha256(data);
    writeFileSync(this.blobPath(digest), data);
    return { mediaType, digest, size: data.length };
  }

  /** Stores a JSON document (serialised once, so the digest is of the exact bytes written). */
  putJson(mediaType: string, doc: object): { descriptor: Descriptor; body: Buffer } {
    const body = Buffer.from(JSON.stringify(doc));
    return { descriptor: this.putBlob(mediaType, body), body };
  }

  /** Streams `entries` as a gzip-compressed tar layer into the layout; returns its descriptor and diff id. */
  async putLayer(entries: TarEntry[]): Promise<{ descriptor: Descriptor; diffId: string }> {
    const tmp = join(this.dir, `.layer-${process.pid}-${this.seq++}.tmp`);
    const raw = new HashingPassThrough();
    const gz = new HashingPassThrough();
    // Level 1: the content is random, so stronger levels only cost time.
    await pipeline(tarStream(entries), raw, createGzip({ level: 1 }), gz, createWriteStream(tmp));
    const digest = gz.digest();
    renameSync(tmp, this.blobPath(digest));
    return { descriptor: { mediaType: mediaTypes.layerGzip, digest, size: gz.size }, diffId: raw.digest() };
  }

  /** Names `descriptor` `tag` in index.json (replacing an earlier entry of the same tag). */
  tag(tag: string, descriptor: Descriptor): void {
    const i = this.refs.findIndex((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
    if (i >= 0) this.refs.splice(i, 1);
    const { platform: _platform, ...rest } = descriptor;
    this.refs.push({ ...rest, annotations: { ...descriptor.annotations, 'org.opencontainers.image.ref.name': tag } });
    this.writeIndex();
  }

  /** Reads a blob back. */
  readBlob(digest: string): Buffer {
    return readFileSync(this.blobPath(digest));
  }

  /** Deletes the layout folder. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeIndex(): void {
    const index = { schemaVersion: 2, mediaType: mediaTypes.index, manifests: this.refs };
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify(index, null, 2));
  }
}

/** An image manifest written to a layout. */
export interface BuiltImage {
  /** The manifest's descriptor (digest of the exact bytes). */
  manifest: Descriptor;
  manifestBody: Buffer;
  config: Descriptor;
  layers: Descriptor[];
}

/** Options for {@link writeImage}. */
export interface ImageOptions {
  /** Each layer's entries. */
  layers: TarEntry[][];
  architecture?: string;
  os?: string;
  /** Names the manifest in index.json; untagged when omitted (e.g. the children of an index). */
  tag?: string;
}

/** Writes layers, a config and an image manifest into `layout`. */
export async function writeImage(layout: OciLayout, opts: ImageOptions): Promise<BuiltImage> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const entries of opts.layers) {
    const l = await layout.putLayer(entries);
    layers.push(l.descriptor);
    diffIds.push(l.diffId);
  }
  const architecture = opts.architecture ?? 'amd64';
  const os = opts.os ?? 'linux';
  const config = layout.putJson(mediaTypes.config, {
    architecture,
    os,
    config: { Cmd: ['/bin/true'], Env: ['PATH=/usr/bin:/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map((_, i) => ({ created_by: `wharf test layer ${i}` })),
  }).descriptor;
  const { descriptor, body } = layout.putJson(mediaTypes.manifest, {
    schemaVersion: 2,
    mediaType: mediaTypes.manifest,
    config,
    layers,
  });
  const manifest: Descriptor = { ...descriptor, platform: { architecture, os } };
  if (opts.tag) layout.tag(opts.tag, descriptor);
  return { manifest, manifestBody: body, config, layers };
}

/** A small text file with random content, so every built image is distinct. */
function smallFile(name: string): TarEntry {
  const content = Buffer.from(`wharf test ${randomBytes(16).toString('hex')}\n`);
  return { type: 'file', name, size: content.length, content: () => [content] };
}

/** A one-layer image: a folder and one small file. */
export async function writeSingleLayerImage(layout: OciLayout, tag: string): Promise<BuiltImage> {
  return writeImage(layout, { tag, layers: [[{ type: 'dir', name: 'etc' }, smallFile('etc/wharf-test.txt')]] });
}

/** An image of `layers` layers totalling about `totalMiB` MiB of random bytes (one file per layer). */
export async function writeMultiLayerImage(layout: OciLayout, tag: string, opts: { totalMiB: number; layers: number }): Promise<BuiltImage> {
  const per = Math.floor((opts.totalMiB * 1024 * 1024) / opts.layers);
  const layers: TarEntry[][] = [];
  for (let i = 0; i < opts.layers; i++) {
    layers.push([
      { type: 'dir', name: `data${i}` },
      { type: 'file', name: `data${i}/random.bin`, size: per, content: () => randomChunks(per) },
    ]);
  }
  return writeImage(layout, { tag, layers });
}

/** A two-platform image index (linux/amd64 and linux/arm64), each child a one-layer image. */
export interface BuiltIndex {
  index: Descriptor;
  indexBody: Buffer;
  children: BuiltImage[];
}

/** Writes two one-layer images and an OCI image index over them, tagged `tag`. */
export async function writePlatformIndex(layout: OciLayout, tag: string): Promise<BuiltIndex> {
  const children: BuiltImage[] = [];
  for (const architecture of ['amd64', 'arm64']) {
    children.push(await writeImage(layout, { architecture, os: 'linux', layers: [[smallFile(`etc/wharf-${architecture}.txt`)]] }));
  }
  const { descriptor, body } = layout.putJson(mediaTypes.index, {
    schemaVersion: 2,
    mediaType: mediaTypes.index,
    manifests: children.map((c) => c.manifest),
  });
  layout.tag(tag, descriptor);
  return { index: descriptor, indexBody: body, children };
}

/** The artifact type of the test artifacts. */
export const testArtifactType = 'application/vnd.wharf.test.sbom.v1+json';

/** An artifact manifest written to a layout. */
export interface BuiltArtifact {
  manifest: Descriptor;
  manifestBody: Buffer;
  /** The content blob and the empty config blob. */
  blobs: Array<{ descriptor: Descriptor; data: Buffer }>;
}

/**
 * An OCI 1.1 artifact: an image manifest with `artifactType`, the empty config `{}`, one JSON
 * layer and a `subject` naming `subject`. Tagged `tag` when given.
 */
export function writeArtifact(layout: OciLayout, subject: Descriptor, tag?: string): BuiltArtifact {
  const emptyData = Buffer.from('{}');
  const empty = layout.putBlob(mediaTypes.empty, emptyData);
  const sbomData = Buffer.from(JSON.stringify({ sbom: 'wharf-test', nonce: randomBytes(8).toString('hex') }));
  const sbom = layout.putBlob(testArtifactType, sbomData);
  const { platform: _platform, ...subjectDescriptor } = subject;
  const { descriptor, body } = layout.putJson(mediaTypes.manifest, {
    schemaVersion: 2,
    mediaType: mediaTypes.manifest,
    artifactType: testArtifactType,
    config: empty,
    layers: [sbom],
    subject: subjectDescriptor,
    annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
  });
  const manifest: Descriptor = { ...descriptor, artifactType: testArtifactType };
  if (tag) layout.tag(tag, manifest);
  return {
    manifest,
    manifestBody: body,
    blobs: [
      { descriptor: empty, data: emptyData },
      { descriptor: sbom, data: sbomData },
    ],
  };
}

/** Reads a layout's index.json entries (e.g. one skopeo wrote when copying out). */
export function readLayoutIndex(dir: string): Descriptor[] {
  const doc: unknown = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  if (typeof doc !== 'object' || doc === null || !('manifests' in doc) || !Array.isArray(doc.manifests)) {
    throw new Error(`${dir}/index.json has no manifests array`);
  }
  // index.json is an OCI index; its entries are descriptors.
  return doc.manifests as Descriptor[];
}
