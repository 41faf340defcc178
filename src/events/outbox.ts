/**
 * The outbox: events are rows written in the same transaction as the change they describe, so a
 * committed change always has its event and a rolled-back one never does. Consumers
 * (./consumers.ts: the webhook dispatcher, the audit writer) read the rows after their cursors.
 */
import { EventEmitter } from 'node:events';
import type { Kysely, Transaction } from 'kysely';
import { isPostgres, outboxStore, type Database, type EventRow, type Notifications, type OutboxInsert, type PriorWritesPg } from '../db/index.ts';
import type { NewEvent, WharfEvent } from './catalog.ts';
import { eventId } from './event-id.ts';
import { traceparent } from '../observability/index.ts';

/** A Kysely handle or an open transaction on it. */
export type DbOrTrx = Kysely<Database> | Transaction<Database>;

/**
 * The advisory lock (PostgreSQL) that orders outbox writers: taken before an event's row is
 * inserted and held until its transaction ends, so sequence numbers become visible in the order
 * they were drawn and a consumer's cursor never passes an event that commits later. SQLite has one
 * writer at a time and needs none.
 */
export const outboxLockKey = 0x77686172;

/** Writes events to the outbox and tells the dispatcher that there is work. */
export class Outbox {
  /** Emits 'appended' after an append (the row may not be committed yet; readers poll too). */
  readonly signal = new EventEmitter();

  /** False once {@link wakeOnCommit} was called: the commit's notification wakes, not the append. */
  private wakeOnAppend = true;

  /**
   * PostgreSQL with LISTEN/NOTIFY: every event INSERT sends `wharf_outbox`, delivered to every
   * instance, this one too, when the transaction COMMITS; from now on that notification emits
   * {@link signal}. The signal right after the INSERT would wake the consumers before the
   * commit, to a read that finds nothing new, and the commit's notification again: so it is no
   * longer sent. Returns what stops listening.
   */
  wakeOnCommit(notifications: Pick<Notifications, 'on'>): () => void {
    this.wakeOnAppend = false;
    return notifications.on('wharf_outbox', () => this.signal.emit('appended'));
  }

  /**
   * Records `event` using `trx`, which should be the transaction of the change it describes.
   * Returns the event with its id and time.
   */
  async append(trx: DbOrTrx, event: NewEvent): Promise<WharfEvent> {
    // PostgreSQL's ordering lock must be held until the row's transaction commits: outside one, make one.
    if (isPostgres(trx) && !trx.isTransaction) return trx.transaction().execute((t) => this.append(t, event));
    const [full] = await this.write(trx, [event]);
    if (!full) throw new Error('outbox: no event written');
    return full;
  }

  /**
   * Records several events in `trx` (a transaction), in order, with one multi-row INSERT per chunk
   * and one wake-up: what {@link append} does for each, for batches (group-committed pulls, a
   * push's events).
   */
  async appendMany(trx: Transaction<Database>, events: readonly NewEvent[]): Promise<void> {
    await this.write(trx, events);
  }

  /**
   * PostgreSQL: runs `before` (another store's writes, as CTEs: db/outbox-store.ts,
   * `insertEventsAfterPg`) and records `events` after them, in ONE statement outside any
   * transaction: what a transaction of those writes and {@link appendMany} does, in one round trip.
   */
  async appendAfterPg(db: Kysely<Database>, before: PriorWritesPg, events: readonly NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    await outboxStore.insertEventsAfterPg(db, before, rowsOf(events).rows, outboxLockKey);
    if (this.wakeOnAppend) setImmediate(() => this.signal.emit('appended'));
  }

  /** Inserts the rows (db/outbox-store.ts: on PostgreSQL with the ordering lock and pg_notify) and signals this process's consumers. */
  private async write(trx: DbOrTrx, events: readonly NewEvent[]): Promise<WharfEvent[]> {
    if (events.length === 0) return [];
    const { full, rows } = rowsOf(events);
    await outboxStore.insertEvents(trx, rows, outboxLockKey);
    if (this.wakeOnAppend) setImmediate(() => this.signal.emit('appended'));
    return full;
  }
}

/** The events with their ids and times, and their outbox rows. */
function rowsOf(events: readonly NewEvent[]): { full: WharfEvent[]; rows: OutboxInsert[] } {
  const full = events.map((event) => ({ ...event, id: eventId(), occurAt: event.occurAt ?? Date.now() }) as WharfEvent);
  // The writer's span (the manifest PUT's, say), so that the dispatch joins its trace; NULL with tracing off.
  const trace_context = traceparent();
  const rows = full.map((e) => ({ id: e.id, type: e.type, occur_at: e.occurAt, operator: e.operator, project_id: 'project' in e && e.project ? e.project.id : null, data: JSON.stringify(e), trace_context }));
  return { full, rows };
}

/** Decodes an outbox row back into its event. */
export function eventFromRow(row: Omit<EventRow, 'trace_context'>): WharfEvent {
  return JSON.parse(row.data) as WharfEvent;
}
