/**
 * Labels (src/db/label-store.ts): Harbor's global (`g`, project_id 0) and project (`p`) labels,
 * unique by (name, scope, project_id), and their links to artifacts. A link goes with its
 * artifact or its label (ON DELETE CASCADE). Plain types, so the same migration runs on PostgreSQL.
 */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates labels and artifact_labels. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('labels')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('color', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('project_id', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('labels_name_scope_project', ['name', 'scope', 'project_id'])
    .execute();
  await db.schema.createIndex('labels_project').on('labels').columns(['project_id']).execute();
  await db.schema
    .createTable('artifact_labels')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('artifact_id', 'integer', (c) => c.notNull().references('artifacts.id').onDelete('cascade'))
    .addColumn('label_id', 'integer', (c) => c.notNull().references('labels.id').onDelete('cascade'))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('artifact_labels_key', ['artifact_id', 'label_id'])
    .execute();
  await db.schema.createIndex('artifact_labels_label').on('artifact_labels').columns(['label_id']).execute();
}

/** Drops them (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('artifact_labels').ifExists().execute();
  await db.schema.dropTable('labels').ifExists().execute();
}
