/**
 * The registry service's contract, shared by the /v2 adapter, the Harbor API adapter and gc.
 * Implementations live in this folder; events are written to the outbox inside the same
 * transactions as the changes (see src/events/outbox.ts).
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { CallContext } from '../auth/index.ts';
import type { ByteRange } from '../storage/index.ts';
import type { Digest, RepoName, Reference } from '../domain/index.ts';

/** Context every call carries (declared by auth, next to the Actor). */
export type { CallContext } from '../auth/index.ts';

/** A blob's metadata. */
export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** An upload's state as the client sees it. */
export interface UploadState {
  id: string;
  repository: RepoName;
  /** Bytes received so far. */
  size: number;
}

/** A manifest as served. */
export interface ManifestContent {
  digest: Digest;
  mediaType: string;
  body: Buffer;
}

/** One page of names, with whether more follow. */
export interface NamePage {
  names: string[];
  /** The last name returned when more follow (for the Link header), else null. */
  next: string | null;
}

/** The registry's operations. */
export interface Registry {
  blobInfo(ctx: CallContext, repo: RepoName, digest: Digest): Promise<BlobInfo>;
  /** A URL to fetch the blob from the storage directly (`storage.redirect`), or null to serve it through `readBlob`. */
  blobRedirect?(ctx: CallContext, repo: RepoName, digest: Digest): Promise<{ info: BlobInfo; url: string } | null>;
  readBlob(ctx: CallContext, repo: RepoName, digest: Digest, range?: ByteRange): Promise<{ info: BlobInfo; stream: Readable }>;
  /**
   * The blob as an open file, after the same checks as `readBlob`, for an in-process reader (the
   * built-in scanner); null when the storage has no files (S3) or the bytes live elsewhere (a
   * manifest's, a proxy project's blob not cached yet): read it with `readBlob` then. The caller closes it.
   */
  blobFile?(ctx: CallContext, repo: RepoName, digest: Digest): Promise<{ info: BlobInfo; file: FileHandle } | null>;
  deleteBlob(ctx: CallContext, repo: RepoName, digest: Digest): Promise<void>;

  startUpload(ctx: CallContext, repo: RepoName): Promise<UploadState>;
  /** Cross-repository mount; returns null when the source is not readable (caller falls back to an upload). */
  mountBlob(ctx: CallContext, repo: RepoName, digest: Digest, from: RepoName | null): Promise<BlobInfo | null>;
  /** Appends data; `start` is the Content-Range start when given (RANGE_INVALID when it is not the current size). */
  appendUpload(ctx: CallContext, repo: RepoName, id: string, data: Readable, start?: number): Promise<UploadState>;
  uploadState(ctx: CallContext, repo: RepoName, id: string): Promise<UploadState>;
  /** Finishes an upload with optional final data; verifies the digest; the blob becomes visible atomically. */
  completeUpload(ctx: CallContext, repo: RepoName, id: string, digest: Digest, data?: Readable): Promise<BlobInfo>;
  cancelUpload(ctx: CallContext, repo: RepoName, id: string): Promise<void>;

  putManifest(ctx: CallContext, repo: RepoName, ref: Reference, contentType: string, body: Buffer): Promise<{ digest: Digest; subject: Digest | null }>;
  /** `pull` false for HEAD (no PULL_ARTIFACT event, no pull_time update). */
  getManifest(ctx: CallContext, repo: RepoName, ref: Reference, pull: boolean): Promise<ManifestContent>;
  /**
   * Deletes a manifest (by digest: the artifact and its tags; by tag: the tag). With `dependents`,
   * in the same transaction, the artifact's untagged children no other artifact of the repository
   * references and its untagged accessories (manifests whose subject it is) go too.
   */
  deleteManifest(ctx: CallContext, repo: RepoName, ref: Reference, opts?: { dependents?: boolean }): Promise<void>;

  listTags(ctx: CallContext, repo: RepoName, n: number | null, last: string | null): Promise<NamePage>;
  createTag(ctx: CallContext, repo: RepoName, digest: Digest, tag: string): Promise<void>;
  deleteTag(ctx: CallContext, repo: RepoName, tag: string): Promise<void>;
  deleteRepository(ctx: CallContext, repo: RepoName): Promise<void>;
  /** Sets a repository's description (Harbor's repository update; push permission); NOT_FOUND when it does not exist. */
  setRepositoryDescription(ctx: CallContext, repo: RepoName, description: string): Promise<void>;
  /**
   * Copies artifact `ref` of `from` (an index with its children) into `to` as a push of the caller
   * (src/registry/artifact-copy.ts): blobs linked by reference, PUSH_ARTIFACT recorded, quota and
   * tag immutability applied; the tag comes along when `ref` is one. Returns the copy's digest.
   */
  copyArtifact(ctx: CallContext, from: RepoName, ref: Reference, to: RepoName): Promise<{ digest: Digest }>;
  /** Repositories the caller may list, by name. */
  catalog(ctx: CallContext, n: number | null, last: string | null): Promise<NamePage>;
  /** An OCI image index of the manifests whose subject is `digest`, optionally filtered by artifactType. */
  referrers(ctx: CallContext, repo: RepoName, digest: Digest, artifactType: string | null): Promise<{ index: object; filtered: boolean }>;
}
