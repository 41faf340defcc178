/**
 * A repository's description (Harbor's Repository.description, set by PUT
 * /projects/{p}/repositories/{r}): a text column, empty for every repository until set.
 * ADD COLUMN with a constant default runs on SQLite and PostgreSQL alike without rewriting rows.
 */
import type { Kysely } from 'kysely';

/** Adds repositories.description. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('repositories').addColumn('description', 'text', (c) => c.notNull().defaultTo('')).execute();
}

/** Drops it (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('repositories').dropColumn('description').execute();
}
