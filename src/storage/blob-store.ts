/**
 * The blob storage driver interface. Drivers store bytes under digests and hold uploads in
 * progress; they know nothing of OCI, HTTP or the database. Errors are storage-shaped
 * ({@link StorageNotFoundError}); services translate them into domain errors.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Digest } from '../domain/index.ts';

/** Thrown by drivers when a blob or upload does not exist. */
export class StorageNotFoundError extends Error {
  constructor(what: string) {
    super(`not found in storage: ${what}`);
    this.name = 'StorageNotFoundError';
  }
}

/**
 * Thrown by drivers when a write found no space (ENOSPC, or EDQUOT: over the disk quota). The
 * driver has already removed what the failed write left behind (a temporary file, the part of a
 * chunk that did fit). `code` repeats the system's code so that code checking errno codes sees it.
 */
export class StorageFullError extends Error {
  readonly code: string;
  constructor(what: string, cause: unknown) {
    const code = typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string' ? cause.code : 'ENOSPC';
    super(`no space left on the storage device: ${what}`, { cause });
    this.name = 'StorageFullError';
    this.code = code;
  }
}

/** True for the system errors of a write that found no space: ENOSPC, EDQUOT. */
export function isNoSpaceError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err.code === 'ENOSPC' || err.code === 'EDQUOT');
}

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/** What a driver must do. Every method is safe to call concurrently for the same digest or upload. */
export interface BlobStore {
  /** Size of a stored blob, or null when absent. */
  stat(digest: Digest): Promise<{ size: number } | null>;
  /** Streams a blob (or a range of it); throws StorageNotFoundError when absent. */
  read(digest: Digest, range?: ByteRange): Promise<Readable>;
  /** Reads a small blob (a manifest) whole. */
  readAll(digest: Digest): Promise<Buffer>;
  /** Stores bytes the caller has already verified to hash to `digest`; atomic, idempotent. */
  put(digest: Digest, data: Buffer): Promise<void>;
  /** Removes a blob; absent is not an error. */
  delete(digest: Digest): Promise<void>;
  /** Every stored blob digest (for garbage collection). */
  list(): AsyncIterable<Digest>;

  /** Creates an empty upload. */
  createUpload(id: string): Promise<void>;
  /**
   * Appends a stream to an upload; `onData` sees every chunk as it is written (for hashing).
   * Resolves to the upload's new size. Throws StorageNotFoundError when the upload is unknown.
   */
  appendUpload(id: string, data: Readable, onData?: (chunk: Buffer) => void): Promise<number>;
  /** Current size of an upload; throws StorageNotFoundError when unknown. */
  uploadSize(id: string): Promise<number>;
  /** Streams an upload's bytes so far (to re-hash it after a restart). */
  readUpload(id: string): Promise<Readable>;
  /** Moves an upload into place as `digest` atomically (rename); the upload is gone afterwards. */
  commitUpload(id: string, digest: Digest): Promise<void>;
  /** Removes an upload; unknown is not an error. */
  deleteUpload(id: string): Promise<void>;
  /** Every upload with its last modification time (for garbage collection). */
  listUploads(): AsyncIterable<{ id: string; modified: Date }>;

  /**
   * Optional: a URL from which a client may fetch the blob directly for a while (a presigned S3
   * GET), or null to serve it through the registry. Drivers without redirects leave it out.
   */
  redirectUrl?(digest: Digest): Promise<string | null>;
  /**
   * Optional, for drivers whose blobs are files on this machine (the filesystem driver): the blob
   * opened for reading, for an in-process reader that hands the file to another program (the
   * built-in scanner's decompressors). The caller closes it; throws StorageNotFoundError when absent.
   */
  openFile?(digest: Digest): Promise<FileHandle>;
  /**
   * Optional: removes what an interrupted write left outside uploads and blobs (S3's incomplete
   * multipart uploads) started before `olderThan`; with `dryRun` only counts. Returns how many.
   */
  cleanupIncomplete?(olderThan: Date, opts?: { dryRun?: boolean }): Promise<number>;
}
