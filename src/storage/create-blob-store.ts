/**
 * Picks the blob storage driver the configuration names: the one place drivers are chosen by name.
 * The S3 driver is imported only when configured: the AWS SDK adds ~24 MiB of RSS to a process
 * that loads it (issue 10), which a filesystem registry never needs.
 */
import type { StorageConfig } from '../config/index.ts';
import type { BlobStore } from './blob-store.ts';
import { FsBlobStore } from './fs-blob-store.ts';

/** The driver of `storage.driver`, built from its section of the configuration. */
export async function createBlobStore(storage: StorageConfig): Promise<BlobStore> {
  switch (storage.driver) {
    case 'filesystem':
      return new FsBlobStore(storage.root);
    case 's3': {
      const s3 = storage.s3;
      if (!s3) throw new Error('storage.driver is s3 but storage.s3 is not set'); // the schema refuses this already
      const { S3BlobStore } = await import('./s3-blob-store.ts');
      return new S3BlobStore({
        ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
        region: s3.region,
        bucket: s3.bucket,
        ...(s3.access_key && s3.secret_key ? { credentials: { accessKeyId: s3.access_key, secretAccessKey: s3.secret_key } } : {}),
        forcePathStyle: s3.force_path_style,
        prefix: s3.prefix,
        redirectExpirySeconds: storage.redirect ? storage.redirect_expiry_seconds : null,
      });
    }
  }
}
