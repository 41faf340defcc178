/**
 * The registry service: one facade over the blob side (blobs, uploads, mounts) and the manifest
 * side (manifests, tags, referrers, catalog, repositories), so adapters depend on one interface;
 * artifact copies (src/registry/artifact-copy.ts) are made of both.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import type { Database } from '../db/index.ts';
import type { BlobStore, ByteRange } from '../storage/index.ts';
import type { Outbox } from '../events/index.ts';
import type { Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { Metrics } from '../observability/index.ts';
import type { QuotaGuard } from './quota-guard.ts';
import type { PullGate } from './pull-gate.ts';
import type { ImmutabilityGuard } from './immutability-guard.ts';
import type { Digest, RepoName, Reference } from '../domain/index.ts';
import type { CallContext, Registry } from './types.ts';
import { BlobService } from './blob-service.ts';
import { ManifestService } from './manifest-service.ts';
import { copyArtifact, type CopyParts } from './artifact-copy.ts';

/** What the registry service needs. */
export interface RegistryDeps {
  db: Kysely<Database>;
  blobs: BlobStore;
  outbox: Outbox;
  authorizer: Authorizer;
  config: Config;
  metrics: Metrics;
  logger: Logger;
  /** Storage quota accounting (src/projects/quotas.ts); absent means no quotas. */
  quotas?: QuotaGuard;
  /** The check before a manifest is served from a project with a pull policy (src/registry/pull-gate.ts); absent means none. */
  pullGate?: PullGate;
  /** Which tags are immutable (src/registry/immutability-guard.ts); absent means none. */
  immutability?: ImmutabilityGuard;
}

/** Implements {@link Registry} by delegating to the blob and manifest services. */
export class RegistryService implements Registry {
  readonly blobSide: BlobService;
  readonly manifestSide: ManifestService;
  private readonly copyParts: CopyParts;

  constructor(deps: RegistryDeps) {
    this.blobSide = new BlobService(deps);
    this.manifestSide = new ManifestService(deps);
    this.copyParts = {
      db: deps.db,
      authorizer: deps.authorizer,
      blobs: this.blobSide,
      manifests: this.manifestSide,
      ...(deps.quotas ? { quotas: deps.quotas } : {}),
      ...(deps.immutability ? { immutability: deps.immutability } : {}),
    };
  }

  blobInfo(ctx: CallContext, repo: RepoName, digest: Digest) {
    return this.blobSide.blobInfo(ctx, repo, digest);
  }
  blobRedirect(ctx: CallContext, repo: RepoName, digest: Digest) {
    return this.blobSide.blobRedirect(ctx, repo, digest);
  }
  readBlob(ctx: CallContext, repo: RepoName, digest: Digest, range?: ByteRange) {
    return this.blobSide.readBlob(ctx, repo, digest, range);
  }
  blobFile(ctx: CallContext, repo: RepoName, digest: Digest) {
    return this.blobSide.blobFile(ctx, repo, digest);
  }
  deleteBlob(ctx: CallContext, repo: RepoName, digest: Digest) {
    return this.blobSide.deleteBlob(ctx, repo, digest);
  }
  startUpload(ctx: CallContext, repo: RepoName) {
    return this.blobSide.startUpload(ctx, repo);
  }
  mountBlob(ctx: CallContext, repo: RepoName, digest: Digest, from: RepoName | null) {
    return this.blobSide.mountBlob(ctx, repo, digest, from);
  }
  appendUpload(ctx: CallContext, repo: RepoName, id: string, data: Readable, start?: number) {
    return this.blobSide.appendUpload(ctx, repo, id, data, start);
  }
  uploadState(ctx: CallContext, repo: RepoName, id: string) {
    return this.blobSide.uploadState(ctx, repo, id);
  }
  completeUpload(ctx: CallContext, repo: RepoName, id: string, digest: Digest, data?: Readable) {
    return this.blobSide.completeUpload(ctx, repo, id, digest, data);
  }
  cancelUpload(ctx: CallContext, repo: RepoName, id: string) {
    return this.blobSide.cancelUpload(ctx, repo, id);
  }
  putManifest(ctx: CallContext, repo: RepoName, ref: Reference, contentType: string, body: Buffer) {
    return this.manifestSide.putManifest(ctx, repo, ref, contentType, body);
  }
  getManifest(ctx: CallContext, repo: RepoName, ref: Reference, pull: boolean) {
    return this.manifestSide.getManifest(ctx, repo, ref, pull);
  }
  deleteManifest(ctx: CallContext, repo: RepoName, ref: Reference, opts?: { dependents?: boolean }) {
    return this.manifestSide.deleteManifest(ctx, repo, ref, opts);
  }
  listTags(ctx: CallContext, repo: RepoName, n: number | null, last: string | null) {
    return this.manifestSide.listTags(ctx, repo, n, last);
  }
  createTag(ctx: CallContext, repo: RepoName, digest: Digest, tag: string) {
    return this.manifestSide.createTag(ctx, repo, digest, tag);
  }
  deleteTag(ctx: CallContext, repo: RepoName, tag: string) {
    return this.manifestSide.deleteTag(ctx, repo, tag);
  }
  deleteRepository(ctx: CallContext, repo: RepoName) {
    return this.manifestSide.deleteRepository(ctx, repo);
  }
  setRepositoryDescription(ctx: CallContext, repo: RepoName, description: string) {
    return this.manifestSide.setRepositoryDescription(ctx, repo, description);
  }
  copyArtifact(ctx: CallContext, from: RepoName, ref: Reference, to: RepoName) {
    return copyArtifact(this.copyParts, ctx, from, ref, to);
  }
  catalog(ctx: CallContext, n: number | null, last: string | null) {
    return this.manifestSide.catalog(ctx, n, last);
  }
  referrers(ctx: CallContext, repo: RepoName, digest: Digest, artifactType: string | null) {
    return this.manifestSide.referrers(ctx, repo, digest, artifactType);
  }
  /** Writes the manifest pulls still queued (group commit); call before the database closes. */
  close(): Promise<void> {
    return this.manifestSide.pulls.close();
  }
}
