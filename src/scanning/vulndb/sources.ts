/**
 * Where OSV records come from: a folder of `.json` records (searched recursively; `.zip` files
 * inside it are read too), a single record, or an OSV zip (`all.zip` of one ecosystem or of all).
 * Zips are read entry by entry with yauzl from a file (a zip's directory is at its end), so only
 * one record is in memory at a time, never the archive. Each yield is one parsed JSON value, or an
 * error string for a file that is not JSON.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { lazyModule } from '../../platform/index.ts';

/** yauzl, loaded by the first zip read (a database update; platform/lazy-module.ts). */
const yauzl = lazyModule<typeof import('yauzl')>('yauzl');

/** A record file larger than this is skipped (OSV's largest records are a few MiB). */
export const maxRecordBytes = 64 * 1024 * 1024;

/** One value read from a source: parsed JSON, or why a file could not be read. */
export type SourceItem = { value: unknown; from: string } | { error: string; from: string };

/** Parses one file's bytes; an array of records yields each. */
function* parsed(bytes: Buffer, from: string): Generator<SourceItem> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    yield { error: `not JSON: ${err instanceof Error ? err.message : String(err)}`, from };
    return;
  }
  if (Array.isArray(v)) for (const x of v) yield { value: x, from };
  else yield { value: v, from };
}

/** The bytes of `stream`, or null (the stream destroyed) once they pass `cap`. */
async function readCapped(stream: Readable, cap: number): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > cap) {
      stream.destroy();
      return null;
    }
    parts.push(b);
  }
  return Buffer.concat(parts, size);
}

/** The records of an OSV zip file, entry by entry (`.json` entries; folders and other files skipped). */
export async function* zipRecords(path: string, signal?: AbortSignal): AsyncGenerator<SourceItem> {
  const zip = await yauzl().openPromise(path, { lazyEntries: true, autoClose: false, decodeStrings: true });
  try {
    for await (const entry of zip.eachEntry()) {
      signal?.throwIfAborted();
      const from = `${path}:${entry.fileName}`;
      if (entry.fileName.endsWith('/') || !entry.fileName.toLowerCase().endsWith('.json')) continue;
      if (entry.uncompressedSize > maxRecordBytes) {
        yield { error: `larger than ${maxRecordBytes} bytes`, from };
        continue;
      }
      const bytes = await readCapped(await zip.openReadStreamPromise(entry), maxRecordBytes);
      if (bytes === null) yield { error: `larger than ${maxRecordBytes} bytes`, from };
      else yield* parsed(bytes, from);
    }
  } finally {
    zip.close();
  }
}

async function* fileRecords(path: string, signal?: AbortSignal): AsyncGenerator<SourceItem> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.zip')) {
    yield* zipRecords(path, signal);
  } else if (lower.endsWith('.json')) {
    const fh = await open(path, 'r');
    try {
      const bytes = await readCapped(fh.createReadStream({ autoClose: false }), maxRecordBytes);
      if (bytes === null) yield { error: `larger than ${maxRecordBytes} bytes`, from: path };
      else yield* parsed(bytes, path);
    } finally {
      await fh.close();
    }
  }
}

/**
 * The records under `path`: a folder (recursively, in name order; `.json` and `.zip` files), a
 * `.zip`, or a `.json` file.
 */
export async function* pathRecords(path: string, signal?: AbortSignal): AsyncGenerator<SourceItem> {
  const st = await stat(path);
  if (!st.isDirectory()) {
    if (!/\.(zip|json)$/i.test(path)) throw new Error(`${path}: not a folder, a .zip or a .json file`);
    yield* fileRecords(path, signal);
    return;
  }
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    signal?.throwIfAborted();
    const p = join(path, e.name);
    if (e.isDirectory()) yield* pathRecords(p, signal);
    else if (e.isFile()) yield* fileRecords(p, signal);
  }
}

/** Runs `fn` with a new temporary folder, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-vulndb-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `stream` to `file` (a zip arriving as a stream must be on disk before it can be read). */
export async function streamToFile(stream: Readable, file: string, signal?: AbortSignal): Promise<void> {
  await pipeline(stream, createWriteStream(file), signal ? { signal } : {});
}
