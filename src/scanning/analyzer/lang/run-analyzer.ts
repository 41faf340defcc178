/**
 * Runs one analyzer over a list of files the way the layer walker does (ask `wants`, stream the
 * bytes through `read`, keep the non-null results by path, then `collect`), for tests and tools
 * that analyse files outside an image.
 */
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { FileAnalyzer, FileEntry, InstalledPackage, OsInfo } from '../types.ts';

/** A file as the image would hold it: its path there, and its bytes from disk or memory. */
export interface InputFile {
  path: string;
  /** A file on this machine (streamed), or the bytes. */
  source: string | Uint8Array;
  /** Unix mode bits; default 0o644. */
  mode?: number;
  /** Chunk size for in-memory bytes (default: one chunk), to exercise chunk boundaries. */
  chunkSize?: number;
}

function open(file: InputFile): { size: number; body: Readable } {
  if (typeof file.source === 'string') {
    return { size: statSync(file.source).size, body: createReadStream(file.source) };
  }
  const bytes = file.source;
  const step = file.chunkSize ?? Math.max(1, bytes.length);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += step) chunks.push(Buffer.from(bytes.subarray(at, at + step)));
  return { size: bytes.length, body: Readable.from(chunks) };
}

/** The results `read` kept by path, and what `collect` made of them. */
export async function runAnalyzer<R>(
  analyzer: FileAnalyzer<R>,
  files: InputFile[],
  os: OsInfo | null = null,
): Promise<{ results: Map<string, R>; packages: InstalledPackage[] }> {
  const results = new Map<string, R>();
  for (const file of files) {
    const { size, body } = open(file);
    const entry: FileEntry = { path: file.path, size, mode: file.mode ?? 0o644 };
    if (!analyzer.wants(entry)) {
      body.destroy();
      continue;
    }
    const result = await analyzer.read(entry, body);
    // Drain what the analyzer left, as the walker does.
    body.resume();
    if (result !== null) results.set(entry.path, result);
  }
  return { results, packages: analyzer.collect(results, os) };
}
