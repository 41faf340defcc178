/**
 * The webhook dispatcher no longer marks events dispatched (issue 10): its cursor in
 * `outbox_cursors` and the unique (event_seq, target_id) index of EVENT executions already make
 * each dispatch happen once, and the mark was an UPDATE of every event row (every manifest GET
 * writes one). `dispatched_at` stays: events marked before this version (before cursors, 0008) are
 * still left alone by the dispatcher. The partial index of unmarked events would now hold every
 * event; the pending gauge counts the events after the dispatcher's cursor instead.
 */
import { sql, type Kysely } from 'kysely';

/** Drops `events_pending`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS events_pending`.execute(db);
}

/** Creates it again (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS events_pending ON events (seq) WHERE dispatched_at IS NULL`.execute(db);
}
