/**
 * Blob storage: the driver interface, its drivers and the factory that picks one by name. The S3
 * driver is not re-exported (importing it loads the AWS SDK): import ./s3-blob-store.ts itself.
 */
export * from './blob-store.ts';
export { FsBlobStore } from './fs-blob-store.ts';
export type { S3BlobStoreOptions } from './s3-blob-store.ts';
export { createBlobStore } from './create-blob-store.ts';
