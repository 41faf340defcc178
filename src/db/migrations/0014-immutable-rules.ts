/**
 * Tag immutability rules (Harbor's /projects/{p}/immutabletagrules; src/db/immutable-rule-store.ts).
 *
 * - `immutable_rules`: one row per rule. `tag_filter` is the rule as JSON without `id` and
 *   `project_id` (Harbor's `immutable_tag_rule.tag_filter`); `(project_id, tag_filter)` is unique,
 *   so a duplicate is an exact text comparison as in Harbor. Deleting a project deletes its rules.
 */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates immutable_rules. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('immutable_rules')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('tag_filter', 'text', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('update_time', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('immutable_rules_project_filter', ['project_id', 'tag_filter'])
    .execute();
}

/** Drops it. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('immutable_rules').execute();
}
