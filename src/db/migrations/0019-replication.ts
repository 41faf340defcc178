/**
 * Replication policies (src/db/replication-store.ts): Harbor's /replication/policies rows. The
 * validated policy is stored as its JSON body (src/replication/policy.ts policyText); the columns
 * beside it are what lists, sorts and reference checks read: the name (unique), both registry ids
 * (0 is the local registry), the trigger type and `enabled` (0/1). `replication_summaries` marks
 * an execution whose one summary REPLICATION event was sent. Times in ms.
 */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates replication_policies and replication_summaries. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('replication_policies')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('src_registry_id', 'integer', (c) => c.notNull())
    .addColumn('dest_registry_id', 'integer', (c) => c.notNull())
    .addColumn('trigger_type', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('creator', 'text', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('replication_policies_src').on('replication_policies').columns(['src_registry_id']).execute();
  await db.schema.createIndex('replication_policies_dest').on('replication_policies').columns(['dest_registry_id']).execute();
  await db.schema
    .createTable('replication_summaries')
    .addColumn('execution_id', 'integer', (c) => c.primaryKey())
    .addColumn('sent_time', 'bigint', (c) => c.notNull())
    .execute();
}

/** Drops them (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('replication_summaries').ifExists().execute();
  await db.schema.dropTable('replication_policies').ifExists().execute();
}
