/**
 * Outbox consumers (src/events/consumers.ts): every consumer keeps its position in
 * `outbox_cursors` (the audit writer's `audit_cursor`, renamed; its row 'audit' carries over), and
 * an event a consumer could not handle is parked in `outbox_parked` and retried alone.
 *
 * The webhook dispatcher becomes a cursor consumer ('webhooks'); its cursor starts just before the
 * oldest event it had not dispatched (`dispatched_at` NULL), or after the last event when it had
 * dispatched them all, so an upgrade neither skips nor repeats a dispatch (events after that
 * cursor that were dispatched already are claimed by nobody: the dispatcher's claim leaves them).
 */
import { sql, type Kysely } from 'kysely';

/** Renames audit_cursor, creates outbox_parked, places the 'webhooks' cursor. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_cursor').renameTo('outbox_cursors').execute();
  await db.schema
    .createTable('outbox_parked')
    .addColumn('consumer', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('error', 'text', (c) => c.notNull())
    .addColumn('parked_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('outbox_parked_pk', ['consumer', 'seq'])
    .execute();
  await sql`INSERT INTO outbox_cursors (name, seq)
SELECT 'webhooks', coalesce((SELECT min(seq) - 1 FROM events WHERE dispatched_at IS NULL), (SELECT max(seq) FROM events), 0)`.execute(db);
}

/** Undoes it (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('outbox_parked').ifExists().execute();
  await sql`DELETE FROM outbox_cursors WHERE name = 'webhooks'`.execute(db);
  await db.schema.alterTable('outbox_cursors').renameTo('audit_cursor').execute();
}
