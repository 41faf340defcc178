/**
 * P2P preheat (src/db/preheat-store.ts): Harbor's provider instances (/p2p/preheat/instances)
 * and the per-project preheat policies (/projects/{p}/preheat/policies). An instance's
 * `auth_info` is a JSON object of strings, kept as given and never shown back; a policy's
 * `filters`, `trigger` and `extra_attrs` are the JSON texts Harbor stores. Booleans are 0/1 and
 * times ms. A policy name is unique in its project; an instance name is unique.
 */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates preheat_instances and preheat_policies. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('preheat_instances')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('vendor', 'text', (c) => c.notNull())
    .addColumn('endpoint', 'text', (c) => c.notNull())
    .addColumn('auth_mode', 'text', (c) => c.notNull())
    .addColumn('auth_info', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addColumn('insecure', 'integer', (c) => c.notNull())
    .addColumn('setup_timestamp', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('preheat_policies')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('provider_id', 'integer', (c) => c.notNull())
    .addColumn('filters', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('trigger_type', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('extra_attrs', 'text', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('preheat_policies_project_name', ['project_id', 'name'])
    .execute();
  await db.schema.createIndex('preheat_policies_provider').on('preheat_policies').columns(['provider_id']).execute();
}

/** Drops them (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('preheat_policies').ifExists().execute();
  await db.schema.dropTable('preheat_instances').ifExists().execute();
}
