/**
 * Tag retention (src/db/retention-store.ts): one policy per project (Harbor's RetentionPolicy as
 * JSON, without its id and scope), and the result of each repository task of a run, written by
 * the task itself when it ends so that the last task of a run can send the run's summary event
 * once (`summary_sent`). Plain types, so the same migration runs on PostgreSQL.
 */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates retention_policies and retention_task_results. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('retention_policies')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('project_id', 'integer', (c) => c.notNull().unique().references('projects.id').onDelete('cascade'))
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('retention_task_results')
    .addColumn('task_id', 'integer', (c) => c.primaryKey())
    .addColumn('execution_id', 'integer', (c) => c.notNull())
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('retained', 'integer', (c) => c.notNull())
    .addColumn('deleted', 'text', (c) => c.notNull())
    .addColumn('finish_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('retention_task_results_execution').on('retention_task_results').columns(['execution_id']).execute();
  await db.schema
    .createTable('retention_summaries')
    .addColumn('execution_id', 'integer', (c) => c.primaryKey())
    .addColumn('sent_time', 'bigint', (c) => c.notNull())
    .execute();
}

/** Drops them (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('retention_summaries').ifExists().execute();
  await db.schema.dropTable('retention_task_results').ifExists().execute();
  await db.schema.dropTable('retention_policies').ifExists().execute();
}
