/**
 * Group commit for small write transactions. SQLite commits one transaction at a time and each
 * COMMIT costs a write of every page it touched to the WAL; under a stream of manifest PUTs the
 * commits alone were ~15 % of the process's CPU. `run(fn)` queues `fn`; the queue is flushed on
 * the next turn of the event loop (`setImmediate`), so the writes of every request that reached
 * this point in the same turn share ONE transaction:
 *
 *   BEGIN; fn1; fn2; ...; COMMIT
 *
 * A `fn` that throws is answered with its error and nothing of it stays, while its neighbours
 * still commit. The group runs optimistically, without savepoints (two round trips per write on
 * PostgreSQL): when a `fn` throws, the whole transaction is rolled back, that `fn`'s promise
 * rejects (or it is retried, below), and the others, whose work the rollback undid, run again at
 * the head of the queue in a careful group, where each runs in its own savepoint:
 *
 *   BEGIN; (SAVEPOINT g; fn1; RELEASE g) (SAVEPOINT g; fn2; RELEASE g) ...; COMMIT
 *
 * so a failure costs its neighbours at most one more run. A `fn` that fails with a retryable
 * error (a unique constraint race, a busy database) runs again in a later group, up to
 * `maxAttempts` times. Every promise settles only after its group's COMMIT, so an answer sent to a
 * client always stands on a committed change. When the group itself fails (BEGIN or COMMIT
 * refused), its entries run again one transaction each, so one bad entry never fails its
 * neighbours. Since any write may thus run more than once, `fn` must have no effect outside the
 * transaction it is given.
 *
 * `fn` must use only the transaction it is given (the single SQLite connection is held until the
 * group commits) and should not wait for anything but the database.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { isTransientConflict, isUniqueViolation } from './dialect.ts';

/** Tuning of a {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** Most transactions in one group (default 64). */
  maxBatch?: number;
  /** Tries per transaction before its retryable error is returned (default 5). */
  maxAttempts?: number;
  /** Errors worth another try (default: unique-constraint races, SQLite's busy/locked, PostgreSQL's serialization failures). */
  isRetryable?: (err: unknown) => boolean;
}

interface Entry<DB> {
  fn: (trx: Transaction<DB>) => Promise<unknown>;
  attempt: number;
  /** Its work was undone by a neighbour's failure: its next group runs each write in a savepoint. */
  careful: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** What became of a write in its group; `again`: a neighbour's failure rolled it back, to run again. */
type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown } | { again: true };

/** True for the SQLite errors a retry can cure: a unique-constraint race or a busy/locked database. */
export function isRetryableSqliteError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  return code.startsWith('SQLITE_') && (isUniqueViolation(err) || isTransientConflict(err));
}

/**
 * True for the errors of either database a retry can cure: SQLite's above, PostgreSQL's unique
 * violation (23505), serialization failure (40001) and deadlock (40P01).
 */
export function isRetryableDbError(err: unknown): boolean {
  return isUniqueViolation(err) || isTransientConflict(err);
}

/** Runs queued write transactions in shared SQLite transactions (see the file comment). */
export class GroupCommit<DB> {
  private queue: Array<Entry<DB>> = [];
  private scheduled = false;
  private flushing = false;
  private readonly maxBatch: number;
  private readonly maxAttempts: number;
  private readonly isRetryable: (err: unknown) => boolean;

  constructor(
    private readonly db: Kysely<DB>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 64);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.isRetryable = options.isRetryable ?? isRetryableDbError;
  }

  /** Runs `fn` inside a shared transaction; resolves with its result once that transaction committed. */
  run<T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // The queue holds entries of many result types; each resolve receives exactly its fn's result.
      this.queue.push({ fn, attempt: 1, careful: false, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = true;
      void this.flush().finally(() => {
        this.flushing = false;
        this.schedule();
      });
    });
  }

  /** Runs one group; settles its entries; re-queues the ones to retry. */
  private async flush(): Promise<void> {
    const group = this.queue.splice(0, this.maxBatch);
    let outcomes: Outcome[];
    try {
      outcomes = group.length > 1 && group.some((e) => e.careful) ? await this.runCareful(group) : await this.runOptimistic(group);
    } catch {
      // BEGIN, a savepoint command or COMMIT failed: nothing of the group stands. Each entry runs
      // again alone, so the failure is reported to (at most) the entry that causes it.
      outcomes = [];
      for (const e of group) outcomes.push(await this.runAlone(e));
    }
    const again: Array<Entry<DB>> = [];
    for (const [i, e] of group.entries()) {
      const o = outcomes[i];
      if (!o) continue;
      if ('again' in o) {
        e.careful = true;
        again.push(e);
      } else if (o.ok) e.resolve(o.value);
      else if (e.attempt < this.maxAttempts && this.isRetryable(o.err)) {
        e.attempt++;
        this.queue.push(e);
      } else e.reject(o.err);
    }
    // First in the next group, in their order.
    this.queue.unshift(...again);
  }

  /**
   * The group without savepoints. When a write throws, the transaction is rolled back: that write
   * has its error, the others are to run again (the file comment).
   */
  private async runOptimistic(group: Array<Entry<DB>>): Promise<Outcome[]> {
    const trx = await this.db.startTransaction().execute();
    const outcomes: Outcome[] = [];
    try {
      for (const [i, e] of group.entries()) {
        try {
          outcomes.push({ ok: true, value: await e.fn(trx) });
        } catch (err) {
          await trx.rollback().execute();
          return group.map((_, j) => (j === i ? { ok: false, err } : { again: true }));
        }
      }
      await trx.commit().execute();
    } catch (err) {
      await trx.rollback().execute().catch(() => undefined);
      throw err;
    }
    return outcomes;
  }

  /** The group with each write in its own savepoint: one that throws is rolled back alone. */
  private async runCareful(group: Array<Entry<DB>>): Promise<Outcome[]> {
    const trx = await this.db.startTransaction().execute();
    const outcomes: Outcome[] = [];
    try {
      for (const e of group) {
        await sql`savepoint g`.execute(trx);
        try {
          outcomes.push({ ok: true, value: await e.fn(trx) });
          await sql`release savepoint g`.execute(trx);
        } catch (err) {
          outcomes.push({ ok: false, err });
          await sql`rollback to savepoint g`.execute(trx);
          await sql`release savepoint g`.execute(trx);
        }
      }
      await trx.commit().execute();
    } catch (err) {
      await trx.rollback().execute().catch(() => undefined);
      throw err;
    }
    return outcomes;
  }

  private async runAlone(e: Entry<DB>): Promise<Outcome> {
    try {
      return { ok: true, value: await this.db.transaction().execute((trx) => e.fn(trx)) };
    } catch (err) {
      return { ok: false, err };
    }
  }
}
