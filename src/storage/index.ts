/** Blob storage: the driver interface and its drivers. Only main.ts picks a concrete driver. */
export * from './blob-store.ts';
export { FsBlobStore } from './fs-blob-store.ts';
