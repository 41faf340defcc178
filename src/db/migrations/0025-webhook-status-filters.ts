/**
 * Status filters and platform folding on webhook policies (issue 16, docs/webhook-api.md):
 * `status_filters`, a JSON object of the statuses and levels a policy's scan, replication,
 * retention and quota events must have (src/webhooks/status-filters.ts; `{}` is no filter), and
 * `fold_platforms` (0/1), which folds the pushes of a multi-platform image into the index's one
 * PUSH_ARTIFACT event. ADD COLUMN with a constant default runs on SQLite and PostgreSQL alike
 * without rewriting rows; every existing policy keeps its behaviour (no filter, no folding).
 */
import type { Kysely } from 'kysely';

/** Adds webhook_policies.status_filters and webhook_policies.fold_platforms. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_policies').addColumn('status_filters', 'text', (c) => c.notNull().defaultTo('{}')).execute();
  await db.schema.alterTable('webhook_policies').addColumn('fold_platforms', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

/** Drops them (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_policies').dropColumn('fold_platforms').execute();
  await db.schema.alterTable('webhook_policies').dropColumn('status_filters').execute();
}
