/**
 * Outbox consumers: everything that reacts to events (the webhook dispatcher, the audit writer,
 * later scan-on-push and event-based replication) is a consumer registered with a runner:
 *
 *     consumers.register({ name: 'scan-on-push', types: ['PUSH_ARTIFACT'], async handle(batch, trx) { … } });
 *
 * Each consumer has a durable cursor (`outbox_cursors`, keyed by its name: the last seq it
 * handled) and its own wake-up loop (../events/outbox-loop.ts: outbox appends, coalesced, and a
 * poll, since an append's signal may come before its commit, or from another process). A round
 * reads the events after the cursor, oldest first, in batches of `batchSize` (one plain SELECT
 * outside any transaction, so an idle poll costs one small read), and for each batch runs ONE
 * transaction that
 *   1. moves the cursor from where the round read it to the batch's last seq, only if it is still
 *      there (compare and set): a runner that lost the race (another process, a second runner)
 *      changes nothing, rolls back and reads the cursor again;
 *   2. calls `handle(batch, trx)` with the batch's events of the consumer's `types` (none: no
 *      call), which writes its effects with `trx`.
 * The cursor and the effects commit together: a crash (kill -9) before the commit leaves neither,
 * and the batch is read again; after it, both. So no event is skipped and none is applied twice.
 * SQLite commits one write transaction at a time, so outbox seqs become visible in order and a
 * cursor never passes an event that commits later; on PostgreSQL the outbox writer's advisory lock
 * (./outbox.ts) gives the same order. Several processes may run the same consumer: the cursor's
 * UPDATE is the transaction's first statement, so a second runner waits on that row until the
 * first commits, then finds the cursor moved and reads again (no batch is handled twice).
 *
 * A batch whose transaction fails is retried one event per transaction. An event whose own
 * transaction fails is PARKED (`outbox_parked`, in the transaction that moves the cursor past it)
 * and logged, so one broken event holds nothing else back; parked events are retried alone at the
 * start of each round (the list is read again at most every `parkedReloadMs`) until their
 * transaction, which also deletes the parked row, commits. A parked event is thus handled after
 * later ones: consumers must not rely on order across a failure.
 *
 * `handle` may return a function, called after the commit (wake-ups, counters).
 *
 * Two savings under load, neither weakening the above:
 *   - the consumers of a runner share one read of the outbox's tail and one decoding of each
 *     event (./outbox-tail.ts); the events handed to `handle` are frozen and shared, and the
 *     tail lets go of an event once every consumer has passed it;
 *   - a batch with nothing a consumer wants (none of its types, or its `wants` says no) moves its
 *     cursor in memory only; the stored cursor follows with the next batch it handles, or within
 *     `deferMs` (default 1 s), or at stop. A crash before that reads those events again, and
 *     they are judged again.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { outboxStore, type Database, type EventRow } from '../db/index.ts';
import type { WharfEvent } from './catalog.ts';
import type { Outbox } from './outbox.ts';
import { OutboxLoop } from './outbox-loop.ts';
import { OutboxTail } from './outbox-tail.ts';

/** One event of a batch: its row and the decoded event (null when its data is not valid JSON). */
export interface OutboxRecord {
  seq: number;
  row: EventRow;
  event: WharfEvent | null;
}

/** A consumer of the outbox. */
export interface Consumer {
  /** Unique and durable: the key of its cursor. A new name starts from the first event (or the latest: `fromLatest`). */
  name: string;
  /** The event types it handles ('all': every event); the cursor moves over the others without a call. */
  types: readonly WharfEvent['type'][] | 'all';
  /** Applies a batch inside `trx`, the transaction that moves the cursor past it; may return an after-commit callback. */
  handle(batch: readonly OutboxRecord[], trx: Transaction<Database>): Promise<void | (() => void)>;
  /**
   * Asked, outside any transaction, before a batch's transaction: false when, as things stand,
   * `handle` would do nothing with any of these records (the dispatcher: no enabled policy
   * subscribes to their types). The cursor then moves past them as past events of other types
   * (in memory, stored later), and the transaction is not run. Absent: every batch is handled.
   */
  wants?(batch: readonly OutboxRecord[]): Promise<boolean>;
  /** Events read per batch, i.e. per transaction (default 100). */
  batchSize?: number;
  /** Poll interval, ms (default: the runner's). */
  pollMs?: number;
  /** Minimum time between two rounds' starts, ms (default: OutboxLoop's). */
  coalesceMs?: number;
  /** A cursor created for this consumer starts after the newest event instead of before the first. */
  fromLatest?: boolean;
  /**
   * Also takes the events a relay recorded from another registry (`event.relay`,
   * src/webhooks/relay/). Without it they pass by like other types: they describe no change in
   * Wharf, so scan-on-push, replication, preheat and the audit log must not act on them.
   */
  relayed?: boolean;
  /** Called after every round (gauges), with the seq the runner has got to (the stored cursor, or past it). */
  afterRound?: (position: number) => void | Promise<void>;
}

/** What the runner needs. */
export interface ConsumerRunnerDeps {
  db: Kysely<Database>;
  /** Its appends wake the consumers. */
  outbox: Outbox;
  logger: Logger;
  /** Default poll interval, ms (default 200). */
  pollMs?: number;
  /** How often the parked list is read again, ms (default 1000). */
  parkedReloadMs?: number;
  /** How long a cursor moved only in memory (past events a consumer does not want) may lag in the database, ms (default 1000). */
  deferMs?: number;
}

/** Thrown inside a consumer's transaction when its cursor (or parked row) was taken by another runner. */
class CursorMoved extends Error {}

interface State {
  consumer: Consumer;
  /** The wanted event types; null: all. */
  types: ReadonlySet<string> | null;
  loop: OutboxLoop;
  /** Where this runner is: the stored cursor, or past it over events the consumer does not want; null: not read yet. */
  cursor: number | null;
  /** The cursor as stored (what the compare and set starts from); null: not read yet. */
  stored: number | null;
  /** When `cursor` first moved past `stored` (performance.now()); null: they are equal. */
  deferredAt: number | null;
  parked: Map<number, EventRow>;
  parkedReadAt: number;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs registered consumers, each with its own cursor and loop; see the module comment. */
export class ConsumerRunner {
  private readonly states = new Map<string, State>();
  private readonly tail = new OutboxTail();
  private started = false;

  constructor(private readonly deps: ConsumerRunnerDeps) {}

  /** Adds a consumer (started with the others, or at once if the runner already runs). */
  register(consumer: Consumer): void {
    if (this.states.has(consumer.name)) throw new Error(`outbox consumer "${consumer.name}" is registered twice`);
    const state: State = {
      consumer,
      types: consumer.types === 'all' ? null : new Set<string>(consumer.types),
      cursor: null,
      stored: null,
      deferredAt: null,
      parked: new Map(),
      parkedReadAt: Number.NEGATIVE_INFINITY,
      loop: new OutboxLoop({
        outbox: this.deps.outbox,
        pollMs: consumer.pollMs ?? this.deps.pollMs ?? 200,
        coalesceMs: consumer.coalesceMs,
        logger: this.deps.logger,
        failureMessage: `outbox consumer ${consumer.name}: round failed; retrying at the next wake-up`,
        round: async () => {
          await this.round(state, () => state.loop.stopped);
        },
      }),
    };
    this.states.set(consumer.name, state);
    if (this.started) state.loop.start();
  }

  /** The registered consumers' names. */
  get names(): string[] {
    return [...this.states.keys()];
  }

  /** Starts every consumer's loop. */
  start(): void {
    this.started = true;
    for (const s of this.states.values()) s.loop.start();
  }

  /** Stops the loops, waits for the rounds in progress and stores the cursors moved in memory only. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.states.values()].map((s) => s.loop.stop()));
    for (const s of this.states.values()) {
      try {
        await this.storeDeferred(s);
      } catch (err) {
        this.deps.logger.warn({ err, consumer: s.consumer.name }, 'outbox consumer: could not store its cursor at stop; its events are read again at start');
      }
    }
  }

  /**
   * Runs one full round of consumer `name` now (parked events, then batches until caught up) and
   * returns how many events of its types this call handled (tests, one-shot runs).
   */
  async drain(name: string): Promise<number> {
    const state = this.states.get(name);
    if (!state) throw new Error(`no outbox consumer "${name}"`);
    const handled = await this.round(state, () => false);
    await this.storeDeferred(state);
    return handled;
  }

  private async round(state: State, stopping: () => boolean): Promise<number> {
    const { db } = this.deps;
    const c = state.consumer;
    const batchSize = c.batchSize ?? 100;
    if (state.cursor === null || state.stored === null) {
      state.stored = await outboxStore.ensureCursor(db, c.name, c.fromLatest ?? false);
      state.cursor = state.stored;
    }
    let handled = await this.retryParked(state);
    while (!stopping()) {
      const rows = await this.tail.eventsAfter(db, state.cursor, batchSize);
      if (rows.length === 0) break;
      const r = await this.applyRows(state, rows, stopping);
      this.releaseTail();
      handled += r.handled;
      if (!r.complete) continue; // the cursor moved under us or a batch was cut short: read again from it
      if (rows.length < batchSize) break;
    }
    if (state.deferredAt !== null && performance.now() - state.deferredAt >= (this.deps.deferMs ?? 1000)) await this.storeDeferred(state);
    await c.afterRound?.(state.cursor ?? 0);
    return handled;
  }

  /** Lets the shared tail drop the events every consumer has passed (see OutboxTail.release). */
  private releaseTail(): void {
    let low = Number.POSITIVE_INFINITY;
    for (const s of this.states.values()) {
      if (s.cursor === null) return;
      if (s.cursor < low) low = s.cursor;
    }
    if (low !== Number.POSITIVE_INFINITY) this.tail.release(low);
  }

  /** Stores a cursor moved in memory only (one small transaction); no-op when there is none. */
  private async storeDeferred(state: State): Promise<void> {
    const { stored, cursor } = state;
    if (state.deferredAt === null || stored === null || cursor === null) return;
    const moved = await outboxStore.advanceCursor(this.deps.db, state.consumer.name, stored, cursor);
    state.deferredAt = null;
    if (moved) state.stored = cursor;
    else await this.reread(state);
  }

  /** The records of `rows` the consumer wants: of its types, and relayed ones only if it takes them. */
  private wanted(state: State, rows: readonly EventRow[]): OutboxRecord[] {
    const types = state.types;
    const records = (types === null ? rows : rows.filter((r) => types.has(r.type))).map((row) => ({ seq: row.seq, row, event: this.tail.event(row) }));
    return state.consumer.relayed === true ? records : records.filter((r) => r.event?.relay === undefined);
  }

  /**
   * ONE transaction: moves the stored cursor to `to` (CursorMoved when it is not where this
   * runner stored it) and hands the wanted records of `rows` to the consumer. Returns how many it
   * handed. With none wanted, the cursor moves in memory only (see the module comment).
   */
  private async commit(state: State, to: number, rows: readonly EventRow[]): Promise<number> {
    const c = state.consumer;
    const from = state.stored;
    if (from === null) throw new CursorMoved();
    const batch = this.wanted(state, rows);
    if (batch.length === 0 || (c.wants && !(await c.wants(batch)))) {
      state.cursor = to;
      state.deferredAt ??= performance.now();
      return 0;
    }
    let after: (() => void) | undefined;
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await outboxStore.advanceCursor(trx, c.name, from, to))) throw new CursorMoved();
      const done = await c.handle(batch, trx);
      if (typeof done === 'function') after = done;
    });
    state.cursor = to;
    state.stored = to;
    state.deferredAt = null;
    if (after) after();
    return batch.length;
  }

  /** The cursor moved elsewhere (another runner): read it again. */
  private async reread(state: State): Promise<void> {
    state.stored = await outboxStore.cursor(this.deps.db, state.consumer.name);
    state.cursor = state.stored;
    state.deferredAt = null;
  }

  /**
   * Applies `rows` (the events right after the cursor) in one transaction, or one transaction per
   * event when that fails, parking an event whose own transaction fails. `complete` is false when
   * the cursor moved elsewhere or the rows were not all done (the caller reads again).
   */
  private async applyRows(state: State, rows: readonly EventRow[], stopping: () => boolean): Promise<{ handled: number; complete: boolean }> {
    const c = state.consumer;
    const last = rows[rows.length - 1];
    if (!last || state.cursor === null) return { handled: 0, complete: true };
    try {
      return { handled: await this.commit(state, last.seq, rows), complete: true };
    } catch (err) {
      if (err instanceof CursorMoved) {
        await this.reread(state);
        return { handled: 0, complete: false };
      }
      if (rows.length === 1) return this.parkOrKeep(state, rows[0], err);
      this.deps.logger.warn({ err, consumer: c.name, first_seq: rows[0]?.seq, events: rows.length }, 'outbox consumer: a batch failed; handling its events one by one');
    }
    let handled = 0;
    for (const row of rows) {
      if (stopping() || state.cursor === null) return { handled, complete: false };
      try {
        handled += await this.commit(state, row.seq, [row]);
      } catch (err) {
        if (err instanceof CursorMoved) {
          await this.reread(state);
          return { handled, complete: false };
        }
        const r = await this.parkOrKeep(state, row, err);
        if (!r.complete) return { handled, complete: false };
      }
    }
    return { handled, complete: true };
  }

  /** Parks `row` (its own transaction failed with `err`) and moves the cursor past it, in one transaction; throws when that fails too. */
  private async parkOrKeep(state: State, row: EventRow | undefined, err: unknown): Promise<{ handled: number; complete: boolean }> {
    const c = state.consumer;
    const from = state.stored;
    if (!row || from === null) return { handled: 0, complete: false };
    this.deps.logger.error({ err, consumer: c.name, event_seq: row.seq, event_id: row.id }, 'outbox consumer: an event failed; parked, retried alone in later rounds');
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        if (!(await outboxStore.advanceCursor(trx, c.name, from, row.seq))) throw new CursorMoved();
        await outboxStore.park(trx, c.name, row.seq, message(err), Date.now());
      });
      state.cursor = row.seq;
      state.stored = row.seq;
      state.deferredAt = null;
      state.parked.set(row.seq, row);
      return { handled: 0, complete: true };
    } catch (e) {
      if (!(e instanceof CursorMoved)) throw e; // not parked: the round ends; the event is read again from the cursor
      await this.reread(state);
      return { handled: 0, complete: false };
    }
  }

  /** Retries each parked event alone; one whose transaction commits leaves the parked list. */
  private async retryParked(state: State): Promise<number> {
    const { db, logger } = this.deps;
    const c = state.consumer;
    if (performance.now() - state.parkedReadAt >= (this.deps.parkedReloadMs ?? 1000)) {
      state.parkedReadAt = performance.now();
      state.parked = new Map((await outboxStore.parked(db, c.name)).map((p) => [p.row.seq, p.row]));
    }
    let handled = 0;
    for (const [seq, row] of [...state.parked]) {
      const batch = this.wanted(state, [row]);
      let after: (() => void) | undefined;
      try {
        await db.transaction().execute(async (trx) => {
          if (!(await outboxStore.unpark(trx, c.name, seq))) throw new CursorMoved();
          if (batch.length === 0) return;
          const done = await c.handle(batch, trx);
          if (typeof done === 'function') after = done;
        });
        state.parked.delete(seq);
        handled += batch.length;
        if (after) after();
        logger.info({ consumer: c.name, event_seq: seq }, 'outbox consumer: a parked event went through');
      } catch (err) {
        if (err instanceof CursorMoved) state.parked.delete(seq); // another runner handled it
        else logger.warn({ err, consumer: c.name, event_seq: seq }, 'outbox consumer: a parked event failed again');
      }
    }
    return handled;
  }
}
