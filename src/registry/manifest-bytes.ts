/**
 * Where manifest bytes live: the `manifest_content` table (migration 0005), written in the
 * transaction that records the artifact (`registryStore.storeManifest`, src/db/registry-store.ts),
 * so a committed artifact always has its bytes and a rolled-back push leaves none. Manifests
 * pushed by a Wharf before that migration are files in the BlobStore and are read from there.
 * Both the manifest routes and the blob routes (a manifest may be fetched as a blob by its digest)
 * read through here.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { Digest } from '../domain/index.ts';
import { StorageNotFoundError, type BlobStore } from '../storage/index.ts';

/** The bytes of manifest `digest` from the database, else from the BlobStore; null when neither has them. */
export async function readManifestBytes(db: Kysely<Database>, blobs: BlobStore, digest: Digest): Promise<Buffer | null> {
  const row = await db.selectFrom('manifest_content').select('content').where('digest', '=', digest).executeTakeFirst();
  if (row) return row.content;
  try {
    return await blobs.readAll(digest);
  } catch (err) {
    if (err instanceof StorageNotFoundError) return null;
    throw err;
  }
}
