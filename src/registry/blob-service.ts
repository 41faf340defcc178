// PLACEHOLDER: the blob/upload helper replaces this file. Methods throw until written.
import type { RegistryDeps } from './registry-service.ts';
import type { Registry } from './types.ts';

/** Placeholder for the blob/upload helper's service. */
export class BlobService implements Pick<Registry, 'blobInfo' | 'readBlob' | 'deleteBlob' | 'startUpload' | 'mountBlob' | 'appendUpload' | 'uploadState' | 'completeUpload' | 'cancelUpload'> {
  constructor(readonly deps: RegistryDeps) {}
  blobInfo(..._args: unknown[]): never {
    throw new Error('BlobService.blobInfo is not written yet');
  }
  readBlob(..._args: unknown[]): never {
    throw new Error('BlobService.readBlob is not written yet');
  }
  deleteBlob(..._args: unknown[]): never {
    throw new Error('BlobService.deleteBlob is not written yet');
  }
  startUpload(..._args: unknown[]): never {
    throw new Error('BlobService.startUpload is not written yet');
  }
  mountBlob(..._args: unknown[]): never {
    throw new Error('BlobService.mountBlob is not written yet');
  }
  appendUpload(..._args: unknown[]): never {
    throw new Error('BlobService.appendUpload is not written yet');
  }
  uploadState(..._args: unknown[]): never {
    throw new Error('BlobService.uploadState is not written yet');
  }
  completeUpload(..._args: unknown[]): never {
    throw new Error('BlobService.completeUpload is not written yet');
  }
  cancelUpload(..._args: unknown[]): never {
    throw new Error('BlobService.cancelUpload is not written yet');
  }
}
