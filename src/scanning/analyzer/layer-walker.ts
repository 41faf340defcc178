/**
 * Streams one image layer as tar entries: sniffs the compression by its magic bytes (gzip
 * `1f 8b`, zstd `28 b5 2f fd`, else plain tar), decompresses on the fly and hands each entry to a
 * visitor with its path normalized (`./` and `/` stripped) and whiteouts recognized. Bytes flow
 * with back-pressure: a visitor that is slow to read a body slows the download; bodies the visitor
 * leaves unread are skipped here. Nothing of the layer is buffered beyond the streams' own windows.
 */
import { spawnSync } from 'node:child_process';
import type { FileHandle } from 'node:fs/promises';
import { Readable, Transform, type Duplex, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { normalizePath } from './merged-tree.ts';
import { ProgramDecoder } from './program-decoder.ts';
import { readTar, type TarHeader } from './tar-reader.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

/** What a tar entry means to the merged tree. */
export type LayerEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'whiteout' | 'opaque' | 'other';

export interface LayerEntry {
  /** Normalized path; for `whiteout` the path it deletes, for `opaque` the directory it empties. */
  path: string;
  type: LayerEntryType;
  size: number;
  mode: number;
  /** Symlinks: the target as written. Hard links: the target's normalized path. */
  linkname?: string;
}

/** A tar entry's bytes, as views of the layer's chunks or copies: iterate it (once) or leave it; what is left unread is skipped. */
export type EntryBody = AsyncIterable<Buffer>;

/**
 * Called once per entry, in tar order; `body` holds a regular file's bytes (read them or not).
 * A visitor with nothing to wait for may return nothing: most entries then cost no promise.
 */
export type LayerVisitor = (entry: LayerEntry, body: EntryBody) => Promise<void> | void;

/**
 * A layer blob that is a file on this machine (Wharf's filesystem store, read in-process): the
 * walker reads it by position, and a decoding program gets its descriptor and reads it itself.
 */
export interface BlobFile {
  /** The open blob file; the walker closes it when the walk ends. Read by position only, so its offset stays at 0 for a program. */
  handle: FileHandle;
  /**
   * Checks the file's bytes (its digest and size), run once alongside the walk; rejects when they
   * do not match, which fails the walk. On `signal` it stops reading the file and settles: the
   * file is closed only after it settled.
   */
  verify(signal: AbortSignal): Promise<void>;
}

/** True for a {@link BlobFile}, false for a stream. */
export function isBlobFile(blob: Readable | BlobFile): blob is BlobFile {
  return !(blob instanceof Readable) && 'handle' in blob;
}

/** Which compression a layer's first bytes announce. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** Reads at least `n` bytes (fewer at the end) and puts them back; returns them and the stream to go on with. */
async function peek(stream: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < n) {
    const chunk: unknown = stream.read();
    if (chunk !== null) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(buf);
      total += buf.length;
      continue;
    }
    if (stream.readableEnded || stream.destroyed) break;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        cleanup();
        resolve();
      };
      const fail = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const cleanup = (): void => {
        stream.off('readable', done);
        stream.off('end', done);
        stream.off('close', done);
        stream.off('error', fail);
      };
      stream.on('readable', done);
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', fail);
    });
  }
  const head = Buffer.concat(chunks);
  if (stream.readableEnded || stream.destroyed) return { head, stream: Readable.from(head.length > 0 ? [head] : []) };
  if (head.length > 0) stream.unshift(head);
  return { head, stream };
}

/** How gzip layers are inflated: `auto` (igzip when installed, else zlib), `zlib`, or the path of an igzip program. */
export type GzipDecoder = 'auto' | 'zlib' | (string & {});

/** How zstd layers are decompressed: `auto` (the zstd program when installed, else built in), `builtin`, or the path of a zstd program. */
export type ZstdDecoder = 'auto' | 'builtin' | (string & {});

/** The decoders a walk uses (`scanning.gzip_decoder`, `scanning.zstd_decoder`). */
export interface Decoders {
  gzip?: GzipDecoder;
  zstd?: ZstdDecoder;
}

const foundPrograms = new Map<string, string | null>();

/** `name` when running `name --version` from the PATH succeeds (checked once per process), else null. */
function findProgram(name: string): string | null {
  let found = foundPrograms.get(name);
  if (found === undefined) {
    const r = spawnSync(name, ['--version'], { stdio: 'ignore', timeout: 5000 });
    found = r.status === 0 && r.error === undefined ? name : null;
    foundPrograms.set(name, found);
  }
  return found;
}

/**
 * The `igzip` program of Intel's ISA-L (Debian's `isal` package) when it is on the PATH, else
 * null. Alone it inflates about three times as fast as `gzip -dc`; piped through the walker, a
 * layer with a core to itself reads about a third faster than with node:zlib (docs/testing.md).
 */
export function findIgzip(): string | null {
  return findProgram('igzip');
}

/**
 * The `zstd` program (Debian's `zstd` package) when it is on the PATH, else null. Node 20 has no
 * zstd of its own, and fzstd runs in JavaScript on the main thread: a scan of the benchmark's
 * zstd image read 30-34 MB/s with it, 108-136 with the program (docs/testing.md).
 */
export function findZstd(): string | null {
  return findProgram('zstd');
}

/** A layer's decompressing stage: a program's (lent chunks) or a stream built in. */
type Decoding = { program: string; tool: string; format: string } | { stream: Duplex };

/** The gzip stage for `decoder`: igzip's or node:zlib's. */
function gzipDecoding(decoder: GzipDecoder = 'auto'): Decoding {
  const program = decoder === 'zlib' ? null : decoder === 'auto' ? findIgzip() : decoder;
  return program === null ? { stream: zlib.createGunzip({ chunkSize: INFLATE_CHUNK_BYTES }) } : { program, tool: 'igzip', format: 'gzip' };
}

/** The zstd stage for `decoder`: the zstd program's, else node:zlib's (Node 22.15+) or fzstd's. */
function zstdDecoding(decoder: ZstdDecoder = 'auto'): Decoding {
  const program = decoder === 'builtin' ? null : decoder === 'auto' ? findZstd() : decoder;
  if (program !== null) return { program, tool: 'zstd', format: 'zstd' };
  const native: unknown = Reflect.get(zlib, 'createZstdDecompress');
  if (typeof native === 'function') {
    const made: unknown = native.call(zlib);
    if (made instanceof Transform) return { stream: made };
  }
  return { stream: new FzstdTransform() };
}

class FzstdTransform extends Transform {
  private readonly decoder = new Decompress((data) => {
    // fzstd may hand out a view of its window or of the input; copy before it is reused.
    if (data.length > 0) this.push(Buffer.from(data));
  });

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      callback();
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      callback();
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/** Counts the bytes that pass through it. */
class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** Classifies a tar header; null for entries the tree ignores. */
export function classifyEntry(header: Pick<TarHeader, 'name' | 'size' | 'mode' | 'type'> & { linkname?: string }): LayerEntry | null {
  const path = normalizePath(header.name);
  if (path === '') return null;
  const size = header.size ?? 0;
  const mode = header.mode ?? 0;
  if (path.includes(WHITEOUT)) {
    const slash = path.lastIndexOf('/');
    const dir = slash < 0 ? '' : path.slice(0, slash);
    const base = path.slice(slash + 1);
    if (base === OPAQUE) return { path: dir, type: 'opaque', size: 0, mode: 0 };
    // aufs metadata (`.wh..wh.plnk/`, `.wh..wh.aufs`) is not part of the image's files.
    if (path.split('/').some((part) => part.startsWith(`${WHITEOUT}${WHITEOUT}`))) return null;
    if (base.startsWith(WHITEOUT)) {
      const gone = base.slice(WHITEOUT.length);
      return { path: dir === '' ? gone : `${dir}/${gone}`, type: 'whiteout', size: 0, mode: 0 };
    }
  }
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return { path, type: 'file', size, mode };
    case 'directory':
      return { path, type: 'dir', size: 0, mode };
    case 'symlink':
      return { path, type: 'symlink', size: 0, mode, linkname: header.linkname ?? '' };
    case 'link':
      return { path, type: 'hardlink', size: 0, mode, linkname: normalizePath(header.linkname ?? '') };
    default:
      return { path, type: 'other', size: 0, mode };
  }
}

/**
 * The output chunk of node:zlib's inflate. Each chunk is one trip to the libuv thread pool and
 * back, and one push through the tar parser; zlib's 16 KiB default made those trips, not the
 * inflating, the bound (about 2x slower on real layers). Two or three of these per layer are in
 * flight at most.
 */
export const INFLATE_CHUNK_BYTES = 128 * 1024;

/** The tar reader over `tarBytes`, handing each classified entry to `visit`. */
function entriesOf(visit: LayerVisitor, signal: AbortSignal | undefined, lentChunks = false) {
  return async (tarBytes: AsyncIterable<Buffer>): Promise<void> => {
    const onEntry = (header: TarHeader, body: EntryBody): Promise<void> | undefined => {
      const entry = classifyEntry(header);
      const visiting = entry ? visit(entry, body) : undefined;
      if (visiting) return visiting.then(() => signal?.throwIfAborted());
      signal?.throwIfAborted();
      return undefined;
    };
    await readTar(tarBytes, onEntry, { lentChunks });
  };
}

/** The decoding stage the layer's compression asks for; null for plain tar. */
function decodingFor(compression: Compression, opts: Decoders): Decoding | null {
  return compression === 'none' ? null : compression === 'gzip' ? gzipDecoding(opts.gzip) : zstdDecoding(opts.zstd);
}

/**
 * Streams one layer blob (a stream, or a {@link BlobFile}) through `visit`. Resolves with the
 * compressed bytes read and the compression found; rejects on a corrupt stream, a visitor's
 * error, a file that fails its check, or `signal`.
 */
export async function walkLayer(
  blob: Readable | BlobFile,
  visit: LayerVisitor,
  signal?: AbortSignal,
  opts: Decoders = {},
): Promise<{ compressedBytes: number; compression: Compression }> {
  if (isBlobFile(blob)) return walkFile(blob, visit, signal, opts);
  signal?.throwIfAborted();
  const { head, stream } = await peek(blob, 4);
  const compression = sniffCompression(head);
  const counter = new ByteCounter();
  // The first failure (the blob's, the decoder's, the tar's or the visitor's) ends every stage.
  const decoding = decodingFor(compression, opts);
  if (decoding === null) await pipeline(stream, counter, entriesOf(visit, signal), { signal });
  else if ('stream' in decoding) await pipeline(stream, counter, decoding.stream, entriesOf(visit, signal), { signal });
  else await throughProgram(stream, counter, await ProgramDecoder.start(decoding.program, decoding.tool, decoding.format), entriesOf(visit, signal, true), signal);
  return { compressedBytes: counter.bytes, compression };
}

/**
 * walkLayer over a file: its check runs alongside the walk; a failed check (or `signal`) ends
 * both, and a check that fails is the error reported. A decoding program reads the file through
 * its descriptor; a decoder built in reads it by position, 1 MiB at a time. The file is closed
 * when both have ended.
 */
async function walkFile(file: BlobFile, visit: LayerVisitor, signal: AbortSignal | undefined, opts: Decoders): Promise<{ compressedBytes: number; compression: Compression }> {
  const stop = new AbortController();
  const stopWith = (reason: unknown): void => {
    if (!stop.signal.aborted) stop.abort(reason);
  };
  const onAbort = (): void => stopWith(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) stopWith(signal.reason); // nothing starts; the file is still closed below
  let decoder: ProgramDecoder | null = null;
  stop.signal.addEventListener('abort', () => decoder?.destroy(stop.signal.reason instanceof Error ? stop.signal.reason : new Error(String(stop.signal.reason))), { once: true });
  const walking = async (): Promise<{ compressedBytes: number; compression: Compression }> => {
    stop.signal.throwIfAborted();
    const { handle } = file;
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    const compression = sniffCompression(head.subarray(0, bytesRead));
    const decoding = decodingFor(compression, opts);
    const { size } = await handle.stat();
    if (decoding !== null && !('stream' in decoding)) {
      stop.signal.throwIfAborted();
      decoder = await ProgramDecoder.start(decoding.program, decoding.tool, decoding.format, { inputFd: handle.fd });
      stop.signal.throwIfAborted(); // stopped while it started: `finally` kills it
      await entriesOf(visit, stop.signal, true)(decoder.output);
    } else {
      const stream = handle.createReadStream({ start: 0, highWaterMark: FILE_READ_BYTES, autoClose: false });
      if (decoding === null) await pipeline(stream, entriesOf(visit, stop.signal), { signal: stop.signal });
      else await pipeline(stream, decoding.stream, entriesOf(visit, stop.signal), { signal: stop.signal });
    }
    return { compressedBytes: size, compression };
  };
  // A failed check stops the walk at once. A walk that fails on its own lets the check finish
  // (a read of the file): when the bytes are not the blob's, that is the error to report, as the
  // corrupt data or tar the walk met was only its symptom.
  const checking = file.verify(stop.signal).then(
    () => null,
    (err: unknown) => {
      stopWith(err);
      return { err };
    },
  );
  try {
    let walked: { compressedBytes: number; compression: Compression };
    try {
      walked = await walking();
    } catch (err) {
      if (signal?.aborted) throw err;
      const checked = await checking;
      throw checked === null ? err : checked.err;
    }
    const checked = await checking;
    if (checked !== null) throw checked.err;
    return walked;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stopWith(new Error('the walk ended'));
    // After a clean end the program has exited and this changes nothing; else it is killed.
    (decoder as ProgramDecoder | null)?.destroy(new Error('the walk ended'));
    // The check has stopped reading the file (it was told to) before the file is closed.
    await checking;
    await file.handle.close().catch(() => undefined);
  }
}

/** Reads of a layer file by a decoder built in. */
const FILE_READ_BYTES = 1024 * 1024;

/**
 * Feeds `blob` through `counter` into the program while `read` parses its output; the first
 * failure of either side (or `signal`) kills the program and ends the other side with it.
 */
async function throughProgram(blob: Readable, counter: ByteCounter, decoder: ProgramDecoder, read: (tar: AsyncIterable<Buffer>) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let first: unknown = null;
  const failed = (err: unknown): never => {
    if (first === null) {
      first = err;
      decoder.destroy(err instanceof Error ? err : new Error(String(err)));
      blob.destroy();
    }
    throw first;
  };
  const input = decoder.input;
  if (input === null) throw new Error('the decoder was started on a file');
  const feeding = pipeline(blob, counter, input, { signal }).catch(failed);
  const reading = read(decoder.output).catch(failed);
  // Both settle (a side that failed has made the other fail); every failure went through `failed`.
  await Promise.allSettled([feeding, reading]);
  if (first !== null) throw first;
}
