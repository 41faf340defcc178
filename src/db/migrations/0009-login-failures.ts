/**
 * Failed logins in the database (issue 10): the login limiter's counters, shared by every instance
 * on one database, so failures on one instance lock the name or address on all of them. One row
 * per failure and scope (`user`: a lower-cased name, `address`: a client address); rows older than
 * the window are pruned (src/db/login-store.ts).
 */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates `login_failures`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('login_failures')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('login_failures_key').on('login_failures').columns(['scope', 'key', 'time']).execute();
  await db.schema.createIndex('login_failures_time').on('login_failures').columns(['time']).execute();
}

/** Drops it. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('login_failures').execute();
}
