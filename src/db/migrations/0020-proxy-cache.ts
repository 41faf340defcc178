/**
 * Proxy-cache projects (src/replication/proxy-cache.ts): Harbor's `project.registry_id`, the
 * upstream registry endpoint a project caches; null for an ordinary project. Indexed for the
 * "is this endpoint in use" check before a registry is deleted. ADD COLUMN without a default runs
 * on SQLite and PostgreSQL alike without rewriting rows.
 */
import type { Kysely } from 'kysely';

/** Adds projects.registry_id. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('projects').addColumn('registry_id', 'integer').execute();
  await db.schema.createIndex('projects_registry_id').on('projects').columns(['registry_id']).execute();
}

/** Drops it (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('projects_registry_id').ifExists().execute();
  await db.schema.alterTable('projects').dropColumn('registry_id').execute();
}
