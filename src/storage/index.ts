/** Blob storage: the driver interface, its drivers and the factory that picks one by name. */
export * from './blob-store.ts';
export { FsBlobStore } from './fs-blob-store.ts';
export { S3BlobStore, type S3BlobStoreOptions } from './s3-blob-store.ts';
export { createBlobStore } from './create-blob-store.ts';
