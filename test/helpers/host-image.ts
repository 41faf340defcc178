/**
 * A one-layer OCI image of this machine's real package database: its /etc/os-release and
 * /var/lib/dpkg/status in a gzip tar layer (what the built-in scanner reads on a Debian machine),
 * plus, when given, one more file that gives the image a digest of its own.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { sha256 } from './oci-layout.ts';
import { tarStream } from './tar.ts';

export interface HostImage {
  /** The layer (gzip), the config and the OCI manifest, as pushed. */
  layer: Buffer;
  config: Buffer;
  manifest: Buffer;
}

/** Builds the image; `extra` (a file `etc/<name>`) makes another digest. */
export async function hostImage(extra?: { name: string; data: Buffer }): Promise<HostImage> {
  const files = [
    { name: 'etc/os-release', data: readFileSync('/etc/os-release') },
    { name: 'var/lib/dpkg/status', data: readFileSync('/var/lib/dpkg/status') },
    ...(extra ? [{ name: `etc/${extra.name}`, data: extra.data }] : []),
  ];
  const chunks: Buffer[] = [];
  const entries = [{ type: 'dir' as const, name: 'etc' }, { type: 'dir' as const, name: 'var' }, { type: 'dir' as const, name: 'var/lib' }, { type: 'dir' as const, name: 'var/lib/dpkg' }, ...files.map((f) => ({ type: 'file' as const, name: f.name, size: f.data.length, content: () => [f.data] }))];
  for await (const c of tarStream(entries)) chunks.push(Buffer.from(c));
  const tar = Buffer.concat(chunks);
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] }, config: {} }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { layer, config, manifest };
}
