/**
 * Garbage collection: removes blobs no artifact needs and uploads nobody finished.
 *
 * A blob is removed when ALL of these hold:
 * - no artifact references it (`artifact_references.child_digest`) and it is no artifact's own
 *   manifest (`artifacts.digest`; manifest bytes are stored as blobs too);
 * - its `blobs` row is older than `registry.upload_grace_seconds`;
 * - no repository linked it within that grace period (a re-push or mount refreshes the link time).
 * So a push in flight, whose layers are uploaded but whose manifest is not PUT yet, never loses
 * a layer as long as it finishes within the grace period.
 *
 * The rows go first, in one transaction (a statement per 500 digests, not per blob); the bytes
 * after it, and only when no `blobs` row for the digest has reappeared meanwhile (an upload
 * completing concurrently writes its row first and renames its bytes into place after, so it
 * repairs whatever this removes).
 *
 * Uploads whose row was last touched before the grace period are removed (row and bytes), and so
 * are upload files with no row whose last write is that old, and writes a driver left incomplete
 * that long (S3's multipart uploads: `BlobStore.cleanupIncomplete`).
 *
 * Manifest bytes are rows of `manifest_content` (src/registry/manifest-bytes.ts) and go with their
 * `blobs` row in the same transaction. Not swept: manifest files in the BlobStore with no `blobs`
 * row, which only a Wharf older than migration 0005 could leave (a crash between storing a
 * manifest's bytes and its transaction); they cost disk only and a re-push adopts them.
 *
 * Options (Harbor's GC parameters): `deleteUntagged` first deletes artifacts that have no tag and
 * are no index's child, through the registry (so DELETE_ARTIFACT events and quotas follow), then
 * collects; `dryRun` deletes nothing and reports what a real run would free (without what deleting
 * untagged artifacts would free in addition). `signal` stops the run between two steps (a stop
 * request): before the blob rows' transaction, between two artifacts or two uploads; never between
 * deleting blob rows and their bytes, so that a stopped run leaves no file without a row. `log`
 * receives a line per step for the task's log.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { chunks, type Database } from '../db/index.ts';
import type { BlobStore } from '../storage/index.ts';
import type { Config } from '../config/index.ts';
import { parseDigest } from '../domain/index.ts';

/** What gc freed. */
export interface GcReport {
  blobsDeleted: number;
  bytesFreed: number;
  uploadsDeleted: number;
  /** Links (repository_blobs rows) removed along with the blobs. */
  linksDeleted: number;
  /** Untagged artifacts deleted (or, in a dry run, that would be). */
  artifactsDeleted: number;
  /** True when nothing was deleted: the counts say what a real run would have freed. */
  dryRun: boolean;
  /** How long the run took, in milliseconds. */
  durationMs: number;
}

/** Harbor's GC parameters and the job framework's hooks. */
export interface GcOptions {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  /** Stops the run between two steps. */
  signal?: AbortSignal;
  /** A line for the run's log. */
  log?: (line: string) => Promise<void>;
}

/** What gc needs. */
export interface GcDeps {
  db: Kysely<Database>;
  blobs: BlobStore;
  config: Config;
  logger: Logger;
  /** The current time in ms (tests move it forward); default Date.now. */
  now?: () => number;
  /** Deletes one artifact as the registry does (for `deleteUntagged`); without it untagged artifacts stay. */
  deleteArtifact?: (repository: string, digest: string) => Promise<void>;
}

/** Runs one garbage collection pass and reports what it freed. */
export async function runGc(deps: GcDeps, opts: GcOptions = {}): Promise<GcReport> {
  const started = Date.now();
  const now = (deps.now ?? Date.now)();
  const cutoff = now - deps.config.registry.upload_grace_seconds * 1000;
  const { db, blobs, logger } = deps;
  const dryRun = opts.dryRun === true;
  const log = opts.log ?? (async () => {});
  const checkpoint = () => opts.signal?.throwIfAborted();
  await log(`garbage collection starts (dry_run=${dryRun}, delete_untagged=${opts.deleteUntagged === true}, grace ${deps.config.registry.upload_grace_seconds}s)`);

  let artifactsDeleted = 0;
  if (opts.deleteUntagged) {
    const untagged = await db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select(['r.name as repository', 'a.digest'])
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('tags as t').select('t.id').whereRef('t.artifact_id', '=', 'a.id'))))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('artifact_references as ar')
              .innerJoin('artifacts as p', 'p.id', 'ar.artifact_id')
              .select('ar.id')
              .whereRef('ar.child_digest', '=', 'a.digest')
              .whereRef('p.repository_id', '=', 'a.repository_id')
              .where('ar.kind', '=', 'manifest'),
          ),
        ),
      )
      .orderBy('a.id')
      .execute();
    for (const u of untagged) {
      checkpoint();
      if (dryRun) {
        await log(`would delete untagged artifact ${u.repository}@${u.digest}`);
        artifactsDeleted++;
        continue;
      }
      if (!deps.deleteArtifact) break;
      try {
        await deps.deleteArtifact(u.repository, u.digest);
        artifactsDeleted++;
        await log(`deleted untagged artifact ${u.repository}@${u.digest}`);
      } catch (err) {
        await log(`could not delete untagged artifact ${u.repository}@${u.digest}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  checkpoint();

  const doomed = await db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('blobs as b')
      .select(['b.digest', 'b.size'])
      .where('b.creation_time', '<', cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('artifact_references as ar')
              .select('ar.id')
              .whereRef('ar.child_digest', '=', 'b.digest'),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('artifacts as a').select('a.id').whereRef('a.digest', '=', 'b.digest'))))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('repository_blobs as rb')
              .select('rb.digest')
              .whereRef('rb.digest', '=', 'b.digest')
              .where('rb.creation_time', '>=', cutoff),
          ),
        ),
      )
      .execute();
    let links = 0;
    let manifestBytes = 0;
    // In chunks of digests: a statement per chunk, not per blob (a round trip each on PostgreSQL).
    for (const chunk of chunks(rows, gcChunk)) {
      const digests = chunk.map((r) => r.digest);
      if (dryRun) {
        const res = await trx.selectFrom('repository_blobs').select((eb) => eb.fn.countAll<number>().as('n')).where('digest', 'in', digests).executeTakeFirstOrThrow();
        links += Number(res.n);
        continue;
      }
      const res = await trx.deleteFrom('repository_blobs').where('digest', 'in', digests).executeTakeFirst();
      links += Number(res.numDeletedRows);
      const contents = new Set((await trx.selectFrom('manifest_content').select('digest').where('digest', 'in', digests).execute()).map((c) => c.digest));
      for (const r of chunk) if (contents.has(r.digest)) manifestBytes += r.size;
      // Deleting the blobs rows also deletes their manifest_content rows (ON DELETE CASCADE).
      await trx.deleteFrom('blobs').where('digest', 'in', digests).execute();
    }
    return { rows, links, manifestBytes };
  });

  let blobsDeleted = 0;
  let bytesFreed = doomed.manifestBytes;
  for (const chunk of chunks(doomed.rows, gcChunk)) {
    if (dryRun) {
      blobsDeleted += chunk.length;
      for (const r of chunk) bytesFreed += r.size;
      continue;
    }
    // Re-pushed while gc ran: keep the bytes.
    const back = new Set((await db.selectFrom('blobs').select('digest').where('digest', 'in', chunk.map((r) => r.digest)).execute()).map((b) => b.digest));
    for (const r of chunk) {
      if (back.has(r.digest)) continue;
      let digest;
      try {
        digest = parseDigest(r.digest);
      } catch {
        logger.warn({ digest: r.digest }, 'gc: skipping a blob row with an invalid digest');
        continue;
      }
      const stored = await blobs.stat(digest);
      await blobs.delete(digest);
      blobsDeleted++;
      bytesFreed += stored?.size ?? 0;
    }
  }

  checkpoint();
  await log(`${dryRun ? 'would delete' : 'deleted'} ${blobsDeleted} blobs (${bytesFreed} bytes, ${doomed.links} repository links)`);
  let uploadsDeleted = 0;
  const stale = await db.selectFrom('uploads').select(['id', 'size']).where('updated_at', '<', cutoff).execute();
  for (const u of stale) {
    checkpoint();
    if (dryRun) {
      uploadsDeleted++;
      bytesFreed += await blobs.uploadSize(u.id).catch(() => 0);
      continue;
    }
    const size = await blobs.uploadSize(u.id).catch(() => 0);
    await blobs.deleteUpload(u.id);
    await db.deleteFrom('uploads').where('id', '=', u.id).where('updated_at', '<', cutoff).execute();
    uploadsDeleted++;
    bytesFreed += size;
  }
  for await (const file of blobs.listUploads()) {
    if (file.modified.getTime() >= cutoff) continue;
    const row = await db.selectFrom('uploads').select('id').where('id', '=', file.id).executeTakeFirst();
    if (row) continue;
    checkpoint();
    const size = await blobs.uploadSize(file.id).catch(() => 0);
    if (!dryRun) await blobs.deleteUpload(file.id);
    uploadsDeleted++;
    bytesFreed += size;
  }
  // What interrupted writes left in the storage itself (S3: incomplete multipart uploads).
  if (blobs.cleanupIncomplete) {
    checkpoint();
    const n = await blobs.cleanupIncomplete(new Date(cutoff), { dryRun });
    if (n > 0) await log(`${dryRun ? 'would abort' : 'aborted'} ${n} incomplete multipart uploads older than the grace period`);
  }

  const report: GcReport = { blobsDeleted, bytesFreed, uploadsDeleted, linksDeleted: doomed.links, artifactsDeleted, dryRun, durationMs: Date.now() - started };
  await log(`${dryRun ? 'would delete' : 'deleted'} ${uploadsDeleted} abandoned uploads; ${bytesFreed} bytes ${dryRun ? 'would be freed' : 'freed'} in all`);
  logger.info(report, 'garbage collection finished');
  return report;
}

/** Digests per statement: far below SQLite's and PostgreSQL's limits on bound parameters. */
const gcChunk = 500;
