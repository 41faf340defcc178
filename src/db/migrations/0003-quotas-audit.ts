/** Storage quotas (per-project blob accounting and usage) and the audit log. */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates project_blobs, quota_usage, audit_log and audit_cursor. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Each blob (layer, config, manifest bytes) counted once per project, with the size it was counted at.
  await db.schema
    .createTable('project_blobs')
    .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('project_blobs_pk', ['project_id', 'digest'])
    .execute();
  await db.schema.createIndex('project_blobs_digest').on('project_blobs').column('digest').execute();
  // The sum of project_blobs.size per project, kept in the same transactions that change project_blobs.
  await db.schema
    .createTable('quota_usage')
    .addColumn('project_id', 'integer', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
    .addColumn('used', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('project_id', 'integer')
    .addColumn('username', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull().defaultTo('success'))
    .addColumn('op_time', 'bigint', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.unique())
    .execute();
  await db.schema.createIndex('audit_log_time').on('audit_log').column('op_time').execute();
  await db.schema.createIndex('audit_log_project').on('audit_log').columns(['project_id', 'op_time']).execute();
  // The outbox position the audit writer has consumed up to (one row, name 'audit').
  await db.schema
    .createTable('audit_cursor')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .execute();
}

/** Drops the tables (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['audit_cursor', 'audit_log', 'quota_usage', 'project_blobs']) await db.schema.dropTable(t).ifExists().execute();
}
