// PLACEHOLDER: the manifest helper replaces this file. Methods throw until written.
import type { RegistryDeps } from './registry-service.ts';
import type { Registry } from './types.ts';

/** Placeholder for the manifest helper's service. */
export class ManifestService implements Pick<Registry, 'putManifest' | 'getManifest' | 'deleteManifest' | 'listTags' | 'createTag' | 'deleteTag' | 'deleteRepository' | 'catalog' | 'referrers'> {
  constructor(readonly deps: RegistryDeps) {}
  putManifest(..._args: unknown[]): never {
    throw new Error('ManifestService.putManifest is not written yet');
  }
  getManifest(..._args: unknown[]): never {
    throw new Error('ManifestService.getManifest is not written yet');
  }
  deleteManifest(..._args: unknown[]): never {
    throw new Error('ManifestService.deleteManifest is not written yet');
  }
  listTags(..._args: unknown[]): never {
    throw new Error('ManifestService.listTags is not written yet');
  }
  createTag(..._args: unknown[]): never {
    throw new Error('ManifestService.createTag is not written yet');
  }
  deleteTag(..._args: unknown[]): never {
    throw new Error('ManifestService.deleteTag is not written yet');
  }
  deleteRepository(..._args: unknown[]): never {
    throw new Error('ManifestService.deleteRepository is not written yet');
  }
  catalog(..._args: unknown[]): never {
    throw new Error('ManifestService.catalog is not written yet');
  }
  referrers(..._args: unknown[]): never {
    throw new Error('ManifestService.referrers is not written yet');
  }
}
