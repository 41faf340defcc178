/**
 * The outbox: events are rows written in the same transaction as the change they describe, so a
 * committed change always has its event and a rolled-back one never does. Consumers
 * (./consumers.ts: the webhook dispatcher, the audit writer) read the rows after their cursors.
 */
import { EventEmitter } from 'node:events';
import { sql, type Kysely, type Transaction } from 'kysely';
import { isPostgres, type Database, type EventRow } from '../db/index.ts';
import { run } from '../db/sql.ts';
import type { NewEvent, WharfEvent } from './catalog.ts';
import { eventId } from './event-id.ts';

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

  /**
   * Records `event` using `trx`, which should be the transaction of the change it describes.
   * Returns the event with its id and time.
   */
  async append(trx: DbOrTrx, event: NewEvent): Promise<WharfEvent> {
    const full = { ...event, id: eventId(), occurAt: event.occurAt ?? Date.now() } as WharfEvent;
    const projectId = 'project' in full && full.project ? full.project.id : null;
    if (isPostgres(trx)) {
      // The lock must be held until the row's transaction commits: outside one, make one.
      if (!trx.isTransaction) return trx.transaction().execute((t) => this.append(t, event));
      // One round trip, as the lock is held from here to COMMIT across the cluster: the lock
      // (taken before the row draws its seq), pg_notify (sent at COMMIT, once per transaction, to
      // every instance: their consumers wake) and the row.
      await sql`INSERT INTO events (id, type, occur_at, operator, project_id, data, dispatched_at)
        SELECT ${full.id}::text, ${full.type}::text, ${full.occurAt}::bigint, ${full.operator}::text, ${projectId}::integer, ${JSON.stringify(full)}::text, NULL
        FROM (SELECT pg_advisory_xact_lock(${outboxLockKey}), pg_notify('wharf_outbox', '')) AS l`.execute(trx);
    } else {
      await trx
        .insertInto('events')
        .values({
          id: full.id,
          type: full.type,
          occur_at: full.occurAt,
          operator: full.operator,
          project_id: projectId,
          data: JSON.stringify(full),
          dispatched_at: null,
        })
        .execute();
    }
    setImmediate(() => this.signal.emit('appended'));
    return full;
  }

  /**
   * Records several events in `trx` (a transaction) with one multi-row INSERT per 100 events and
   * one wake-up: what {@link append} does for each, in order, for batches (group-committed pulls,
   * a push's events). On PostgreSQL each INSERT also takes the outbox lock, as append() does.
   */
  async appendMany(trx: Transaction<Database>, events: readonly NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const pg = isPostgres(trx);
    for (let i = 0; i < events.length; i += 100) {
      const rows = events.slice(i, i + 100).map((event) => {
        const full = { ...event, id: eventId(), occurAt: event.occurAt ?? Date.now() } as WharfEvent;
        return {
          id: full.id,
          type: full.type,
          occur_at: full.occurAt,
          operator: full.operator,
          project_id: 'project' in full && full.project ? full.project.id : null,
          data: JSON.stringify(full),
          dispatched_at: null,
        };
      });
      if (pg) {
        // As append(): the lock (the same, held until COMMIT), pg_notify and the rows in one
        // statement; the lock is taken before any row draws its seq, and rows draw in order `n`.
        const values = rows.map(() => '(?::integer, ?::text, ?::text, ?::bigint, ?::text, ?::integer, ?::text)').join(', ');
        await run(
          trx,
          `INSERT INTO events (id, type, occur_at, operator, project_id, data, dispatched_at)
          SELECT v.id, v.type, v.occur_at, v.operator, v.project_id, v.data, NULL
          FROM (SELECT pg_advisory_xact_lock(?), pg_notify('wharf_outbox', '')) AS l,
            (VALUES ${values}) AS v(n, id, type, occur_at, operator, project_id, data)
          ORDER BY v.n`,
          [outboxLockKey, ...rows.flatMap((r, n) => [n, r.id, r.type, r.occur_at, r.operator, r.project_id, r.data])],
        );
      } else {
        await trx.insertInto('events').values(rows).execute();
      }
    }
    setImmediate(() => this.signal.emit('appended'));
  }
}

/** Decodes an outbox row back into its event. */
export function eventFromRow(row: EventRow): WharfEvent {
  return JSON.parse(row.data) as WharfEvent;
}
