/**
 * The event feed's SQL (src/webhooks/event-feed.ts, docs/event-feed.md): windows of the outbox
 * (`events`, read only) that a caller may see, and the named consumers' positions
 * (`event_feed_cursors`, migration 0026).
 *
 * Reading in windows: a read names a seq range (`after`, `upTo`] and a row limit, so that a caller
 * who sees few of the events never makes the database walk the whole table for one answer; the
 * range's end is at most the outbox's committed maximum, read first. Seqs commit in the order
 * they are drawn (SQLite has one writer; on PostgreSQL the outbox writer's advisory lock,
 * src/events/outbox.ts), so once `max(seq)` is visible no smaller seq can commit later: a
 * position moved up to it never passes an event.
 */
import type { Selectable } from 'kysely';
import type { EventFeedCursorsTable, EventRow } from './schema.ts';
import { dialectOf, intListSql, type Dialect } from './dialect.ts';
import { query, run, type Executor } from './sql.ts';

/** Which events a read covers. */
export interface FeedWindow {
  /** Exclusive lower bound (the reader's position). */
  after: number;
  /** Inclusive upper bound (at most the committed maximum). */
  upTo: number;
  /** Rows at most. */
  limit: number;
  /** The projects whose events are included; null: every event, with or without a project. */
  projectIds: readonly number[] | null;
  /** Event types left out whatever the project (operational events for non-admins). */
  excludeTypes: readonly string[];
  /** Only these types; null: every type. */
  types: readonly string[] | null;
}

/** A named consumer's stored state. */
export type FeedConsumerRow = Selectable<EventFeedCursorsTable>;

/** A list of strings passed as one JSON parameter, for `x IN (…)`. */
const textListForms: Readonly<Record<Dialect, string>> = {
  sqlite: 'SELECT value FROM json_each(?)',
  postgres: 'SELECT value FROM json_array_elements_text(?::json)',
};

/** A consumer row with its numeric columns as numbers, whatever form the driver gave them in. */
function consumerRow(r: FeedConsumerRow): FeedConsumerRow {
  return { ...r, seq: Number(r.seq), creation_time: Number(r.creation_time), update_time: Number(r.update_time) };
}

export const eventFeedStore = {
  /** The largest committed outbox seq (0 when the outbox is empty). */
  async maxSeq(db: Executor): Promise<number> {
    const [r] = await query<{ seq: number | null }>(db, `SELECT max(seq) AS seq FROM events`, []);
    return Number(r?.seq ?? 0);
  },

  /** The events of `w`, oldest first. */
  eventsIn(db: Executor, w: FeedWindow): Promise<EventRow[]> {
    const where = ['seq > ?', 'seq <= ?'];
    const params: unknown[] = [w.after, w.upTo];
    if (w.projectIds !== null) {
      where.push(`project_id IN (${intListSql(db)})`);
      params.push(JSON.stringify(w.projectIds));
    }
    if (w.excludeTypes.length > 0) {
      where.push(`type NOT IN (${textListForms[dialectOf(db)]})`);
      params.push(JSON.stringify(w.excludeTypes));
    }
    if (w.types !== null) {
      where.push(`type IN (${textListForms[dialectOf(db)]})`);
      params.push(JSON.stringify(w.types));
    }
    params.push(w.limit);
    return query<EventRow>(db, `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`, params);
  },

  /** The projects with these names: id, name and public flag. */
  async projectsNamed(db: Executor, names: readonly string[]): Promise<Array<{ id: number; name: string; public: number }>> {
    if (names.length === 0) return [];
    return query(db, `SELECT id, name, public FROM projects WHERE name IN (${textListForms[dialectOf(db)]}) ORDER BY id`, [JSON.stringify(names)]);
  },

  /** Every project: id, name and public flag (a robot with grants in every namespace). */
  allProjects(db: Executor): Promise<Array<{ id: number; name: string; public: number }>> {
    return query(db, `SELECT id, name, public FROM projects ORDER BY id`, []);
  },

  /** Consumer `name` of `owner`, or undefined. */
  async consumer(db: Executor, owner: string, name: string): Promise<FeedConsumerRow | undefined> {
    const [r] = await query<FeedConsumerRow>(db, `SELECT * FROM event_feed_cursors WHERE owner = ? AND name = ?`, [owner, name]);
    return r === undefined ? undefined : consumerRow(r);
  },

  /** How many consumers `owner` has. */
  async consumerCount(db: Executor, owner: string): Promise<number> {
    const [r] = await query<{ n: number }>(db, `SELECT count(*) AS n FROM event_feed_cursors WHERE owner = ?`, [owner]);
    return Number(r?.n ?? 0);
  },

  /** Creates consumer `name` of `owner` at `seq` unless it exists (a concurrent first request keeps the first row). */
  async createConsumer(db: Executor, owner: string, name: string, seq: number, filters: string, now: number): Promise<void> {
    await run(db, `INSERT INTO event_feed_cursors (owner, name, seq, filters, creation_time, update_time) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (owner, name) DO NOTHING`, [owner, name, seq, filters, now, now]);
  },

  /** Every consumer of `owner`, by name. */
  async consumersOf(db: Executor, owner: string): Promise<FeedConsumerRow[]> {
    return (await query<FeedConsumerRow>(db, `SELECT * FROM event_feed_cursors WHERE owner = ? ORDER BY name`, [owner])).map(consumerRow);
  },

  /** Deletes consumer `name` of `owner`; false when it did not exist. */
  async deleteConsumer(db: Executor, owner: string, name: string): Promise<boolean> {
    return (await run(db, `DELETE FROM event_feed_cursors WHERE owner = ? AND name = ?`, [owner, name])) > 0;
  },

  /** Stores consumer `name`'s position (its acknowledgement) and filters. */
  async storeConsumer(db: Executor, owner: string, name: string, seq: number, filters: string, now: number): Promise<void> {
    await run(db, `UPDATE event_feed_cursors SET seq = ?, filters = ?, update_time = ? WHERE owner = ? AND name = ?`, [seq, filters, now, owner, name]);
  },
};
