/**
 * One side of a replication: the registry artifacts are read from or written to. The copy engine
 * (./copy.ts) moves an artifact between two sides without knowing which is which: the local
 * registry (./local-side.ts, through the Registry port) or a remote endpoint (./remote-side.ts,
 * over HTTP). Repository names are full paths as that side knows them (`library/alpine`);
 * references are a tag or a digest (`sha256:…`). Every call takes the task's AbortSignal and
 * rejects promptly once it fires.
 *
 * Errors: a {@link SideError} says whether trying again may help (`transient`: a network error, a
 * timeout, 5xx, 429) or not (4xx, a digest mismatch, a refused manifest). Messages never carry a
 * credential.
 */
import type { Readable } from 'node:stream';

/** A manifest read from a side: its bytes exactly as stored there. */
export interface SideManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

/** A failure of a side's call. */
export class SideError extends Error {
  constructor(
    message: string,
    /** True when the same call may succeed later (network, timeout, 5xx, 429). */
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SideError';
  }
}

/** A registry artifacts are copied from or to. */
export interface ReplicationSide {
  /** `local`, or the endpoint's name: for logs. */
  readonly label: string;
  /** The adapter type events name (`harbor` for the local side and Harbor/Wharf endpoints, `docker-registry`). */
  readonly type: string;
  /** The endpoint URL events name (this Wharf's external_url for the local side). */
  readonly endpoint: string;

  /** The manifest at `ref` (tag or digest), or null when the repository or reference is unknown. */
  getManifest(repo: string, ref: string, signal: AbortSignal): Promise<SideManifest | null>;
  /** The digest and media type at `ref`, without the body (a HEAD), or null when unknown. */
  headManifest(repo: string, ref: string, signal: AbortSignal): Promise<{ digest: string; mediaType: string } | null>;
  /**
   * Stores `body` byte for byte under `ref` (a tag, or the body's own digest) and returns its
   * digest. Every blob and child manifest it refers to must already be in `repo`.
   */
  putManifest(repo: string, ref: string, mediaType: string, body: Buffer, signal: AbortSignal): Promise<string>;
  /** Deletes the manifest with this digest (all its tags go with it); false when it was not there. */
  deleteManifest(repo: string, digest: string, signal: AbortSignal): Promise<boolean>;

  /** True when `repo` has the blob. */
  hasBlob(repo: string, digest: string, signal: AbortSignal): Promise<boolean>;
  /** The blob's size and its bytes as a stream (the writer verifies the digest). */
  openBlob(repo: string, digest: string, signal: AbortSignal): Promise<{ size: number; stream: Readable }>;
  /**
   * Links a blob that `fromRepo` of this same side already has into `repo` without copying its
   * bytes; false when the side did not (then upload it).
   */
  mountBlob(repo: string, digest: string, fromRepo: string, signal: AbortSignal): Promise<boolean>;
  /**
   * Uploads `size` bytes from `data` as the blob `digest`: in one request, or, with `chunkSize`,
   * as PATCH chunks of at most that many bytes. Rejects (not transient) when the bytes do not
   * match the digest; nothing is then stored under it.
   */
  writeBlob(repo: string, digest: string, size: number, data: Readable, opts: { chunkSize?: number }, signal: AbortSignal): Promise<void>;

  /** Every tag of `repo` (empty when it is unknown). */
  listTags(repo: string, signal: AbortSignal): Promise<string[]>;
  /** Every repository of the side (the catalog, all pages). */
  listRepositories(signal: AbortSignal): Promise<string[]>;
  /**
   * Makes `repo` writable before the first push: the local side and Harbor endpoints create a
   * missing project (private); other registries need nothing.
   */
  prepareRepository(repo: string, signal: AbortSignal): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}
