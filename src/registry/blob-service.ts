/**
 * The blob side of the registry: blob reads and deletes, uploads (monolithic, chunked, resumed)
 * and cross-repository mounts.
 *
 * Invariants:
 * - Every byte is hashed as it streams into the upload file; the running hash lives in memory per
 *   upload. When it is missing or out of step (after a restart, a failed chunk or a digest in
 *   another algorithm) completion re-hashes the upload file instead.
 * - A blob becomes visible only after its digest is verified: the `blobs` and `repository_blobs`
 *   rows are written in one transaction (which also deletes the `uploads` row), then the upload
 *   file is renamed into place. A blob is served only when the repository links it AND its bytes
 *   exist, so the short window between the two steps (or a crash inside it) shows BLOB_UNKNOWN and
 *   a re-push repairs it.
 * - Re-linking a blob refreshes `repository_blobs.creation_time`; gc never removes a blob linked
 *   within the grace period, so a push in flight (blobs done, manifest not yet PUT) is safe.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Action } from '../auth/index.ts';
import type { ProjectRow } from '../db/index.ts';
import { digestAlgorithm, fail, isDomainError, makeDigest, projectOf, type Digest, type RepoName } from '../domain/index.ts';
import { StorageFullError, StorageNotFoundError, type ByteRange } from '../storage/index.ts';
import type { RegistryDeps } from './registry-service.ts';
import { findOrCreateRepository, findRepository, projectForRepo, repositoryRef } from './repositories.ts';
import type { QuotaSubject } from './quota-guard.ts';
import type { BlobInfo, CallContext, Registry, UploadState } from './types.ts';
import { readManifestBytes } from './manifest-bytes.ts';

/** Upload ids the service hands out and accepts (UUIDs); anything else is unknown. */
const uploadIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * How long the rest of a chunk is read (and discarded) after the disk filled, before the 503 is
 * sent anyway. A client still sending when the answer comes and the connection closes gets a TCP
 * reset, which can destroy the answer before it reads it (skopeo then reports a broken pipe).
 */
const drainAfterFullMs = 15_000;

/** Running hashes kept in memory at most; beyond it the oldest is dropped and re-computed when needed. */
const maxHashStates = 10_000;

/** The running hash of an upload and how many bytes it has seen. */
interface HashState {
  hash: Hash;
  size: number;
}

/** Implements the blob and upload operations of {@link Registry}. */
export class BlobService
  implements Pick<Registry, 'blobInfo' | 'blobRedirect' | 'readBlob' | 'blobFile' | 'deleteBlob' | 'startUpload' | 'mountBlob' | 'appendUpload' | 'uploadState' | 'completeUpload' | 'cancelUpload'>
{
  private readonly hashes = new Map<string, HashState>();
  /** Per-upload queue: chunks of one upload are applied one at a time. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: RegistryDeps) {}

  /**
   * The project of `repo`, after checking that the caller may do `action` in it (or, given a list,
   * any of its actions; a refusal names the first).
   */
  private async access(ctx: CallContext, repo: RepoName, action: Action | readonly [Action, ...Action[]]): Promise<ProjectRow> {
    const [first, ...others] = typeof action === 'string' ? [action] : action;
    let project: ProjectRow;
    try {
      project = await projectForRepo(this.deps.db, repo);
    } catch (err) {
      // An anonymous caller is asked to log in before learning whether a project exists.
      if (isDomainError(err, 'NAME_UNKNOWN') && ctx.actor.username === '') this.deps.authorizer.check(ctx.actor, first);
      throw err;
    }
    const target = { name: project.name, public: project.public === 1 };
    if (!others.some((a) => this.deps.authorizer.allows(ctx.actor, a, target, repo))) this.deps.authorizer.check(ctx.actor, first, target, repo);
    return project;
  }

  /** Size of `digest` when `repo` links it and its bytes exist; null otherwise. */
  private async linkedBlob(repo: RepoName, digest: Digest): Promise<BlobInfo | null> {
    const row = await this.deps.db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .innerJoin('blobs as b', 'b.digest', 'rb.digest')
      .select(['b.size'])
      .where('r.name', '=', repo)
      .where('rb.digest', '=', digest)
      .executeTakeFirst();
    if (!row) return null;
    const stored = await this.deps.blobs.stat(digest);
    if (stored) return { digest, size: stored.size };
    // A manifest's bytes live in the database (manifest-bytes.ts); a client may fetch them as a blob.
    const manifest = await this.deps.db.selectFrom('manifest_content').select('digest').where('digest', '=', digest).executeTakeFirst();
    return manifest ? { digest, size: row.size } : null;
  }

  async blobInfo(ctx: CallContext, repo: RepoName, digest: Digest): Promise<BlobInfo> {
    await this.access(ctx, repo, 'pull');
    const info = await this.linkedBlob(repo, digest);
    if (!info) throw fail('BLOB_UNKNOWN', 'blob unknown to registry', { digest, name: repo });
    return info;
  }

  /**
   * Where a client may fetch the blob from the storage directly (`storage.redirect`: a presigned
   * URL), after the same checks as a read; null to serve it here (redirects off, or the bytes are
   * a manifest's, which live in the database).
   */
  async blobRedirect(ctx: CallContext, repo: RepoName, digest: Digest): Promise<{ info: BlobInfo; url: string } | null> {
    const blobs = this.deps.blobs;
    if (!blobs.redirectUrl) return null;
    const info = await this.blobInfo(ctx, repo, digest);
    if (!(await blobs.stat(digest))) return null;
    const url = await blobs.redirectUrl(digest);
    return url === null ? null : { info, url };
  }

  /** The blob as an open file after the same checks as a read; null when the driver has no files or the bytes are a manifest's. */
  async blobFile(ctx: CallContext, repo: RepoName, digest: Digest): Promise<{ info: BlobInfo; file: FileHandle } | null> {
    const blobs = this.deps.blobs;
    if (!blobs.openFile) return null;
    const info = await this.blobInfo(ctx, repo, digest);
    try {
      return { info, file: await blobs.openFile(digest) };
    } catch (err) {
      if (err instanceof StorageNotFoundError) return null;
      throw err;
    }
  }

  async readBlob(ctx: CallContext, repo: RepoName, digest: Digest, range?: ByteRange): Promise<{ info: BlobInfo; stream: Readable }> {
    const info = await this.blobInfo(ctx, repo, digest);
    if (range && (range.start < 0 || range.end < range.start || range.end >= info.size)) {
      throw fail('RANGE_INVALID', 'requested range not satisfiable', { size: info.size, start: range.start, end: range.end });
    }
    try {
      return { info, stream: await this.deps.blobs.read(digest, range) };
    } catch (err) {
      if (!(err instanceof StorageNotFoundError)) throw err;
      const manifest = await readManifestBytes(this.deps.db, this.deps.blobs, digest);
      if (!manifest) throw fail('BLOB_UNKNOWN', 'blob unknown to registry', { digest, name: repo });
      return { info, stream: Readable.from([range ? manifest.subarray(range.start, range.end + 1) : manifest]) };
    }
  }

  async deleteBlob(ctx: CallContext, repo: RepoName, digest: Digest): Promise<void> {
    const project = await this.access(ctx, repo, 'delete');
    const repository = await findRepository(this.deps.db, repo);
    const res = repository
      ? await this.deps.db.transaction().execute(async (trx) => {
          const r = await trx.deleteFrom('repository_blobs').where('repository_id', '=', repository.id).where('digest', '=', digest).executeTakeFirst();
          // Quota: a blob no repository of the project links and no artifact references leaves the usage.
          if (r.numDeletedRows > 0n) await this.deps.quotas?.release(trx, project.id, [digest], { keepIfLinked: true });
          return r;
        })
      : null;
    if (!res || res.numDeletedRows === 0n) throw fail('BLOB_UNKNOWN', 'blob unknown to registry', { digest, name: repo });
    // The bytes stay until gc finds no other link or artifact referring to them.
  }

  async startUpload(ctx: CallContext, repo: RepoName): Promise<UploadState> {
    await this.access(ctx, repo, 'push');
    const id = randomUUID();
    await this.deps.blobs.createUpload(id).catch((err: unknown) => {
      throw err instanceof StorageFullError ? storageFull(repo, null, 0) : err;
    });
    const now = Date.now();
    try {
      await this.deps.db.insertInto('uploads').values({ id, repository_name: repo, size: 0, started_at: now, updated_at: now }).execute();
    } catch (err) {
      await this.deps.blobs.deleteUpload(id).catch(() => undefined); // e.g. SQLITE_FULL: no row, no file
      throw err;
    }
    if (this.hashes.size >= maxHashStates) {
      // Abandoned uploads would pile up: forget the oldest hash (that upload re-hashes on completion).
      const oldest = this.hashes.keys().next();
      if (!oldest.done) this.hashes.delete(oldest.value);
    }
    this.hashes.set(id, { hash: createHash('sha256'), size: 0 });
    return { id, repository: repo, size: 0 };
  }

  async mountBlob(ctx: CallContext, repo: RepoName, digest: Digest, from: RepoName | null): Promise<BlobInfo | null> {
    const project = await this.access(ctx, repo, 'push');
    if (from === null) return null;
    const source = await this.deps.db.selectFrom('projects').selectAll().where('name', '=', projectOf(from)).executeTakeFirst();
    if (!source || !this.deps.authorizer.allows(ctx.actor, 'pull', { name: source.name, public: source.public === 1 }, from)) return null;
    const info = await this.linkedBlob(from, digest);
    if (!info) return null;
    const link = () =>
      this.deps.db.transaction().execute(async (trx) => {
        const repository = await findOrCreateRepository(trx, this.deps.outbox, ctx, project, repo);
        await trx
          .insertInto('repository_blobs')
          .values({ repository_id: repository.id, digest, creation_time: Date.now() })
          .onConflict((oc) => oc.columns(['repository_id', 'digest']).doUpdateSet({ creation_time: Date.now() }))
          .execute();
        // Quota: a blob new to the project counts, in the transaction that links it.
        await this.deps.quotas?.charge(trx, { ...quotaSubject(ctx, project, repo), repositoryRef: repositoryRef(repository) }, [{ digest, size: info.size }]);
      });
    await (this.deps.quotas ? this.deps.quotas.guard(link) : link());
    return info;
  }

  /** The upload row of `id` in `repo`, or BLOB_UPLOAD_UNKNOWN. */
  private async uploadRow(repo: RepoName, id: string) {
    const row = uploadIdPattern.test(id)
      ? await this.deps.db.selectFrom('uploads').selectAll().where('id', '=', id).where('repository_name', '=', repo).executeTakeFirst()
      : undefined;
    if (!row) {
      this.hashes.delete(id);
      throw fail('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { name: repo, upload: id });
    }
    return row;
  }

  /** Runs `fn` after every earlier operation on the same upload has finished. */
  private async serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }

  /** Current size of an upload's bytes; BLOB_UPLOAD_UNKNOWN when its file is gone. */
  private async storedSize(repo: RepoName, id: string): Promise<number> {
    try {
      return await this.deps.blobs.uploadSize(id);
    } catch (err) {
      if (err instanceof StorageNotFoundError) throw fail('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { name: repo, upload: id });
      throw err;
    }
  }

  /** Appends `data` (hashing it) and records the new size; the caller holds the upload's lock. */
  private async append(repo: RepoName, id: string, data: Readable, before: number): Promise<number> {
    const state = this.hashes.get(id);
    const hashing = state && state.size === before ? state : null;
    if (!hashing) this.hashes.delete(id); // out of step: completion re-hashes the file
    let size = before;
    let failure: { err: unknown } | null = null;
    try {
      size = await this.deps.blobs.appendUpload(id, data, hashing ? (c) => hashing.hash.update(c) : undefined);
    } catch (err) {
      // Part of the chunk may be on disk and in the hash: forget the hash, keep the bytes.
      this.hashes.delete(id);
      failure = { err };
    }
    const now = await this.deps.blobs.uploadSize(id).catch(() => null);
    if (now !== null) {
      if (now > before) this.deps.metrics.bytesIn.inc(now - before);
      try {
        await this.deps.db.updateTable('uploads').set({ size: now, updated_at: Date.now() }).where('id', '=', id).execute();
      } catch (err) {
        // The write's own failure says more (a full disk fails both); report that one.
        if (!failure) throw err;
      }
    }
    if (failure) {
      const err = failure.err;
      if (err instanceof StorageNotFoundError) throw fail('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { name: repo, upload: id });
      if (err instanceof StorageFullError) {
        await drain(data, drainAfterFullMs);
        throw storageFull(repo, id, before);
      }
      if (isAbort(err)) throw fail('BLOB_UPLOAD_INVALID', 'the request body ended before it was complete', { name: repo, upload: id });
      throw err;
    }
    if (hashing) hashing.size = size;
    return size;
  }

  async appendUpload(ctx: CallContext, repo: RepoName, id: string, data: Readable, start?: number): Promise<UploadState> {
    const project = await this.access(ctx, repo, 'push');
    await this.uploadRow(repo, id);
    return this.serialize(id, async () => {
      const before = await this.storedSize(repo, id);
      if (start !== undefined && start !== before) {
        throw fail('RANGE_INVALID', `chunk starts at ${start} but the upload has ${before} bytes`, { name: repo, upload: id, size: before, start });
      }
      await this.refuseEarly(ctx, project, repo, id, null, before, data);
      const size = await this.append(repo, id, data, before);
      return { id, repository: repo, size };
    });
  }

  async uploadState(ctx: CallContext, repo: RepoName, id: string): Promise<UploadState> {
    // A GET, so pull, as Harbor and the distribution registry ask and as the 401 challenge's scope says.
    await this.access(ctx, repo, 'pull');
    await this.uploadRow(repo, id);
    // Behind any chunk still being written, so the size reported is where the next chunk must start.
    return this.serialize(id, async () => ({ id, repository: repo, size: await this.storedSize(repo, id) }));
  }

  async completeUpload(ctx: CallContext, repo: RepoName, id: string, digest: Digest, data?: Readable): Promise<BlobInfo> {
    const project = await this.access(ctx, repo, 'push');
    const row = await this.uploadRow(repo, id);
    return this.serialize(id, async () => {
      let size = await this.storedSize(repo, id);
      if (data) {
        await this.refuseEarly(ctx, project, repo, id, digest, size, data);
        size = await this.append(repo, id, data, size);
      }
      const actual = await this.digestOf(id, digestAlgorithm(digest), size);
      if (actual !== digest) {
        await this.discard(id);
        throw fail('DIGEST_INVALID', 'provided digest did not match uploaded content', { expected: digest, actual, name: repo });
      }
      const now = Date.now();
      const link = () =>
        this.deps.db.transaction().execute(async (trx) => {
          await trx.insertInto('blobs').values({ digest, size, creation_time: now }).onConflict((oc) => oc.column('digest').doNothing()).execute();
          const repository = await findOrCreateRepository(trx, this.deps.outbox, ctx, project, repo);
          await trx
            .insertInto('repository_blobs')
            .values({ repository_id: repository.id, digest, creation_time: now })
            .onConflict((oc) => oc.columns(['repository_id', 'digest']).doUpdateSet({ creation_time: now }))
            .execute();
          await trx.deleteFrom('uploads').where('id', '=', id).execute();
          // Quota: checked and counted in the transaction that links the blob; a refusal rolls it all back.
          await this.deps.quotas?.charge(trx, { ...quotaSubject(ctx, project, repo), repositoryRef: repositoryRef(repository) }, [{ digest, size }]);
        });
      try {
        await (this.deps.quotas ? this.deps.quotas.guard(link) : link());
      } catch (err) {
        // Refused by the quota: the bytes received are discarded, nothing became visible.
        if (isDomainError(err, 'DENIED')) await this.discard(id);
        throw err;
      }
      this.hashes.delete(id);
      await this.deps.blobs.commitUpload(id, digest).catch((err: unknown) => {
        // The rows are written; a push of the same blob again moves the bytes into place.
        throw err instanceof StorageFullError ? storageFull(repo, null, 0) : err;
      });
      this.deps.metrics.uploadDuration.observe((Date.now() - row.started_at) / 1000);
      return { digest, size };
    });
  }

  async cancelUpload(ctx: CallContext, repo: RepoName, id: string): Promise<void> {
    // A DELETE: delete, as Harbor asks and the challenge's scope says; push too, so that a pusher
    // (and POST ?digest= with a malformed digest, which drops the session it opened) may drop one.
    await this.access(ctx, repo, ['delete', 'push']);
    await this.uploadRow(repo, id);
    await this.serialize(id, () => this.discard(id));
  }

  /**
   * Quota: refuses a chunk before writing it when its declared Content-Length plus the bytes
   * already uploaded exceed what the project has left (the upload is discarded). `digest` is the
   * blob's digest when known (a blob the project already counts is never refused).
   */
  private async refuseEarly(ctx: CallContext, project: ProjectRow, repo: RepoName, id: string, digest: Digest | null, before: number, data: Readable): Promise<void> {
    const quotas = this.deps.quotas;
    const declared = declaredLength(data);
    if (!quotas || declared === null) return;
    await quotas.guard(async () => {
      try {
        await quotas.precheck(quotaSubject(ctx, project, repo), [{ digest: digest ?? `upload:${id}`, size: before + declared }]);
      } catch (err) {
        if (isDomainError(err, 'DENIED')) await this.discard(id);
        throw err;
      }
    });
  }

  /** Removes an upload's bytes, row and hash. */
  private async discard(id: string): Promise<void> {
    this.hashes.delete(id);
    await this.deps.blobs.deleteUpload(id);
    await this.deps.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  /** The digest of an upload's bytes: from the running hash when it is in step, else by re-reading the file. */
  private async digestOf(id: string, alg: 'sha256' | 'sha512', size: number): Promise<Digest> {
    const state = this.hashes.get(id);
    if (state && alg === 'sha256' && state.size === size) {
      this.hashes.delete(id); // digest() finalises the hash
      return makeDigest('sha256', state.hash.digest('hex'));
    }
    const hash = createHash(alg);
    for await (const chunk of await this.deps.blobs.readUpload(id)) hash.update(toBuffer(chunk));
    return makeDigest(alg, hash.digest('hex'));
  }
}

/**
 * The 503 for a write that found no space. The driver undid the write: an upload keeps the `size`
 * it had before the chunk, so a client may send the chunk again once space is freed.
 */
function storageFull(repo: RepoName, upload: string | null, size: number) {
  const tail = upload === null ? '' : `; the upload keeps its first ${size} bytes`;
  return fail('UNAVAILABLE', `no space left on the registry storage: the write was undone${tail}; try again once space is freed`, {
    reason: 'disk_full',
    name: repo,
    ...(upload === null ? {} : { upload, size }),
  });
}

/** What a blob push is, for quota messages and events. */
function quotaSubject(ctx: CallContext, project: ProjectRow, repo: RepoName): QuotaSubject {
  return { ctx, project, repository: repo, repositoryRef: null, artifact: null };
}

/** The Content-Length of a request body stream (an http.IncomingMessage), or null when unknown. */
function declaredLength(data: Readable): number | null {
  if (!('headers' in data)) return null;
  const headers: unknown = data.headers;
  if (typeof headers !== 'object' || headers === null || !('content-length' in headers)) return null;
  const v = headers['content-length'];
  return typeof v === 'string' && /^[0-9]{1,15}$/.test(v) ? Number(v) : null;
}

function toBuffer(chunk: unknown): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
}

/** Reads and discards what is left of `data`, for at most `ms`. */
async function drain(data: Readable, ms: number): Promise<void> {
  if (data.readableEnded || data.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      // Swallow a late error (the client resetting after the answer), which no one else listens for now.
      data.off('end', done).off('close', done).off('error', done).on('error', () => undefined);
      resolve();
    };
    const timer = setTimeout(done, ms);
    data.on('end', done).on('close', done).on('error', done);
    data.resume();
  });
}

/** True for the errors a request stream raises when the client goes away mid-body. */
function isAbort(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = 'code' in err ? err.code : undefined;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err instanceof Error && err.message === 'aborted');
}
