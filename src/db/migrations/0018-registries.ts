/**
 * Registry endpoints (src/db/registry-endpoint-store.ts): the remote registries replication and
 * proxy cache talk to, as Harbor's /registries stores them. The secret is kept as given (Wharf
 * never shows it back); booleans are 0/1 and times ms, plain types that run on SQLite and
 * PostgreSQL alike.
 */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates registries. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('registries')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('credential_type', 'text', (c) => c.notNull())
    .addColumn('access_key', 'text', (c) => c.notNull())
    .addColumn('access_secret', 'text', (c) => c.notNull())
    .addColumn('insecure', 'integer', (c) => c.notNull())
    .addColumn('ca_certificate', 'text')
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
}

/** Drops it (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('registries').ifExists().execute();
}
