/**
 * The outbox's SQL (the `events` table and the consumers' `outbox_cursors` and `outbox_parked`),
 * for the consumer runner (src/events/consumers.ts) and the webhook dispatcher's claim. The outbox
 * writer itself (src/events/outbox.ts) inserts with Kysely inside the caller's transaction.
 */
import type { EventRow } from './schema.ts';
import { chunks, query, run, valuesList, type Executor } from './sql.ts';
import { intListSql, isPostgres } from './dialect.ts';

/** A parked event of a consumer: its row and why it failed. */
export interface ParkedEvent {
  row: EventRow;
  error: string;
}

/**
 * Writes of another store that run in the same statement as an outbox INSERT, before it
 * (PostgreSQL, {@link outboxStore.insertEventsAfterPg}): `ctes` are `name AS (…)` entries of a
 * WITH list, in order, with their `params`; `last` names the one the outbox lock waits for.
 */
export interface PriorWritesPg {
  ctes: string;
  params: unknown[];
  last: string;
}

/** An outbox row to insert: every column of `events` but its seq (drawn on insert) and `dispatched_at` (left NULL); `trace_context` is NULL with tracing off. */
export type OutboxInsert = Pick<EventRow, 'id' | 'type' | 'occur_at' | 'operator' | 'project_id' | 'data' | 'trace_context'>;

/** PostgreSQL: the outbox's ordering lock (its key the one parameter) and the wake-up of every instance at COMMIT. */
const pgLock = `SELECT pg_advisory_xact_lock(?), pg_notify('wharf_outbox', '')`;

/**
 * PostgreSQL: the INSERT of `count` rows ({@link pgRowParams}) from a VALUES list, joined with
 * `lock` (the FROM item of {@link pgLock}'s row), so the lock is taken before any row draws its
 * seq; rows draw in the order `n`.
 */
function pgInsert(db: Executor, count: number, lock: string): string {
  return `INSERT INTO events (id, type, occur_at, operator, project_id, data, trace_context)
SELECT v.id, v.type, v.occur_at, v.operator, v.project_id, v.data, v.trace_context
FROM ${lock},
  (VALUES ${valuesList(db, count, ['integer', 'text', 'text', 'bigint', 'text', 'integer', 'text', 'text'])}) AS v(n, id, type, occur_at, operator, project_id, data, trace_context)
ORDER BY v.n`;
}

/** The parameters of {@link pgInsert}'s VALUES list. */
function pgRowParams(rows: readonly OutboxInsert[]): unknown[] {
  const params: unknown[] = [];
  rows.forEach((r, n) => params.push(n, r.id, r.type, r.occur_at, r.operator, r.project_id, r.data, r.trace_context));
  return params;
}

export const outboxStore = {
  /**
   * Inserts outbox rows in order, in `db` (the transaction of the change they describe). On
   * PostgreSQL the same statement first takes the advisory lock `lockKey` (held until the
   * transaction ends: seqs commit in the order they are drawn) and sends pg_notify('wharf_outbox'),
   * delivered to every instance at COMMIT: one round trip while the cluster-wide lock is held.
   * `db` must be a transaction there (a lock outside one would end with the statement).
   */
  async insertEvents(db: Executor, rows: readonly OutboxInsert[], lockKey: number): Promise<void> {
    const pg = isPostgres(db);
    for (const part of chunks(rows)) {
      const params: unknown[] = [];
      if (pg) {
        await run(db, pgInsert(db, part.length, `(${pgLock}) AS l`), [lockKey, ...pgRowParams(part)]);
      } else {
        for (const r of part) params.push(r.id, r.type, r.occur_at, r.operator, r.project_id, r.data, r.trace_context);
        await run(db, `INSERT INTO events (id, type, occur_at, operator, project_id, data, trace_context) VALUES ${valuesList(db, part.length, ['text', 'text', 'bigint', 'text', 'integer', 'text', 'text'])}`, params);
      }
    }
  },

  /**
   * PostgreSQL: `before` (another store's writes, e.g. a batch of pulls' pull times) and then
   * these outbox rows, in ONE statement: one round trip and no BEGIN or COMMIT, and atomic as
   * every statement is (its own transaction). The ordering lock and pg_notify come after `before`
   * has run (they wait for `before.last`), as in a transaction that writes first and appends last.
   */
  async insertEventsAfterPg(db: Executor, before: PriorWritesPg, rows: readonly OutboxInsert[], lockKey: number): Promise<void> {
    await run(
      db,
      `WITH ${before.ctes},
l AS (${pgLock} WHERE (SELECT count(*) FROM ${before.last}) >= 0)
${pgInsert(db, rows.length, 'l')}`,
      [...before.params, lockKey, ...pgRowParams(rows)],
    );
  },

  /** Up to `limit` outbox rows with `seq > afterSeq`, oldest first. */
  eventsAfter(db: Executor, afterSeq: number, limit: number): Promise<EventRow[]> {
    return query<EventRow>(db, `SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, [afterSeq, limit]);
  },

  /** The outbox row with this event id (the UUID every format carries), or undefined. */
  async eventById(db: Executor, id: string): Promise<EventRow | undefined> {
    const rows = await query<EventRow>(db, `SELECT * FROM events WHERE id = ?`, [id]);
    return rows[0];
  },

  /** The outbox rows with these sequence numbers. */
  async eventsBySeq(db: Executor, seqs: readonly number[]): Promise<EventRow[]> {
    if (seqs.length === 0) return [];
    return query<EventRow>(db, `SELECT * FROM events WHERE seq IN (${intListSql(db)}) ORDER BY seq`, [JSON.stringify(seqs)]);
  },

  /**
   * The position of consumer `name`, creating it when missing: at 0 (every event), or with
   * `fromLatest` after the newest event (a consumer added to a running system starts there).
   */
  async ensureCursor(db: Executor, name: string, fromLatest: boolean): Promise<number> {
    await run(db, `INSERT INTO outbox_cursors (name, seq) SELECT ?, CASE WHEN ? THEN coalesce((SELECT max(seq) FROM events), 0) ELSE 0 END ON CONFLICT (name) DO NOTHING`, [name, fromLatest ? 1 : 0]);
    return this.cursor(db, name);
  },

  /** The position of consumer `name` (0 when it has none). */
  async cursor(db: Executor, name: string): Promise<number> {
    const [r] = await query<{ seq: number }>(db, `SELECT seq FROM outbox_cursors WHERE name = ?`, [name]);
    return Number(r?.seq ?? 0);
  },

  /**
   * Moves consumer `name` from `from` to `to` if it is still at `from` (compare and set); false
   * when another runner moved it first. Inside the consumer's transaction, this is what makes a
   * batch handled once: the transaction that loses the race changes nothing and rolls back.
   */
  async advanceCursor(db: Executor, name: string, from: number, to: number): Promise<boolean> {
    return (await run(db, `UPDATE outbox_cursors SET seq = ? WHERE name = ? AND seq = ?`, [to, name, from])) === 1;
  },

  /** Parks event `seq` for consumer `name` (it failed alone); a second park of the same event keeps the first. */
  async park(db: Executor, name: string, seq: number, error: string, now: number): Promise<void> {
    await run(db, `INSERT INTO outbox_parked (consumer, seq, error, parked_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, [name, seq, error, now]);
  },

  /** Removes a parked event once handled; false when it was no longer parked (another runner handled it). */
  async unpark(db: Executor, name: string, seq: number): Promise<boolean> {
    return (await run(db, `DELETE FROM outbox_parked WHERE consumer = ? AND seq = ?`, [name, seq])) === 1;
  },

  /** The parked events of consumer `name`, oldest first. */
  async parked(db: Executor, name: string): Promise<ParkedEvent[]> {
    const rows = await query<EventRow & { park_error: string }>(
      db,
      `SELECT e.*, p.error AS park_error FROM outbox_parked AS p JOIN events AS e ON e.seq = p.seq WHERE p.consumer = ? ORDER BY p.seq`,
      [name],
    );
    return rows.map(({ park_error, ...row }) => ({ row, error: park_error }));
  },

  /**
   * How many events consumer `name` has still to handle: those after its cursor (or after
   * `position`, where its runner is when that is further: past events it had nothing to do with,
   * its stored cursor following later) plus its parked ones (a range count on the primary key;
   * the webhook dispatcher's pending gauge).
   */
  async pendingCount(db: Executor, name: string, position = 0): Promise<number> {
    const [r] = await query<{ n: number }>(
      db,
      `SELECT (SELECT count(*) FROM events WHERE seq > coalesce((SELECT seq FROM outbox_cursors WHERE name = ?), 0) AND seq > ?) + (SELECT count(*) FROM outbox_parked WHERE consumer = ?) AS n`,
      [name, position, name],
    );
    return Number(r?.n ?? 0);
  },
};
