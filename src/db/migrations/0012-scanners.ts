/**
 * Scanner registrations (Harbor's /scanners), each project's pinned scanner, and CVE allowlists
 * (the system's and each project's). See src/db/scanner-store.ts and src/db/cve-allowlist-store.ts.
 *
 * - `scanners`: one row per registration; `name` and `url` are unique as in Harbor; a partial
 *   unique index keeps at most one default (`is_default = 1`) even when two instances on one
 *   PostgreSQL set it at once. The last ping's metadata (adapter, vendor, version, health,
 *   capabilities) is kept on the row for the views.
 * - `project_scanners`: the project's pinned registration (Harbor keeps it as the hidden project
 *   metadata key `projectScanner`); both foreign keys cascade, so deleting a registration makes its
 *   projects fall back to the default, and deleting a project drops its pin.
 * - `cve_allowlists`: `project_id` null is the system list; an expression index on
 *   `coalesce(project_id, 0)` keeps one list per scope. `items` is a JSON array of CVE ids.
 */
import { sql, type Kysely } from 'kysely';
import { autoId, sortedText } from '../dialect.ts';

/** Creates scanners, project_scanners and cve_allowlists. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('scanners')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('uuid', 'text', (c) => c.notNull().unique())
    .addColumn('name', sortedText(db), (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('url', 'text', (c) => c.notNull().unique())
    .addColumn('auth', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('access_credential', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('skip_cert_verify', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('use_internal_addr', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('immutable', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('adapter', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('vendor', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('health', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('capabilities', 'text')
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('scanners_one_default')
    .on('scanners')
    .column('is_default')
    .unique()
    .where(sql.ref('is_default'), '=', 1)
    .execute();
  await db.schema
    .createTable('project_scanners')
    .addColumn('project_id', 'integer', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
    .addColumn('scanner_id', 'integer', (c) => c.notNull().references('scanners.id').onDelete('cascade'))
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('project_scanners_scanner').on('project_scanners').column('scanner_id').execute();
  await db.schema
    .createTable('cve_allowlists')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('project_id', 'integer', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('expires_at', 'bigint')
    .addColumn('items', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('cve_allowlists_scope')
    .on('cve_allowlists')
    .unique()
    .expression(sql`coalesce(project_id, 0)`)
    .execute();
}

/** Drops them. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('cve_allowlists').execute();
  await db.schema.dropTable('project_scanners').execute();
  await db.schema.dropTable('scanners').execute();
}
