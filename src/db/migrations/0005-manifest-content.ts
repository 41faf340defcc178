/**
 * Manifest bytes in the database: `manifest_content` holds each manifest's exact bytes by digest,
 * written in the transaction that records the artifact (one INSERT instead of a file write, fsync,
 * rename and folder fsync per push). A row goes with its `blobs` row (ON DELETE CASCADE), so gc
 * removes both at once. Manifests pushed before this migration stay in the BlobStore and are still
 * read from there.
 */
import type { Kysely } from 'kysely';
import { bytesType } from '../dialect.ts';

/** Creates `manifest_content`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('manifest_content')
    .addColumn('digest', 'text', (c) => c.primaryKey().references('blobs.digest').onDelete('cascade'))
    .addColumn('content', bytesType(db), (c) => c.notNull())
    .execute();
}

/** Drops it. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('manifest_content').execute();
}
