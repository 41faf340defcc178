/**
 * The event feed's named consumers (issue 16, docs/event-feed.md): a client that pulls events over
 * `GET /api/v2.0/events` or the server-sent stream may name itself (`consumer=ci-bot`); its
 * position is kept here, per owner (the calling user or robot: `u:<user id>` or `r:<robot id>`),
 * so that a consumer resumes where it acknowledged after its own restart or the server's.
 *
 * - `seq`: the acknowledged position, an outbox seq (`events.seq`); the next read returns the
 *   events after it.
 * - `filters`: the consumer's stored filters as JSON (event types, repository and tag globs, a
 *   project id), used when a request names none.
 * Rows are never written by the outbox: the feed reads `events`, which it does not change.
 */
import type { Kysely } from 'kysely';

/** Creates event_feed_cursors. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('event_feed_cursors')
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('filters', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_feed_cursors_pk', ['owner', 'name'])
    .execute();
}

/** Drops it (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('event_feed_cursors').execute();
}
