/** The initial schema: registry metadata, Harbor's project model, the event outbox and webhooks. */
import { sql, type Kysely } from 'kysely';
import { autoId, sortedText } from '../dialect.ts';

/** Creates every table of src/db/schema.ts. */
export async function up(db: Kysely<unknown>): Promise<void> {
  const id = autoId(db);
  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', id)
    .addColumn('username', sortedText(db), (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('realname', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('comment', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('sysadmin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('projects')
    .addColumn('id', 'integer', id)
    .addColumn('name', sortedText(db), (c) => c.notNull().unique())
    .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('owner_id', 'integer')
    .addColumn('storage_limit', 'bigint', (c) => c.notNull().defaultTo(-1))
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('repositories')
    .addColumn('id', 'integer', id)
    .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id'))
    .addColumn('name', sortedText(db), (c) => c.notNull().unique())
    .addColumn('pull_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('repositories_project').on('repositories').column('project_id').execute();
  await db.schema
    .createTable('blobs')
    .addColumn('digest', 'text', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('repository_blobs')
    .addColumn('repository_id', 'integer', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('digest', 'text', (c) => c.notNull().references('blobs.digest'))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
    .execute();
  await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();
  await db.schema
    .createTable('artifacts')
    .addColumn('id', 'integer', id)
    .addColumn('repository_id', 'integer', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('artifact_type', 'text')
    .addColumn('config_media_type', 'text')
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('manifest_size', 'bigint', (c) => c.notNull())
    .addColumn('subject_digest', 'text')
    .addColumn('annotations', 'text')
    .addColumn('push_time', 'bigint', (c) => c.notNull())
    .addColumn('pull_time', 'bigint')
    .addUniqueConstraint('artifacts_repo_digest', ['repository_id', 'digest'])
    .execute();
  await db.schema.createIndex('artifacts_digest').on('artifacts').column('digest').execute();
  await db.schema.createIndex('artifacts_subject').on('artifacts').columns(['repository_id', 'subject_digest']).execute();
  await db.schema
    .createTable('artifact_references')
    .addColumn('id', 'integer', id)
    .addColumn('artifact_id', 'integer', (c) => c.notNull().references('artifacts.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('child_digest', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('media_type', 'text')
    .addColumn('platform', 'text')
    .addColumn('annotations', 'text')
    .execute();
  await db.schema.createIndex('artifact_references_artifact').on('artifact_references').column('artifact_id').execute();
  await db.schema.createIndex('artifact_references_child').on('artifact_references').column('child_digest').execute();
  await db.schema
    .createTable('tags')
    .addColumn('id', 'integer', id)
    .addColumn('repository_id', 'integer', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('artifact_id', 'integer', (c) => c.notNull().references('artifacts.id').onDelete('cascade'))
    .addColumn('name', sortedText(db), (c) => c.notNull())
    .addColumn('push_time', 'bigint', (c) => c.notNull())
    .addColumn('pull_time', 'bigint')
    .addUniqueConstraint('tags_repo_name', ['repository_id', 'name'])
    .execute();
  await db.schema.createIndex('tags_artifact').on('tags').column('artifact_id').execute();
  await db.schema
    .createTable('uploads')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('repository_name', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('events')
    .addColumn('seq', 'integer', id)
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('occur_at', 'bigint', (c) => c.notNull())
    .addColumn('operator', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('project_id', 'integer')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('dispatched_at', 'bigint')
    .execute();
  await sql`CREATE INDEX events_pending ON events (seq) WHERE dispatched_at IS NULL`.execute(db);
  await db.schema
    .createTable('configurations')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('webhook_policies')
    .addColumn('id', 'integer', id)
    .addColumn('project_id', 'integer', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('event_types', 'text', (c) => c.notNull())
    .addColumn('repo_filters', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('tag_filters', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('creator', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .execute();
  // Names are unique per project; system-wide policies (project_id NULL) are unique among themselves.
  await sql`CREATE UNIQUE INDEX webhook_policies_name ON webhook_policies (coalesce(project_id, 0), name)`.execute(db);
  await db.schema
    .createTable('webhook_targets')
    .addColumn('id', 'integer', id)
    .addColumn('policy_id', 'integer', (c) => c.notNull().references('webhook_policies.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('payload_format', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('options', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('auth_header', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('skip_cert_verify', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('secret', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('headers', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('timeout_ms', 'integer')
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('failing_since', 'bigint')
    .addColumn('disabled_reason', 'text')
    .execute();
  await db.schema.createIndex('webhook_targets_policy').on('webhook_targets').column('policy_id').execute();
  await db.schema
    .createTable('webhook_executions')
    .addColumn('id', 'integer', id)
    .addColumn('policy_id', 'integer', (c) => c.notNull().references('webhook_policies.id').onDelete('cascade'))
    .addColumn('target_id', 'integer', (c) => c.notNull().references('webhook_targets.id').onDelete('cascade'))
    .addColumn('event_seq', 'integer', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('vendor_type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('start_time', 'bigint', (c) => c.notNull())
    .addColumn('end_time', 'bigint')
    .execute();
  await db.schema.createIndex('webhook_executions_policy').on('webhook_executions').columns(['policy_id', 'id']).execute();
  // The dispatcher creates at most one EVENT execution per (event, target), even when it re-runs after a crash.
  await sql`CREATE UNIQUE INDEX webhook_executions_event_target ON webhook_executions (event_seq, target_id) WHERE "trigger" = 'EVENT'`.execute(db);
  await db.schema
    .createTable('webhook_tasks')
    .addColumn('id', 'integer', id)
    .addColumn('execution_id', 'integer', (c) => c.notNull().references('webhook_executions.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('run_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('lease_until', 'bigint')
    .addColumn('lease_owner', 'text')
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('start_time', 'bigint')
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .addColumn('end_time', 'bigint')
    .execute();
  await db.schema.createIndex('webhook_tasks_execution').on('webhook_tasks').column('execution_id').execute();
  await sql`CREATE INDEX webhook_tasks_due ON webhook_tasks (next_attempt_at) WHERE next_attempt_at IS NOT NULL`.execute(db);
  await db.schema
    .createTable('webhook_attempts')
    .addColumn('id', 'integer', id)
    .addColumn('task_id', 'integer', (c) => c.notNull().references('webhook_tasks.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('request_headers', 'text', (c) => c.notNull())
    .addColumn('request_body', 'text', (c) => c.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('response_headers', 'text')
    .addColumn('response_body', 'text')
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('webhook_attempts_task').on('webhook_attempts').column('task_id').execute();
}

/** Drops everything (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'webhook_attempts', 'webhook_tasks', 'webhook_executions', 'webhook_targets', 'webhook_policies',
    'configurations', 'events', 'uploads', 'tags', 'artifact_references', 'artifacts',
    'repository_blobs', 'blobs', 'repositories', 'projects', 'users',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
