// PLACEHOLDER: being written by the registry helper. Replace this whole file.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../db/index.ts';
import type { BlobStore } from '../storage/index.ts';
import type { Config } from '../config/index.ts';

/** What gc freed. */
export interface GcReport {
  blobsDeleted: number;
  bytesFreed: number;
  uploadsDeleted: number;
}
/** What gc needs. */
export interface GcDeps {
  db: Kysely<Database>;
  blobs: BlobStore;
  config: Config;
  logger: Logger;
}
/** Garbage collection (placeholder). */
export async function runGc(_deps: GcDeps): Promise<GcReport> {
  throw new Error('gc not written yet');
}
