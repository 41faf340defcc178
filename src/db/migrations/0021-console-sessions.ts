/**
 * Browser sessions of the web console (issue 14, src/auth/sessions.ts): one row per signed-in
 * browser, in the database so that every instance sharing it knows the session. The session id
 * itself is never stored, only its SHA-256 (`id_hash`); `csrf` is the token writes must echo.
 * Times are milliseconds: `last_seen` for the idle timeout, `expires` for the absolute one.
 */
import type { Kysely } from 'kysely';

/** Creates `console_sessions`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('console_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('csrf', 'text', (c) => c.notNull())
    .addColumn('created', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('expires', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('console_sessions_user').on('console_sessions').columns(['user_id']).execute();
  await db.schema.createIndex('console_sessions_last_seen').on('console_sessions').columns(['last_seen']).execute();
  await db.schema.createIndex('console_sessions_expires').on('console_sessions').columns(['expires']).execute();
}

/** Drops it (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('console_sessions').execute();
}
