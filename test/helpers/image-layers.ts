/**
 * Builds image layers for the analyzer tests: tar archives (via tar-stream's packer, so symlinks,
 * hard links, whiteouts and PAX long names come out as real tools write them), compressed or not,
 * and an in-memory ImageSource that streams them back in small chunks and counts the opens.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { ImageSource } from '../../src/scanning/analyzer/index.ts';

export type LayerItem =
  | { path: string; type?: 'file'; content: string | Buffer; mode?: number }
  | { path: string; type: 'directory'; mode?: number }
  | { path: string; type: 'symlink' | 'link'; linkname: string };

/** A plain tar archive of `items`, in order. */
export async function tarOf(items: readonly LayerItem[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(Buffer.from(chunk instanceof Uint8Array ? chunk : String(chunk)));
  })();
  for (const item of items) {
    if (item.type === 'directory') pack.entry({ name: item.path, type: 'directory', mode: item.mode ?? 0o755 });
    else if ('linkname' in item) pack.entry({ name: item.path, type: item.type, linkname: item.linkname });
    else pack.entry({ name: item.path, mode: item.mode ?? 0o644 }, typeof item.content === 'string' ? Buffer.from(item.content) : item.content);
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export async function gzipLayer(items: readonly LayerItem[]): Promise<Buffer> {
  return gzipSync(await tarOf(items));
}

export interface MemoryImage extends ImageSource {
  /** Digests in the order openBlob was called. */
  opened: string[];
}

/** An image whose layers are `blobs` (already compressed or not), served in 8 KiB chunks. */
export function memoryImage(blobs: ReadonlyArray<Buffer | { bytes: Buffer; mediaType: string }>): MemoryImage {
  const byDigest = new Map<string, Buffer>();
  const layers = blobs.map((blob) => {
    const bytes = Buffer.isBuffer(blob) ? blob : blob.bytes;
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    byDigest.set(digest, bytes);
    return { digest, mediaType: Buffer.isBuffer(blob) ? 'application/vnd.oci.image.layer.v1.tar+gzip' : blob.mediaType, size: bytes.length };
  });
  const opened: string[] = [];
  return {
    layers,
    opened,
    async openBlob(digest) {
      const bytes = byDigest.get(digest);
      if (!bytes) throw new Error(`no blob ${digest}`);
      opened.push(digest);
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += 8192) chunks.push(bytes.subarray(at, at + 8192));
      return Readable.from(chunks, { objectMode: false });
    },
  };
}
