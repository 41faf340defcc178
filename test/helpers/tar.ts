/**
 * A minimal POSIX ustar writer for test image layers: regular files and directories only, written
 * as a stream so a layer of hundreds of MiB never sits in memory.
 */
import { Readable } from 'node:stream';

const block = 512;

/** One tar entry: a directory (no content) or a regular file with a size and a content producer. */
export type TarEntry =
  | { type: 'dir'; name: string; mode?: number }
  | { type: 'file'; name: string; mode?: number; size: number; content: () => AsyncIterable<Buffer> | Iterable<Buffer> };

function octal(value: number, width: number): string {
  // width - 1 digits and a NUL terminator, as ustar readers expect.
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** The 512-byte ustar header for `entry`; throws on names that do not fit. */
export function tarHeader(entry: TarEntry): Buffer {
  let name = entry.type === 'dir' && !entry.name.endsWith('/') ? entry.name + '/' : entry.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`tar: name too long: ${entry.name}`);
  }
  const size = entry.type === 'file' ? entry.size : 0;
  const h = Buffer.alloc(block, 0);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644), 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii'); // uid
  h.write(octal(0, 8), 116, 8, 'ascii'); // gid
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(0, 12), 136, 12, 'ascii'); // mtime: fixed, so layers are reproducible
  h.write('        ', 148, 8, 'ascii'); // checksum placeholder: spaces while summing
  h.write(entry.type === 'dir' ? '5' : '0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

async function* tarChunks(entries: Iterable<TarEntry>): AsyncGenerator<Buffer> {
  for (const e of entries) {
    yield tarHeader(e);
    if (e.type !== 'file') continue;
    let written = 0;
    for await (const chunk of e.content()) {
      written += chunk.length;
      if (written > e.size) throw new Error(`tar: ${e.name} produced more than its declared ${e.size} bytes`);
      yield chunk;
    }
    if (written !== e.size) throw new Error(`tar: ${e.name} produced ${written} bytes, declared ${e.size}`);
    const pad = (block - (e.size % block)) % block;
    if (pad) yield Buffer.alloc(pad, 0);
  }
  yield Buffer.alloc(block * 2, 0); // end of archive
}

/** A readable stream of the uncompressed tar archive of `entries`. */
export function tarStream(entries: Iterable<TarEntry>): Readable {
  return Readable.from(tarChunks(entries), { objectMode: false });
}
