/**
 * The manifest GET's and HEAD's lookup (project, repository, artifact: registryStore.manifestTarget),
 * batched on PostgreSQL. There every statement is a round trip to another process, and under a
 * pull load the lookup was most of a GET's statements: the lookups asked in one turn of the event
 * loop now go in ONE statement (registryStore.manifestTargetsPg), at most two such statements in
 * flight; lookups asked meanwhile wait for the next. Each lookup still starts after it was asked,
 * so it reads every change committed before its request arrived, as its own statement would. On
 * SQLite a statement is a function call: each lookup runs at once, alone.
 */
import type { Kysely } from 'kysely';
import { isPostgres, registryStore, type Database, type ManifestKey, type ManifestTarget } from '../db/index.ts';

/** Keys in one statement at most. */
const maxBatch = 500;
/** Batches in flight at once at most (each holds one pooled connection). */
const maxInFlight = 2;

interface Waiting {
  key: ManifestKey;
  resolve: (t: ManifestTarget | null) => void;
  reject: (err: unknown) => void;
}

/** See the module comment. */
export class ManifestLookups {
  private readonly queue: Waiting[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly batched: boolean;

  constructor(private readonly db: Kysely<Database>) {
    this.batched = isPostgres(db);
  }

  /** What registryStore.manifestTarget answers for `key`. */
  target(key: ManifestKey): Promise<ManifestTarget | null> {
    if (!this.batched) return registryStore.manifestTarget(this.db, key.projectName, key.repoName, key.reference, key.byDigest);
    return new Promise((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= maxInFlight) return;
    this.scheduled = true;
    // After the turn's other requests were parsed: they join this batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < maxInFlight) {
      const batch = this.queue.splice(0, maxBatch);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  /** One statement per kind of reference in `batch` (tags, digests). */
  private async run(batch: Waiting[]): Promise<void> {
    const byTag = batch.filter((w) => !w.key.byDigest);
    const byDigest = batch.filter((w) => w.key.byDigest);
    await Promise.all([this.answer(byTag), this.answer(byDigest)]);
  }

  private async answer(part: Waiting[]): Promise<void> {
    if (part.length === 0) return;
    try {
      const targets = await registryStore.manifestTargetsPg(
        this.db,
        part.map((w) => w.key),
      );
      part.forEach((w, i) => w.resolve(targets[i] ?? null));
    } catch (err) {
      for (const w of part) w.reject(err);
    }
  }
}
