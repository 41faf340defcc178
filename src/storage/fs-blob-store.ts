/**
 * The filesystem blob store. Layout under `root`:
 *
 * ```
 * root/
 *   blobs/
 *     sha256/
 *       ab/
 *         ab12...ef          a blob's bytes, named by the full hex of its digest
 *     sha512/...             same shape for other algorithms
 *   uploads/
 *     <id>                   an upload in progress: appended to, then renamed into blobs/
 *   tmp/
 *     <random>               put() writes here first, then renames into blobs/
 * ```
 *
 * Every file under blobs/ appears by an atomic rename of a complete, fsynced file, so a reader
 * never sees a partial blob; renaming onto an existing blob is harmless (same digest, same bytes).
 * All three folders live on one filesystem so renames stay atomic. Blobs are streamed, never
 * buffered whole (only put/readAll, used for manifests, take Buffers).
 *
 * A write that finds no space (ENOSPC, EDQUOT) throws StorageFullError after undoing itself: put()
 * removes its temporary file, appendUpload() cuts the upload back to where the chunk started (the
 * upload stays usable: the same chunk can be sent again once there is room).
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Transform, finished, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestAlgorithm, digestHex, digestAlgorithms, parseDigest, type Digest } from '../domain/index.ts';
import { StorageFullError, StorageNotFoundError, isNoSpaceError, type BlobStore, type ByteRange } from './blob-store.ts';

/** Bytes per read when streaming a blob out (also the scanning benchmark's stand-in registry's). */
export const readChunkBytes = 1024 * 1024;

/**
 * Bytes an upload may buffer ahead of the disk: the socket keeps being read while a write is in
 * flight, and chunks that pile up go out in one writev (Node's 16 KiB default stops reading the
 * socket after every chunk until its write has finished).
 */
const writeBufferBytes = 1024 * 1024;

/** Upload ids the driver accepts: no separators, no dots, so an id can never leave uploads/. */
const uploadIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}

/** Stores blobs and uploads as files under one root folder. */
export class FsBlobStore implements BlobStore {
  private readonly blobsDir: string;
  private readonly uploadsDir: string;
  private readonly tmpDir: string;
  private ready: Promise<void> | null = null;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs');
    this.uploadsDir = join(root, 'uploads');
    this.tmpDir = join(root, 'tmp');
  }

  private ensureDirs(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.blobsDir, { recursive: true });
      await mkdir(this.uploadsDir, { recursive: true });
      await mkdir(this.tmpDir, { recursive: true });
    })().catch((err: unknown) => {
      this.ready = null; // try again on the next call
      throw err;
    });
    return this.ready;
  }

  private blobPath(digest: Digest): string {
    const hex = digestHex(digest);
    return join(this.blobsDir, digestAlgorithm(digest), hex.slice(0, 2), hex);
  }

  private uploadPath(id: string): string {
    if (!uploadIdPattern.test(id)) throw new StorageNotFoundError(`upload ${JSON.stringify(id)}`);
    return join(this.uploadsDir, id);
  }

  /** Opens an upload's file (`r` or `r+`: never creates it); StorageNotFoundError when it is not there. */
  private async openUpload(id: string, flags: 'r' | 'r+'): Promise<FileHandle> {
    const path = this.uploadPath(id);
    try {
      return await open(path, flags);
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(`upload ${id}`);
      throw err;
    }
  }

  async stat(digest: Digest): Promise<{ size: number } | null> {
    try {
      const s = await stat(this.blobPath(digest));
      return s.isFile() ? { size: s.size } : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async openFile(digest: Digest): Promise<FileHandle> {
    try {
      return await open(this.blobPath(digest), 'r');
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(`blob ${digest}`);
      throw err;
    }
  }

  async read(digest: Digest, range?: ByteRange): Promise<Readable> {
    const fh = await this.openFile(digest);
    // The stream owns the handle and closes it when done or destroyed. 1 MiB reads instead of
    // Node's 64 KiB default: a layer pull makes 16x fewer read calls and socket writes.
    const highWaterMark = readChunkBytes;
    return fh.createReadStream(range ? { start: range.start, end: range.end, highWaterMark } : { highWaterMark });
  }

  async readAll(digest: Digest): Promise<Buffer> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(`blob ${digest}`);
      throw err;
    }
  }

  async put(digest: Digest, data: Buffer): Promise<void> {
    await this.ensureDirs().catch(noSpace('creating the storage folders'));
    const tmp = join(this.tmpDir, randomUUID());
    try {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw noSpaceError(`writing blob ${digest}`, err);
    }
    await this.moveIntoPlace(tmp, digest);
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async *list(): AsyncIterable<Digest> {
    for (const alg of await readdirOrEmpty(this.blobsDir)) {
      if (!(alg in digestAlgorithms)) continue;
      const algDir = join(this.blobsDir, alg);
      for (const prefix of await readdirOrEmpty(algDir)) {
        for (const hex of await readdirOrEmpty(join(algDir, prefix))) {
          let d: Digest;
          try {
            d = parseDigest(`${alg}:${hex}`);
          } catch {
            continue; // not a blob file (a stray file someone left)
          }
          yield d;
        }
      }
    }
  }

  async createUpload(id: string): Promise<void> {
    await this.ensureDirs().catch(noSpace('creating the storage folders'));
    const fh = await open(this.uploadPath(id), 'wx').catch(noSpace(`creating upload ${id}`));
    await fh.close();
  }

  async appendUpload(id: string, data: Readable, onData?: (chunk: Buffer) => void): Promise<number> {
    // 'r+' never creates: appending to an upload that was deleted meanwhile fails instead of resurrecting it.
    const fh = await this.openUpload(id, 'r+');
    const { size } = await fh.stat();
    const tap = new Transform({
      highWaterMark: writeBufferBytes,
      transform(chunk: Buffer, _enc, done) {
        onData?.(chunk);
        done(null, chunk);
      },
    });
    // The write stream owns the handle and closes it at the end or on error.
    const out = fh.createWriteStream({ start: size, highWaterMark: writeBufferBytes });
    // `data` is piped in by hand rather than through pipeline(), which would destroy it when the
    // write fails: a request body's socket would go with it, and the 503 for a full disk could not
    // be sent. A body that errors or closes early still fails the write.
    const written = pipeline(tap, out);
    data.pipe(tap);
    const stopWatching = finished(data, { writable: false }, (err) => {
      if (err) tap.destroy(err);
    });
    try {
      await written;
    } catch (err) {
      data.unpipe(tap);
      if (!isNoSpaceError(err)) throw err;
      // Give back the space the part of the chunk that fitted took; the upload stays where it was.
      await truncate(this.uploadPath(id), size).catch(() => undefined);
      throw new StorageFullError(`appending to upload ${id}`, err);
    } finally {
      stopWatching();
    }
    return this.uploadSize(id);
  }

  async uploadSize(id: string): Promise<number> {
    try {
      return (await stat(this.uploadPath(id))).size;
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(`upload ${id}`);
      throw err;
    }
  }

  async readUpload(id: string): Promise<Readable> {
    const fh = await this.openUpload(id, 'r');
    return fh.createReadStream();
  }

  async commitUpload(id: string, digest: Digest): Promise<void> {
    const path = this.uploadPath(id);
    const fh = await this.openUpload(id, 'r+');
    try {
      await fh.sync();
    } catch (err) {
      throw noSpaceError(`syncing upload ${id}`, err);
    } finally {
      await fh.close();
    }
    await this.moveIntoPlace(path, digest);
  }

  async deleteUpload(id: string): Promise<void> {
    if (!uploadIdPattern.test(id)) return;
    await rm(join(this.uploadsDir, id), { force: true });
  }

  async *listUploads(): AsyncIterable<{ id: string; modified: Date }> {
    for (const id of await readdirOrEmpty(this.uploadsDir)) {
      if (!uploadIdPattern.test(id)) continue;
      try {
        const s = await stat(join(this.uploadsDir, id));
        if (s.isFile()) yield { id, modified: s.mtime };
      } catch (err) {
        if (!isNotFound(err)) throw err; // deleted meanwhile: skip it
      }
    }
  }

  /** Renames a complete, fsynced file into its digest's place, then syncs the folder. */
  private async moveIntoPlace(from: string, digest: Digest): Promise<void> {
    const target = this.blobPath(digest);
    const dir = join(target, '..');
    await mkdir(dir, { recursive: true }).catch(noSpace(`creating the folder of blob ${digest}`));
    try {
      await rename(from, target);
    } catch (err) {
      await unlink(from).catch(() => undefined);
      throw err;
    }
    await syncDir(dir);
  }
}

/** `err` as a StorageFullError when it is ENOSPC/EDQUOT, else unchanged. */
function noSpaceError(what: string, err: unknown): unknown {
  return isNoSpaceError(err) ? new StorageFullError(what, err) : err;
}

/** A rejection handler that rethrows through {@link noSpaceError}. */
function noSpace(what: string): (err: unknown) => never {
  return (err) => {
    throw noSpaceError(what, err);
  };
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** fsyncs a folder so a rename into it survives a power loss (best effort: some systems refuse). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Folder fsync is not supported everywhere; the rename itself is still atomic.
  }
}
