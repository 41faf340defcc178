/**
 * Group commit of manifest pulls. Every GET of a manifest updates pull_time (artifact, tag), the
 * repository's pull_count and appends PULL_ARTIFACT to the outbox. Instead of one transaction per
 * GET, pulls are queued and written in ONE transaction per batch: a batch is flushed when the queue
 * reaches `maxBatch` or `maxDelayMs` after its first pull, whichever comes first, with one flush in
 * flight at a time. `record()` resolves only once its batch has committed, so a response that was
 * sent always has its committed event (kill -9 loses nothing that was answered).
 */
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { isPostgres, isTransientConflict, registryStore, type ArtifactRow, type Database, type ProjectRow, type PullWrites, type RepositoryRow } from '../db/index.ts';
import type { NewEvent, Outbox } from '../events/index.ts';
import { projectRef, repositoryRef } from './repositories.ts';
import type { CallContext } from './types.ts';

type Trx = Transaction<Database>;

/** One manifest GET to record. */
export interface PullRecord {
  ctx: CallContext;
  project: ProjectRow;
  repository: RepositoryRow;
  artifact: ArtifactRow;
  /** The tag the GET named, or null for a GET by digest. */
  tag: string | null;
}

/** Tuning of the group commit. */
export interface PullRecorderOptions {
  /** Flush as soon as this many pulls are queued. */
  maxBatch?: number;
  /** Flush at the latest this long after the first queued pull. */
  maxDelayMs?: number;
}

interface Pending {
  record: PullRecord;
  now: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** How often a batch is retried when the database is busy. */
const maxAttempts = 5;

/** Queues pull records and writes them in one transaction per batch (group commit). */
export class PullRecorder {
  private queue: Pending[] = [];
  private timer: { cancel(): void } | null = null;
  private inFlight: Promise<void> | null = null;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
    options: PullRecorderOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 64);
    this.maxDelayMs = Math.max(0, options.maxDelayMs ?? 0);
  }

  /** Queues one pull; resolves when the transaction holding it has committed, rejects when it failed. */
  record(record: PullRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, now: Date.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Writes everything queued so far (and waits for a flush in flight). */
  async flush(): Promise<void> {
    while (this.inFlight || this.queue.length > 0) {
      if (this.inFlight) await this.inFlight;
      else this.startFlush();
    }
  }

  /** Flushes what is queued; for shutdown, before the database closes. */
  async close(): Promise<void> {
    await this.flush();
  }

  private schedule(): void {
    if (this.inFlight) return; // the flush in flight starts the next one when it ends
    if (this.queue.length >= this.maxBatch) {
      this.startFlush();
    } else if (!this.timer) {
      const fire = () => {
        this.timer = null;
        if (!this.inFlight && this.queue.length > 0) this.startFlush();
      };
      // 0: at the end of this event-loop turn, once the requests read in it are queued.
      if (this.maxDelayMs === 0) {
        const immediate = setImmediate(fire);
        this.timer = { cancel: () => clearImmediate(immediate) };
      } else {
        const timeout = setTimeout(fire, this.maxDelayMs);
        this.timer = { cancel: () => clearTimeout(timeout) };
      }
    }
  }

  private startFlush(): void {
    if (this.timer) {
      this.timer.cancel();
      this.timer = null;
    }
    const batch = this.queue.splice(0, this.maxBatch);
    this.inFlight = this.write(batch).finally(() => {
      this.inFlight = null;
      // Pulls queued while this batch was written have waited already: flush them now.
      if (this.queue.length > 0) this.startFlush();
    });
  }

  /** Writes one batch and settles its waiters; never rejects. */
  private async write(batch: Pending[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      if (isPostgres(this.db)) await this.retrying(() => this.writeBatchPg(batch));
      else await this.retrying(() => this.db.transaction().execute((trx) => this.writeBatch(trx, batch)));
    } catch (err) {
      this.logger.error({ err, pulls: batch.length }, 'recording a batch of manifest pulls failed');
      for (const p of batch) p.reject(err);
      return;
    }
    for (const p of batch) p.resolve();
  }

  /** SQLite: the batch's writes and events in the transaction `trx`. */
  private async writeBatch(trx: Trx, batch: Pending[]): Promise<void> {
    const w = pullWrites(batch);
    // Row locks in one order: repositories, artifacts, tags, each by key, as a push takes them
    // (its repository, then its artifact, then its tag), and the outbox's last (appendMany).
    for (const [id, n] of w.repositories) {
      await trx.updateTable('repositories').set((eb) => ({ pull_count: eb('pull_count', '+', n) })).where('id', '=', id).execute();
    }
    for (const [id, now] of w.artifacts) await trx.updateTable('artifacts').set({ pull_time: now }).where('id', '=', id).execute();
    for (const t of w.tags) {
      await trx.updateTable('tags').set({ pull_time: t.now }).where('repository_id', '=', t.repositoryId).where('name', '=', t.tag).execute();
    }
    // One multi-row INSERT for the batch's events, in the batch's order.
    await this.outbox.appendMany(trx, pullEvents(batch, await registryStore.tagNames(trx, w.artifacts.map((a) => a[0]))));
  }

  /**
   * PostgreSQL: the artifacts' tag lists, then the batch's writes and events in ONE statement
   * (registryStore.pullWritesPg, Outbox.appendAfterPg), with the row locks in the same order as
   * above and the outbox lock last, so batches of two instances and pushes wait for each other
   * without deadlocks: two round trips per batch instead of seven (BEGIN, three UPDATEs, the tag
   * lists, the INSERT, COMMIT).
   */
  private async writeBatchPg(batch: Pending[]): Promise<void> {
    const w = pullWrites(batch);
    const tags = await registryStore.tagNames(this.db, w.artifacts.map((a) => a[0]));
    await this.outbox.appendAfterPg(this.db, registryStore.pullWritesPg(w), pullEvents(batch, tags));
  }

  /**
   * Runs `fn`, again while the database is busy or locked (SQLite), or when PostgreSQL ended it
   * as a deadlock victim (40P01: another instance's batch updated the same repositories and
   * artifacts in another order) or a serialization failure (40001).
   */
  private async retrying(fn: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await fn();
        return;
      } catch (err) {
        if (attempt >= maxAttempts || !isTransientConflict(err)) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.floor(Math.random() * 10)));
      }
    }
  }
}

/** What a batch writes besides its events, in key order: per artifact and tag the newest pull time wins; per repository the pulls add up. */
function pullWrites(batch: readonly Pending[]): PullWrites {
  const artifacts = new Map<number, number>();
  const tagTimes = new Map<string, { repositoryId: number; tag: string; now: number }>();
  const repositories = new Map<number, number>();
  for (const { record: r, now } of batch) {
    artifacts.set(r.artifact.id, Math.max(artifacts.get(r.artifact.id) ?? 0, now));
    if (r.tag !== null) {
      const key = `${r.repository.id}\u0000${r.tag}`;
      const prev = tagTimes.get(key);
      if (!prev || prev.now < now) tagTimes.set(key, { repositoryId: r.repository.id, tag: r.tag, now });
    }
    repositories.set(r.repository.id, (repositories.get(r.repository.id) ?? 0) + 1);
  }
  const byKey = (x: readonly [number, number], y: readonly [number, number]) => x[0] - y[0];
  return {
    repositories: [...repositories].sort(byKey),
    artifacts: [...artifacts].sort(byKey),
    tags: [...tagTimes.values()].sort((x, y) => x.repositoryId - y.repositoryId || (x.tag < y.tag ? -1 : x.tag > y.tag ? 1 : 0)),
  };
}

/** The batch's PULL_ARTIFACT events, in its order; `tags`: each artifact's tag names. */
function pullEvents(batch: readonly Pending[], tags: ReadonlyMap<number, string[]>): NewEvent[] {
  return batch.map(({ record: r, now }) => {
    const a = r.artifact;
    return {
      type: 'PULL_ARTIFACT',
      operator: r.ctx.actor.username,
      request: r.ctx.request,
      occurAt: now,
      project: projectRef(r.project),
      repository: repositoryRef(r.repository),
      artifact: { digest: a.digest, mediaType: a.media_type, size: a.size, tag: r.tag, tags: tags.get(a.id) ?? [], artifactType: a.artifact_type },
    };
  });
}
