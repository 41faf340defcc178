/**
 * A prepared-statement cache in front of better-sqlite3 for Kysely's SqliteDialect. Kysely's driver
 * calls `prepare(sql)` for every query, and compiling the SQL was the largest single cost of a
 * manifest PUT in a CPU profile (~13% of the process's time). Statements are reused by SQL text
 * (parameters are bound per call, so reuse is safe); SQLite re-prepares a statement by itself after
 * a schema change. A statement still iterating (a streamed query) is never handed out twice: a busy
 * one is replaced by a fresh, uncached statement. The cache is bounded (least recently used out).
 *
 * With a {@link WriteLock}, shared by the connections of one process (the main thread's and the
 * delivery thread's), a transaction's BEGIN first takes that lock and its COMMIT or ROLLBACK gives it
 * back. SQLite alone would make the second writer sleep in its busy handler in growing steps
 * (1, 2, 5, 10, 15, 20, 25 ms ...) and retry, often missing the moments the lock is free; a
 * waiter on the WriteLock is woken the moment it is released.
 */
import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const defaultCapacity = 500;

/**
 * A write lock shared by two threads (party 0: the main thread, party 1: the delivery thread) over
 * a SharedArrayBuffer: pass `buffer` to the other thread and build a WriteLock on it there with
 * the other party number. Held from a transaction's BEGIN to its end. Fair between the two: a
 * release while the other party waits hands the lock to it, so a thread that writes in a tight
 * loop cannot take it back first, and a waiter waits for at most one of the other's transactions.
 *
 * Cells: [0] the state (0 free, 1 held, 2 + p reserved for party p), [1 + p] party p is waiting.
 */
export class WriteLock {
  private readonly cells: Int32Array;
  private readonly party: 0 | 1;

  /** A new lock (party 0), or a handle of party `party` on the lock whose `buffer` another thread passed. */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(12), party: 0 | 1 = 0) {
    this.cells = new Int32Array(buffer, 0, 3);
    this.party = party;
    // A new handle of this party replaces one that is gone (a thread that died or was terminated
    // while waiting): clear its waiting flag and any reservation left for it.
    Atomics.store(this.cells, 1 + party, 0);
    if (Atomics.compareExchange(this.cells, 0, 2 + party, 0) === 2 + party) Atomics.notify(this.cells, 0);
  }

  /**
   * Takes the lock, waiting (blocking this thread, as SQLite's busy handler would) up to
   * `timeoutMs`. Past that the holder is presumed gone (a thread that died inside a transaction)
   * and the lock is taken anyway; SQLite's own lock still keeps writers apart. Returns false then.
   */
  acquire(timeoutMs: number): boolean {
    const { cells } = this;
    const mine = 2 + this.party;
    if (Atomics.compareExchange(cells, 0, 0, 1) === 0) return true;
    Atomics.store(cells, 1 + this.party, 1);
    try {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        if (Atomics.compareExchange(cells, 0, 0, 1) === 0 || Atomics.compareExchange(cells, 0, mine, 1) === mine) return true;
        const left = deadline - performance.now();
        if (left <= 0) {
          Atomics.store(cells, 0, 1);
          return false;
        }
        const state = Atomics.load(cells, 0);
        if (state === 0 || state === mine) continue;
        Atomics.wait(cells, 0, state, left);
      }
    } finally {
      Atomics.store(cells, 1 + this.party, 0);
    }
  }

  /** True while the lock is held or reserved for a waiter. */
  get locked(): boolean {
    return Atomics.load(this.cells, 0) !== 0;
  }

  /** Gives the lock back: to the other party when it waits, else free; wakes the waiters. */
  release(): void {
    const other = 1 - this.party;
    Atomics.store(this.cells, 0, Atomics.load(this.cells, 1 + other) === 1 ? 2 + other : 0);
    Atomics.notify(this.cells, 0);
  }
}

/**
 * A statement whose text starts with this comment returns its rows as arrays of the column values
 * in order (better-sqlite3's raw mode), not as objects: building an object column by column is
 * most of what a one-row read of many columns costs (sql.ts, `queryNamed`).
 */
export const arrayRowsMarker = '/* rows as arrays */ ';

/** Options of {@link cachingDatabase}. */
export interface CachingOptions {
  /** Most statements kept (default 500). */
  capacity?: number;
  /** Taken by every BEGIN, given back when the transaction ends. */
  writeLock?: WriteLock;
  /** How long a BEGIN waits for the write lock, ms (default 5000, like busy_timeout). */
  lockTimeoutMs?: number;
}

/** Wraps `db` so repeated SQL text reuses one prepared statement (and BEGIN takes the write lock). */
export function cachingDatabase(db: SQLite.Database, opts: CachingOptions | number = {}): SqliteDatabase {
  const options = typeof opts === 'number' ? { capacity: opts } : opts;
  const capacity = options.capacity ?? defaultCapacity;
  const cache = new Map<string, SQLite.Statement>();
  const lock = options.writeLock;
  const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  let held = false;
  const release = () => {
    if (held && !db.inTransaction) {
      held = false;
      lock?.release();
    }
  };
  /** BEGIN: take the lock first; give it back if BEGIN fails. */
  const locking = (stmt: SqliteStatement): SqliteStatement => ({
    reader: false,
    all: (p) => stmt.all(p),
    iterate: (p) => stmt.iterate(p),
    run: (p) => {
      if (!held && lock) {
        lock.acquire(lockTimeoutMs);
        held = true;
      }
      try {
        return stmt.run(p);
      } finally {
        release();
      }
    },
  });
  /** COMMIT / ROLLBACK: give the lock back once no transaction is open (a failed COMMIT leaves it open). */
  const unlocking = (stmt: SqliteStatement): SqliteStatement => ({
    reader: false,
    all: (p) => stmt.all(p),
    iterate: (p) => stmt.iterate(p),
    run: (p) => {
      try {
        return stmt.run(p);
      } finally {
        release();
      }
    },
  });
  const fresh = (sql: string): SQLite.Statement => {
    const stmt = db.prepare(sql);
    if (sql.startsWith(arrayRowsMarker)) stmt.raw(true);
    return stmt;
  };
  const prepare = (sql: string): SqliteStatement => {
    const hit = cache.get(sql);
    if (hit) {
      if (hit.busy) return fresh(sql);
      // Move to the end: the Map's insertion order is the recency order.
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const stmt = fresh(sql);
    cache.set(sql, stmt);
    if (cache.size > capacity) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    return stmt;
  };
  return {
    close: () => {
      cache.clear();
      db.close();
      // Closing ends an open transaction: its lock goes back too.
      if (held) {
        held = false;
        lock?.release();
      }
    },
    prepare: (sql: string) => {
      if (!lock) return prepare(sql);
      const verb = sql.trimStart().slice(0, 8).toLowerCase();
      if (verb.startsWith('begin')) return locking(prepare(sql));
      if (verb.startsWith('commit') || verb.startsWith('end') || verb === 'rollback') return unlocking(prepare(sql));
      return prepare(sql);
    },
  };
}
