/**
 * The built-in scanner's vulnerability database (issue 11): OSV advisories kept in Wharf's own
 * database. `vulndb_advisories` holds one row per OSV id with the compact record a report needs;
 * `vulndb_affected` one row per affected package of an advisory, keyed by the OSV (ecosystem,
 * name) a scan looks up; `vulndb_meta` one row saying when and from where the data came.
 * src/db/vuln-store.ts owns their SQL.
 */
import { sql, type Kysely } from 'kysely';
import { autoId, sortedText } from '../dialect.ts';

/** Creates the three tables and the lookup index. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('vulndb_advisories')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('osv_id', sortedText(db), (c) => c.notNull().unique())
    // ms since the epoch of the record's `modified`: a re-import replaces a row only with a newer record.
    .addColumn('modified', 'bigint', (c) => c.notNull())
    // ms of `withdrawn`, or null; a withdrawn advisory keeps its row (so an older copy cannot come back) and loses its affected rows.
    .addColumn('withdrawn', 'bigint')
    .addColumn('record', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('vulndb_affected')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('advisory_id', 'integer', (c) => c.notNull().references('vulndb_advisories.id').onDelete('cascade'))
    .addColumn('ecosystem', sortedText(db), (c) => c.notNull())
    .addColumn('name', sortedText(db), (c) => c.notNull())
    .addColumn('entry', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('vulndb_affected_package').on('vulndb_affected').columns(['ecosystem', 'name', 'advisory_id']).execute();
  await db.schema.createIndex('vulndb_affected_advisory').on('vulndb_affected').columns(['advisory_id']).execute();
  await db.schema
    .createTable('vulndb_meta')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('updated_at', 'bigint')
    .addColumn('source', 'text')
    .addColumn('advisories', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('affected', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`INSERT INTO vulndb_meta (id, updated_at, source, advisories, affected) VALUES (1, NULL, NULL, 0, 0)`.execute(db);
}

/** Drops them. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('vulndb_affected').execute();
  await db.schema.dropTable('vulndb_advisories').execute();
  await db.schema.dropTable('vulndb_meta').execute();
}
