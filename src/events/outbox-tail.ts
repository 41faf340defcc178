/**
 * The newest outbox rows a consumer runner has read, shared by its consumers: under load every
 * consumer reads the same events right after the others, and without this each one selected and
 * decoded every row itself (the manifest GET load: seven reads of each pull event).
 *
 * The window holds EVERY event with `from < seq <= to`, in order. A read of `seq > a LIMIT n` that
 * returns rows up to `b` proves that (a, b] is complete for good: outbox seqs become visible in
 * the order they are drawn (SQLite has one writer; on PostgreSQL the writer's advisory lock,
 * ./outbox.ts), which is what every consumer's cursor already relies on. Rows never change after
 * their commit. So a range the window covers is served from memory, and only what lies past its
 * end is read, by one SQL statement that then extends the window for the next consumer.
 *
 * Decoded events are cached with their rows and deep-frozen: consumers share them read-only.
 */
import type { Kysely } from 'kysely';
import { outboxStore, type Database, type EventRow } from '../db/index.ts';
import type { WharfEvent } from './catalog.ts';
import { eventFromRow } from './outbox.ts';

/** Rows kept at most; the oldest leave first. */
const defaultMaxRows = 1024;
/** Rows one read past the window's end asks for at least. */
const extendRows = 500;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** See the module comment. */
export class OutboxTail {
  /** Exclusive lower bound of the window; -1: empty. */
  private from = -1;
  /** The last seq the window covers (inclusive). */
  private to = -1;
  private rows: EventRow[] = [];
  private readonly decoded = new WeakMap<EventRow, WharfEvent | null>();
  /** The read past the window's end in progress, and the one queued after it. */
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly maxRows = defaultMaxRows) {}

  /** Up to `limit` outbox rows with `seq > after`, oldest first: what `outboxStore.eventsAfter` returns. */
  async eventsAfter(db: Kysely<Database>, after: number, limit: number): Promise<EventRow[]> {
    if (!this.covers(after)) return this.readNewWindow(db, after, limit);
    const cached = this.slice(after, limit);
    if (cached.length === limit) return cached;
    await this.extend(db, Math.max(limit, extendRows));
    // A read that started a new window meanwhile may have left `after` behind: read it directly.
    return this.covers(after) ? this.slice(after, limit) : outboxStore.eventsAfter(db, after, limit);
  }

  /** Rows the window holds. */
  get size(): number {
    return this.rows.length;
  }

  /** The event of `row`, decoded once and frozen; null when its data is not valid JSON. */
  event(row: EventRow): WharfEvent | null {
    let e = this.decoded.get(row);
    if (e === undefined) {
      try {
        e = deepFreeze(eventFromRow(row));
      } catch {
        e = null;
      }
      this.decoded.set(row, e);
    }
    return e;
  }

  private covers(after: number): boolean {
    return this.to >= 0 && this.from <= after && after <= this.to;
  }

  /**
   * Reads the events past the window's end with a read that STARTS after this call: the one in
   * flight when none is queued yet, or the one queued after it, which every caller arriving
   * meanwhile shares. A caller thus sees every event committed before it asked (as its own read
   * would), and N consumers woken by one commit cost two reads, not N.
   */
  private extend(db: Kysely<Database>, limit: number): Promise<void> {
    if (this.inFlight === null) return this.startExtension(db, limit);
    const next = (): Promise<void> => {
      this.queued = null;
      return this.startExtension(db, limit);
    };
    this.queued ??= this.inFlight.then(next, next);
    return this.queued;
  }

  private startExtension(db: Kysely<Database>, limit: number): Promise<void> {
    const end = this.to;
    const read = (async () => {
      const rows = await outboxStore.eventsAfter(db, end, limit);
      const last = rows[rows.length - 1];
      if (!last || end !== this.to) return; // nothing new, or a new window replaced this one meanwhile
      for (const r of rows) this.rows.push(r);
      this.to = last.seq;
      this.trim();
    })().finally(() => {
      if (this.inFlight === read) this.inFlight = null;
    });
    this.inFlight = read;
    return read;
  }

  /** A read outside the window: it becomes the window when it lies past the current one. */
  private async readNewWindow(db: Kysely<Database>, after: number, limit: number): Promise<EventRow[]> {
    const rows = await outboxStore.eventsAfter(db, after, limit);
    const last = rows[rows.length - 1];
    if (last && after > this.to && this.inFlight === null) {
      this.from = after;
      this.rows = rows.slice();
      this.to = last.seq;
      this.trim();
    }
    return rows;
  }

  /** The window's rows after `after` (which it covers), at most `limit`. */
  private slice(after: number, limit: number): EventRow[] {
    const first = this.firstAfter(after);
    return this.rows.slice(first, first + limit);
  }

  /** The index of the window's first row with `seq > after` (its length when there is none). */
  private firstAfter(after: number): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.rows[mid] as EventRow).seq <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops the window's first `n` rows; its lower bound becomes the last one's seq. */
  private dropFirst(n: number): void {
    if (n <= 0) return;
    this.from = (this.rows[n - 1] as EventRow).seq;
    this.rows = this.rows.slice(n);
  }

  /**
   * Drops the rows up to `seq`: every reader of the window has passed them. Under load the window
   * then holds only the events some consumer has still to read, and an event's row and decoded
   * form die young, instead of living until 1,024 newer events push them out (long enough, at a
   * few thousand pulls a second, for V8 to move every one of them to its old generation).
   */
  release(seq: number): void {
    if (seq > this.from) this.dropFirst(this.firstAfter(seq));
  }

  private trim(): void {
    this.dropFirst(this.rows.length - this.maxRows);
  }
}
