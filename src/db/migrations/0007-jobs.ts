/**
 * The job framework's tables (src/jobs/, src/db/job-store.ts): executions and their tasks for all
 * background work, one log line per row, schedules, and the state of the vendor-type queues.
 * Plain types and no SQLite-only syntax, so that the same migration runs on PostgreSQL.
 */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates job_executions, job_tasks, job_task_logs, job_schedules and job_queues. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('job_executions')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('vendor_type', 'text', (c) => c.notNull())
    .addColumn('vendor_id', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('extra_attrs', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('stop_requested', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('start_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .addColumn('end_time', 'bigint')
    .execute();
  await db.schema.createIndex('job_executions_vendor').on('job_executions').columns(['vendor_type', 'id']).execute();
  await db.schema
    .createTable('job_tasks')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('execution_id', 'integer', (c) => c.notNull().references('job_executions.id').onDelete('cascade'))
    .addColumn('vendor_type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('run_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_runs', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('extra_attrs', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('stop_requested', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires', 'bigint')
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('start_time', 'bigint')
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .addColumn('end_time', 'bigint')
    .execute();
  await db.schema.createIndex('job_tasks_claim').on('job_tasks').columns(['vendor_type', 'status', 'id']).execute();
  await db.schema.createIndex('job_tasks_execution').on('job_tasks').columns(['execution_id']).execute();
  await db.schema
    .createTable('job_task_logs')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('task_id', 'integer', (c) => c.notNull().references('job_tasks.id').onDelete('cascade'))
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('job_task_logs_task').on('job_task_logs').columns(['task_id', 'id']).execute();
  await db.schema
    .createTable('job_schedules')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('vendor_type', 'text', (c) => c.notNull())
    .addColumn('vendor_id', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('cron_type', 'text', (c) => c.notNull())
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('next_run', 'bigint', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('job_schedules_vendor', ['vendor_type', 'vendor_id'])
    .execute();
  await db.schema
    .createTable('job_queues')
    .addColumn('vendor_type', 'text', (c) => c.primaryKey())
    .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('job_workers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('concurrency', 'integer', (c) => c.notNull())
    .addColumn('start_time', 'bigint', (c) => c.notNull())
    .addColumn('heartbeat_time', 'bigint', (c) => c.notNull())
    .execute();
}

/** Drops them. */
export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['job_workers', 'job_queues', 'job_schedules', 'job_task_logs', 'job_tasks', 'job_executions']) await db.schema.dropTable(t).execute();
}
